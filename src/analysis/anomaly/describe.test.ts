import { describe, expect, it } from 'vitest';
import { describeReading, distanceInWords } from './describe.js';

const MiB = 2 ** 20;

describe('describeReading', () => {
  it('names the series, the value and the usual range in their unit, and how far out the value is', () => {
    expect(
      describeReading({
        series: 'memory of cart in prod',
        value: 161 * MiB,
        unit: 'bytes',
        expected: { low: 40 * MiB, high: 60 * MiB },
        score: 0.934,
        bound: 0.55,
      }),
    ).toBe(
      'memory of cart in prod is 161 MiB, usually 40–60 MiB: far above its usual range, 2.7 times its usual high (anomaly score 0.93, bound 0.55)',
    );
  });

  it('says a value inside its range is unusual by its pattern, and says nothing more of a usual value', () => {
    const reading = {
      series: 'latency_p95 of cart in prod',
      value: 52,
      unit: 'ms',
      expected: { low: 40, high: 60 },
      bound: 0.55,
    };
    expect(describeReading({ ...reading, score: 0.7 })).toBe(
      'latency_p95 of cart in prod is 52 ms, usually 40–60 ms: inside its usual range, but in a pattern it has not shown before (anomaly score 0.7, bound 0.55)',
    );
    expect(describeReading({ ...reading, score: 0.2 })).toBe(
      'latency_p95 of cart in prod is 52 ms, usually 40–60 ms (anomaly score 0.2, bound 0.55)',
    );
    expect(describeReading({ ...reading, expected: undefined, score: 0 })).toBe(
      'latency_p95 of cart in prod is 52 ms (anomaly score 0, bound 0.55)',
    );
  });
});

describe('distanceInWords', () => {
  it('grades the distance by the width of the usual range', () => {
    expect(distanceInWords(62, 40, 60)).toBe('just above its usual range');
    expect(distanceInWords(75, 40, 60)).toBe('above its usual range');
    expect(distanceInWords(95, 40, 60)).toBe('far above its usual range');
    expect(distanceInWords(32, 40, 60)).toBe('below its usual range');
    expect(distanceInWords(2, 40, 60)).toBe('far below its usual range, 5 % of its usual low');
    expect(distanceInWords(50, 40, 60)).toBeUndefined();
    expect(distanceInWords(6, 5, 5)).toBe('far above its usual range'); // a flat series: any step is far
  });
});
