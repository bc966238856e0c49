import { describe, expect, it } from 'vitest';
import { StreamingAnomalyDetector, defaultDetectorOptions, scoreSeries } from './detector.js';

/** A deterministic pseudo-random sequence (xorshift) in [−1, 1], so the tests see the same noise every run. */
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
const day = 288; // points a day at 5-minute steps

function dailySeries(points: number, seed = 7): { values: number[]; timestamps: number[] } {
  const random = noise(seed);
  const values: number[] = [];
  const timestamps: number[] = [];
  for (let index = 0; index < points; index += 1) {
    timestamps.push(start + index * 5 * minute);
    values.push(100 + 40 * Math.sin((2 * Math.PI * index) / day) + 3 * random());
  }
  return { values, timestamps };
}

function flatSeries(points: number, seed: number, level = 50, spread = 5): number[] {
  const random = noise(seed);
  return Array.from({ length: points }, () => level + spread * random());
}

const maxOf = (values: readonly number[]): number => values.reduce((a, b) => Math.max(a, b), 0);

describe('StreamingAnomalyDetector', () => {
  it('is causal: appending points never changes earlier scores', () => {
    const { values, timestamps } = dailySeries(day * 5);
    values[day * 4] = 500;
    const full = scoreSeries(values, timestamps);
    const prefix = scoreSeries(values.slice(0, day * 3), timestamps.slice(0, day * 3));
    expect(full.slice(0, day * 3)).toEqual(prefix);
  });

  it('is deterministic: the same series gives the same scores', () => {
    const { values, timestamps } = dailySeries(day * 3, 5);
    expect(scoreSeries(values, timestamps)).toEqual(scoreSeries(values, timestamps));
  });

  it('gives scores in [0, 1) and none during warm-up', () => {
    const { values, timestamps } = dailySeries(1200);
    values[1000] = 1e12;
    values[1100] = -1e12;
    const scores = scoreSeries(values, timestamps);
    expect(scores.every((score) => score >= 0 && score < 1)).toBe(true);
    expect(scores.slice(0, defaultDetectorOptions.warmup).every((score) => score === 0)).toBe(true);
    expect(scores[1000]).toBeGreaterThan(0.9);
  });

  it('scores a spike far above the regular daily pattern, and nothing else near it', () => {
    const { values, timestamps } = dailySeries(day * 5);
    const at = day * 4 + 100;
    values[at] = (values[at] ?? 0) + 90;
    const scores = scoreSeries(values, timestamps);
    expect(scores[at]).toBeGreaterThan(0.5);
    const others = scores.map((score, index) => (index === at || index < day * 2 ? 0 : score));
    expect(maxOf(others)).toBeLessThan(0.5);
  });

  it('finds a level shift that stays inside the range of single values', () => {
    // Noise of ±5 around 50; from point 2000 the level is 56: every value is still inside the range seen
    // before, but the moving means are not.
    const values = flatSeries(3000, 21);
    for (let index = 2000; index < 3000; index += 1) values[index] = (values[index] ?? 0) + 6;
    const scores = scoreSeries(values);
    expect(maxOf(scores.slice(300, 2000))).toBeLessThan(0.5);
    expect(maxOf(scores.slice(2000, 2100))).toBeGreaterThan(0.5);
  });

  it('finds a break of the daily pattern that stays inside the range seen', () => {
    const { values, timestamps } = dailySeries(day * 6, 11);
    // At the trough of day 5 the series sits at its daily mean for two hours: inside the range, out of season.
    const from = day * 5 + 200;
    for (let index = from; index < from + 24; index += 1) values[index] = 100 + ((values[index] ?? 0) % 1);
    const scores = scoreSeries(values, timestamps);
    expect(maxOf(scores.slice(day * 3, from))).toBeLessThan(0.5);
    expect(maxOf(scores.slice(from, from + 24))).toBeGreaterThan(0.5);
    // Without timestamps there is no daily model, and the break is not seen.
    expect(maxOf(scoreSeries(values).slice(from, from + 24))).toBeLessThan(0.5);
  });

  it('settles on a constant series and flags a departure from it', () => {
    const detector = new StreamingAnomalyDetector();
    const scores = Array.from({ length: 600 }, () => detector.update(5));
    expect(maxOf(scores)).toBe(0);
    expect(detector.update(6)).toBeGreaterThan(0.5);
  });

  it('works without timestamps', () => {
    const values = flatSeries(800, 3, 10, 1);
    values[700] = 30;
    const scores = scoreSeries(values);
    expect(scores.indexOf(maxOf(scores))).toBe(700);
    expect(scores[700]).toBeGreaterThan(0.5);
  });

  it('raises one high score for one episode', () => {
    // A 30-point burst: its first point scores high; the rest of the burst, no higher than it, is damped.
    // (The first few hundred points are left out: a record among few points is not yet rare.)
    const values = flatSeries(2000, 9);
    for (let index = 1500; index < 1530; index += 1) values[index] = (values[index] ?? 0) + 40;
    const high = (scores: number[]): number[] =>
      scores.flatMap((score, index) => (index >= 300 && score > 0.5 ? [index] : []));
    expect(high(scoreSeries(values))).toEqual([1500]);
    // Without damping the burst's later points would score high too.
    const undamped = scoreSeries(values, undefined, { ...defaultDetectorOptions, restDamping: 1 });
    expect(high(undamped).length).toBeGreaterThan(1);
  });

  describe('expected()', () => {
    it('is undefined before any earlier point', () => {
      const detector = new StreamingAnomalyDetector();
      expect(detector.expected()).toBeUndefined();
      detector.update(3);
      expect(detector.expected()).toBeUndefined();
      detector.update(4);
      expect(detector.expected()).toEqual({ low: 3, high: 3 });
    });

    it('gives the usual band of a plain series, not widened by the spike it is asked about', () => {
      // Memory around 50 MiB (40–60); then 161 MiB.
      const detector = new StreamingAnomalyDetector();
      for (const value of flatSeries(1000, 13, 50, 10)) detector.update(value);
      const score = detector.update(161);
      const band = detector.expected();
      expect(score).toBeGreaterThan(0.5);
      expect(band?.low).toBeGreaterThan(40);
      expect(band?.low).toBeLessThan(43);
      expect(band?.high).toBeGreaterThan(57);
      expect(band?.high).toBeLessThan(60);
    });

    it('follows the time of day while the daily model is trusted', () => {
      const { values, timestamps } = dailySeries(day * 4, 17);
      const detector = new StreamingAnomalyDetector();
      values.forEach((value, index) => detector.update(value, timestamps[index]));
      // The last point is at 287/288 of a day: the pattern sits near 100 − 40·sin(2π/288) ≈ 99.
      const usual = 100 + 40 * Math.sin((2 * Math.PI * (day * 4 - 1)) / day);
      const band = detector.expected();
      expect(band).toBeDefined();
      expect(band?.low).toBeLessThan(usual);
      expect(band?.high).toBeGreaterThan(usual);
      expect((band?.high ?? 0) - (band?.low ?? 0)).toBeLessThan(15); // the noise, not the daily swing of 80
    });
  });
});
