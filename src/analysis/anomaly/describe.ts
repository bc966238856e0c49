// An anomaly reading in plain words, the way an on-call engineer would say it: the series, its value in its unit,
// the range the detector expected, and how far outside that range the value is ("memory of cart in prod is
// 161 MiB, usually 40–60 MiB: far above its usual range, 2.7 times its usual high"). Pure.
import { formatMeasure, formatMeasureRange } from '../../core/measure.js';

export interface AnomalyReading {
  /** What the series is of, e.g. `memory of cart in prod`. */
  readonly series: string;
  readonly value: number;
  /** The series' unit (`bytes`, `ms`, `By`, `ratio`, …; empty when it has none). */
  readonly unit: string;
  /** The band of values the detector expected for this point; undefined while it is still learning. */
  readonly expected: { readonly low: number; readonly high: number } | undefined;
  readonly score: number;
  /** The score past which the reading counts as anomalous. */
  readonly bound: number;
}

/** How far outside the expected band a value lies, in words; undefined when it lies inside. */
export function distanceInWords(value: number, low: number, high: number): string | undefined {
  const width = Math.max(high - low, Math.abs(high) * 1e-6, Number.EPSILON);
  if (value > high) {
    const past = (value - high) / width;
    const times = high > 0 ? value / high : Number.POSITIVE_INFINITY;
    if (past <= 0.25) return 'just above its usual range';
    if (past <= 1) return 'above its usual range';
    return times >= 2 && Number.isFinite(times)
      ? `far above its usual range, ${Number(times.toPrecision(2))} times its usual high`
      : 'far above its usual range';
  }
  if (value < low) {
    const past = (low - value) / width;
    if (past <= 0.25) return 'just below its usual range';
    if (past <= 1) return 'below its usual range';
    return low > 0 && value >= 0 && value <= low / 2
      ? `far below its usual range, ${Number(((100 * value) / low).toPrecision(2))} % of its usual low`
      : 'far below its usual range';
  }
  return undefined;
}

export function describeReading(reading: AnomalyReading): string {
  const { series, value, unit, expected, score, bound } = reading;
  // Rounded down: a score of 0.996 is not 1 (scores stay below 1), and 0.549 does not read as past 0.55.
  const scoreText = `anomaly score ${Math.floor(score * 100) / 100}, bound ${bound}`;
  if (expected === undefined) return `${series} is ${formatMeasure(value, unit)} (${scoreText})`;
  const usual = `usually ${formatMeasureRange(expected.low, expected.high, unit)}`;
  const unusual = score > bound;
  const distance = distanceInWords(value, expected.low, expected.high);
  const verdict =
    distance ?? (unusual ? 'inside its usual range, but in a pattern it has not shown before' : undefined);
  return `${series} is ${formatMeasure(value, unit)}, ${usual}${unusual && verdict !== undefined ? `: ${verdict}` : ''} (${scoreText})`;
}
