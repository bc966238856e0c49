// Did a series change at onset? Robust statistics of the baseline (median, MAD, IQR) give its normal level and
// spread; an incident point counts only as far as it departs from BOTH the baseline level and the level just
// before onset. A series that had already moved before the incident (a regime change, a deploy last week) is
// normal for this incident, however far it is from the long baseline.
import type { RcaWindow, Series, SeriesVerdict } from './model.js';

export interface JudgeSettings {
  /** |z| at or past which a change is anomalous (≈ p < 10⁻⁴ for a normal series). */
  readonly zThreshold: number;
  /** Baseline points just before onset that make up the recent level. */
  readonly recentPoints: number;
  /** Fewer baseline points than this (or than `minCoverage` of the typical series) cannot be judged. */
  readonly minBaselineSamples: number;
  readonly minCoverage: number;
  /** Spread never taken below this fraction of the level (a constant series still has a resolution). */
  readonly relativeScaleFloor: number;
  /**
   * |z| is capped here: past it a change is certain, and the size of z says more about how flat the baseline was
   * than about the incident. What ranks certain changes is how much of them is explained, and what they explain.
   */
  readonly zCap: number;
}

export const judgeSettings: JudgeSettings = {
  zThreshold: 4,
  recentPoints: 10,
  minBaselineSamples: 5,
  minCoverage: 0.1,
  relativeScaleFloor: 1e-3,
  zCap: 50,
};

/** Baseline points of a series: inside the baseline window, outside the incident window. */
export function baselinePoints(series: Series, window: RcaWindow): (readonly [number, number])[] {
  return series.points.filter(
    ([time]) =>
      time >= window.baselineStartUs &&
      time <= window.baselineEndUs &&
      !(time >= window.onsetUs && time <= window.endUs),
  );
}

/**
 * The verdict on one series, or undefined when it cannot be judged (too few baseline points compared with
 * `typicalSamples`, the baseline count of a typical series, or no point in the incident window).
 */
export function judgeSeries(
  series: Series,
  window: RcaWindow,
  typicalSamples: number,
  settings: JudgeSettings = judgeSettings,
): SeriesVerdict | undefined {
  const baseline = baselinePoints(series, window);
  const incident = series.points.filter(([time]) => time >= window.onsetUs && time <= window.endUs);
  const needed = Math.max(settings.minBaselineSamples, settings.minCoverage * typicalSamples);
  if (baseline.length < needed || incident.length === 0) return undefined;

  const values = baseline.map(([, value]) => value).sort((a, b) => a - b);
  const median = quantile(values, 0.5);
  const mad = quantile(
    values.map((value) => Math.abs(value - median)).sort((a, b) => a - b),
    0.5,
  );
  const iqr = quantile(values, 0.75) - quantile(values, 0.25);
  const largest = Math.max(...incident.map(([, value]) => Math.abs(value)), Math.abs(median));
  // A baseline with no spread at all is judged against its unit's resolution; a measured spread stands.
  const spread = Math.max(1.4826 * mad, iqr / 1.349);
  const scale = Math.max(
    spread > 0 ? spread : unitResolution(series.unit, series.metric),
    settings.relativeScaleFloor * largest,
    Number.MIN_VALUE,
  );
  const bad = badDirection(series.metric);
  const recent = baseline
    .filter(([time]) => time < window.onsetUs)
    .slice(-settings.recentPoints)
    .map(([, value]) => value)
    .sort((a, b) => a - b);
  const recentLevel = recent.length === 0 ? median : quantile(recent, 0.5);

  let z = 0;
  let change = 0;
  let peak = incident[0] ?? [window.onsetUs, Number.NaN];
  let firstAnomalousUs: number | null = null;
  const departures: (readonly [number, number])[] = [];
  for (const point of incident) {
    const [time, value] = point;
    const fromBaseline = value - median;
    const fromRecent = value - recentLevel;
    // Both departures in the same direction, and the smaller one counts.
    const departure =
      Math.sign(fromBaseline) === Math.sign(fromRecent) && fromBaseline !== 0
        ? Math.abs(fromBaseline) < Math.abs(fromRecent)
          ? fromBaseline
          : fromRecent
        : 0;
    departures.push([time, departure]);
    const pointZ =
      Math.max(-settings.zCap, Math.min(settings.zCap, departure / scale)) *
      (bad === 0 || Math.sign(departure) === bad ? 1 : 0);
    if (firstAnomalousUs === null && Math.abs(pointZ) >= settings.zThreshold) firstAnomalousUs = time;
    if (Math.abs(pointZ) > Math.abs(z) || (z === 0 && point === incident[0])) {
      z = pointZ;
      change = departure;
      peak = point;
    }
  }
  return {
    series,
    z,
    change,
    baselineMedian: median,
    baselineScale: scale,
    baselineSamples: baseline.length,
    peakUs: peak[0],
    peakValue: peak[1],
    departures,
    firstAnomalousUs,
    anomalous: Math.abs(z) >= settings.zThreshold,
  };
}

/** The smallest change that means anything, per unit (lower case): one millisecond, one in a thousand, … */
const resolutions: Readonly<Record<string, number>> = {
  ns: 1e6,
  us: 1e3,
  µs: 1e3,
  ms: 1,
  s: 1e-3,
  ratio: 1e-4,
  '1': 1e-4,
  '%': 0.01,
  m: 1,
  millicores: 1,
  by: 2 ** 20,
  b: 2 ** 20,
  bytes: 2 ** 20,
  kib: 2 ** 10,
  ki: 2 ** 10,
  mib: 1,
  mi: 1,
  mb: 1,
};

/**
 * A unit's resolution: the spread a baseline with no spread at all (a constant, a run of zeros) is judged
 * against, instead of nothing, and one slow request more or one error in
 * ten thousand reads as certain. From the series' unit (UCUM as OpenTelemetry writes it), or the unit a metric's
 * name carries (`LatencyP90(s)`, `MemoryUsage(Mi)`); 0 when unknown (rates, counts: their resolution depends on
 * the bucket).
 */
export function unitResolution(unit: string, metric: string): number {
  const named = /\(([^()]+)\)(\.[a-z]+)?$/i.exec(metric)?.[1];
  const text = (unit === '' ? (named ?? '') : unit).trim().toLowerCase();
  return resolutions[text] ?? 0;
}

/**
 * Which way a metric goes wrong, from its name where the name says it: +1 for latency, errors, utilisation
 * (higher is worse), -1 for availability, success, throughput (lower is worse), 0 when unknown (both ways).
 * A recovery is not an incident.
 */
export function badDirection(metric: string): -1 | 0 | 1 {
  const name = metric.toLowerCase();
  if (/availab|success|uptime|apdex|throughput|goodput/.test(name)) return -1;
  if (
    /latenc|duration|error|fail|fault|exception|timeout|utiliz|saturat|cpu|memory|queue|restart|oom|retr/.test(
      name,
    )
  )
    return 1;
  return 0;
}

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low] ?? Number.NaN;
  const b = sorted[high] ?? a;
  return a + (b - a) * (position - low);
}
