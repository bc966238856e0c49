import { describe, expect, it } from 'vitest';
import { formatMeasure, formatMeasureRange } from './measure.js';

describe('formatMeasure', () => {
  it('scales bytes in binary units, never raw bytes', () => {
    expect(formatMeasure(161 * 2 ** 20, 'bytes')).toBe('161 MiB');
    expect(formatMeasure(1.5 * 2 ** 30, 'By')).toBe('1.5 GiB');
    expect(formatMeasure(512, 'By')).toBe('512 B');
    expect(formatMeasure(3 * 2 ** 20, 'By/s')).toBe('3 MiB/s');
  });

  it('writes durations, cpu, ratios and counted things', () => {
    expect(formatMeasure(35.27, 'ms')).toBe('35.3 ms');
    expect(formatMeasure(1234, 'ms')).toBe('1.23 s');
    expect(formatMeasure(0.25, 's')).toBe('250 ms');
    expect(formatMeasure(0.0004, 's')).toBe('400 µs');
    expect(formatMeasure(250, 'millicores')).toBe('250m cpu');
    expect(formatMeasure(15_000, 'millicores')).toBe('15 cores');
    expect(formatMeasure(0.052, 'ratio')).toBe('5.2 %');
    expect(formatMeasure(12.345, 'req/s')).toBe('12.3 req/s');
    expect(formatMeasure(7, '{requests}')).toBe('7 requests');
    expect(formatMeasure(400, '')).toBe('400');
    expect(formatMeasure(0, 'bytes')).toBe('0 B');
  });

  it('writes a range in the scale of its larger end, with the unit once', () => {
    expect(formatMeasureRange(40 * 2 ** 20, 60 * 2 ** 20, 'bytes')).toBe('40–60 MiB');
    expect(formatMeasureRange(800, 1500, 'ms')).toBe('0.8–1.5 s');
    expect(formatMeasureRange(40, 60.4, '')).toBe('40–60.4');
  });
});
