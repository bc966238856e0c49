import { describe, expect, it } from 'vitest';
import { StreamingAnomalyDetector, scoreSeries } from './detector.js';

/** A deterministic pseudo-random sequence (xorshift), so the tests see the same noise every run. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 0xffffffff) * 2 - 1;
  };
}

const minute = 60_000;
const start = Date.UTC(2026, 10, 1);

function dailySeries(points: number, seed = 7): { values: number[]; timestamps: number[] } {
  const random = noise(seed);
  const values: number[] = [];
  const timestamps: number[] = [];
  for (let index = 0; index < points; index += 1) {
    const time = start + index * 5 * minute; // 288 points a day
    timestamps.push(time);
    values.push(100 + 40 * Math.sin((2 * Math.PI * index) / 288) + 3 * random());
  }
  return { values, timestamps };
}

describe('StreamingAnomalyDetector', () => {
  it('is causal: appending points never changes earlier scores', () => {
    const { values, timestamps } = dailySeries(1500);
    const full = scoreSeries(values, timestamps);
    const prefix = scoreSeries(values.slice(0, 900), timestamps.slice(0, 900));
    expect(full.slice(0, 900)).toEqual(prefix);
  });

  it('gives scores in [0, 1) and none during warm-up', () => {
    const { values, timestamps } = dailySeries(1200);
    values[1000] = 1e9;
    const scores = scoreSeries(values, timestamps);
    expect(scores.every((score) => score >= 0 && score < 1)).toBe(true);
    expect(scores.slice(0, 150).every((score) => score === 0)).toBe(true);
  });

  it('scores a spike far above the regular daily pattern', () => {
    const { values, timestamps } = dailySeries(288 * 5);
    const at = 288 * 4 + 100;
    values[at] = (values[at] ?? 0) + 90;
    const scores = scoreSeries(values, timestamps);
    const spike = scores[at] ?? 0;
    expect(spike).toBeGreaterThan(0.5);
    const others = scores.slice(288 * 2).filter((_, index) => index + 288 * 2 !== at);
    expect(Math.max(...others)).toBeLessThan(spike);
  });

  it('finds a level shift that stays inside the range seen, through the daily pattern', () => {
    const { values, timestamps } = dailySeries(288 * 6, 11);
    // At the trough of day 5 the series jumps to its daily peak level: inside the range, out of season.
    const from = 288 * 5 + 216;
    for (let index = from; index < from + 20; index += 1) values[index] = 140 + (values[index] ?? 0) - 60;
    const scores = scoreSeries(values, timestamps);
    const before = Math.max(...scores.slice(288 * 3, from));
    const during = Math.max(...scores.slice(from, from + 20));
    expect(during).toBeGreaterThan(before);
    expect(during).toBeGreaterThan(0.5);
  });

  it('settles on a constant series and flags a departure from it', () => {
    const detector = new StreamingAnomalyDetector();
    const scores = Array.from({ length: 600 }, () => detector.update(5));
    expect(Math.max(...scores)).toBe(0);
    expect(detector.update(6)).toBeGreaterThan(0.5);
  });

  it('works without timestamps', () => {
    const random = noise(3);
    const values = Array.from({ length: 800 }, () => 10 + random());
    values[700] = 30;
    const scores = scoreSeries(values);
    expect(scores.indexOf(Math.max(...scores))).toBe(700);
  });
});
