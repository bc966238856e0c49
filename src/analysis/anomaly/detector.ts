// Streaming anomaly detection for one metric series. Causal, one configuration for every series, pure.
// (experimental draft)
import { normalTailLog10 } from './normal.js';
import { Ring, RollingMean, RollingMoments, SlidingMax } from './rolling.js';

export interface DetectorOptions {
  readonly warmup: number;
  readonly levels: number;
  readonly orders: number;
  readonly shortWindow: number;
  readonly longWindow: number;
  readonly stdFloor: number;
  readonly spatialMargin: number;
  readonly spatialLevel: number;
  readonly restWindow: number;
  readonly restDamping: number;
  readonly alertLevel: number;
  readonly mode: number;
  readonly raw: number;
  readonly dim: number;
  readonly resolutions: number;
  readonly history: number;
  readonly norm: number;
  readonly feat: number;
  readonly calibration: number;
  readonly alpha: number;
}

export const defaultDetectorOptions: DetectorOptions = {
  warmup: 150,
  levels: 16,
  orders: 4,
  shortWindow: 10,
  longWindow: 2000,
  stdFloor: 0.02,
  spatialMargin: 0.05,
  spatialLevel: 5,
  restWindow: 400,
  restDamping: 0.5,
  alertLevel: 0.5,
  mode: 0,
  raw: 0,
  dim: 4,
  resolutions: 7,
  history: 1500,
  norm: 0,
  feat: 0,
  calibration: 1500,
  alpha: 0.1,
};

export class StreamingAnomalyDetector {
  private count = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly levels: Ring;
  private readonly contexts = new Set<number>();
  private readonly short: RollingMean;
  private readonly long: RollingMoments;
  private readonly recentScores: SlidingMax;
  private readonly cals: SlidingMax[] = [];
  private ew = 0;
  private prev = 0;
  private lastAlert = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: DetectorOptions = defaultDetectorOptions) {
    this.levels = new Ring(options.orders + 1);
    this.short = new RollingMean(options.shortWindow);
    this.long = new RollingMoments(options.longWindow);
    this.recentScores = new SlidingMax(options.restWindow);
  }

  update(value: number, _timestampMs?: number): number {
    const o = this.options;
    const index = this.count;
    this.count += 1;
    const range = this.max - this.min;
    let excess = 0;
    if (range > 0) excess = Math.max(value - this.max, this.min - value) / range;
    else if (index > 0 && value !== this.min) excess = Number.POSITIVE_INFINITY;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const span = this.max - this.min;
    const level =
      span > 0 ? Math.min(o.levels - 1, Math.floor(((value - this.min) / span) * o.levels)) : 0;

    // Context novelty: the share of the (k+1)-grams ending here, k = 0..orders−1, never seen before.
    let novel = 0;
    let key = level;
    let scale = o.levels;
    const stride = o.orders + 1;
    for (let k = 0; k < o.orders; k += 1) {
      if (k > 0) {
        const previous = this.levels.ago(k);
        if (previous === undefined) {
          novel += 1;
          continue;
        }
        key += previous * scale;
        scale *= o.levels;
      }
      const hashed = key * stride + k;
      if (!this.contexts.has(hashed)) {
        novel += 1;
        this.contexts.add(hashed);
      }
    }
    this.levels.push(level);
    let raw = novel / o.orders;
    if (o.raw === 1) raw = this.nn(value);
    if (o.raw === 2) raw = this.grid(value);

    const averaged = this.short.push(raw);
    let surprise = 0;
    if (o.norm === 1) {
      // ratio to the largest of the calibration window
      const spanNow = span || 1;
      const feats: number[] = [];
      if (o.raw === 1) feats.push(raw);
      const ewDev = Math.abs(value - this.ew) / spanNow;
      if (o.feat & 1) feats.push(ewDev);
      if (o.feat & 2) feats.push(Math.abs(value - this.prev) / spanNow);
      let r = 0;
      feats.forEach((f, j) => {
        this.cals[j] ??= new SlidingMax(o.calibration);
        const cal = this.cals[j]!;
        const ref = cal.peek();
        if (index >= 50 && ref !== undefined) r = Math.max(r, f / (ref + 1e-9));
        cal.push(f);
      });
      this.ew = index === 0 ? value : this.ew + o.alpha * (value - this.ew);
      this.prev = value;
      if (excess > o.spatialMargin) r = Math.max(r, 1000);
      if (index < o.warmup) r = 0;
      let score = r / (1 + r);
      const previousPeak = this.recentScores.peek() ?? 0;
      this.recentScores.push(score);
      if (score <= previousPeak) score *= o.restDamping;
      return Math.min(score, 0.999999);
    }
    if (this.long.length >= 50) {
      const z = (averaged - this.long.mean()) / Math.max(this.long.std(), o.stdFloor);
      surprise = normalTailLog10(z);
    }
    this.long.push(averaged);
    if (excess > o.spatialMargin) surprise = Math.max(surprise, o.spatialLevel * (1 + excess));
    if (index < o.warmup) surprise = 0;

    let score = surprise / (surprise + 5);
    if (o.mode === 0) {
      const previousPeak = this.recentScores.peek() ?? 0;
      this.recentScores.push(score);
      if (score <= previousPeak) score *= o.restDamping;
    } else if (o.mode === 1) {
      if (index - this.lastAlert < o.restWindow) score *= o.restDamping;
      else if (score >= o.alertLevel) this.lastAlert = index;
    }
    return Math.min(score, 0.999999);
  }

  private readonly hist: number[] = [];
  private readonly shapes: Float64Array[] = [];
  private nn(value: number): number {
    this.hist.push(value);
    const d = 4;
    const n = this.hist.length;
    if (n < d) return 0;
    const span = this.max - this.min || 1;
    const shape = new Float64Array(d);
    for (let k = 0; k < d; k += 1) shape[k] = ((this.hist[n - d + k] ?? 0) - this.min) / span;
    let best = Number.POSITIVE_INFINITY;
    const limit = this.shapes.length - d + 1;
    for (let j = Math.max(0, limit - 1500); j < limit; j += 1) {
      const other = this.shapes[j]!;
      let dist = 0;
      for (let k = 0; k < d; k += 1) {
        const diff = (shape[k] ?? 0) - (other[k] ?? 0);
        dist += diff * diff;
        if (dist >= best) break;
      }
      if (dist < best) best = dist;
    }
    this.shapes.push(shape);
    return best === Number.POSITIVE_INFINITY ? 0 : Math.min(1, Math.sqrt(best));
  }

  private readonly grids: Map<number, number>[] = [];
  private readonly recent = new Ring(8);
  private grid(value: number): number {
    const o = this.options;
    this.recent.push(value);
    const d = o.dim;
    if (this.recent.length < d) return 0;
    const span = this.max - this.min || 1;
    let raw = 1;
    for (let level = 0; level < o.resolutions; level += 1) {
      const g = 2 << level;
      let key = 0;
      for (let k = 1; k <= d; k += 1) {
        const u = ((this.recent.ago(k) ?? 0) - this.min) / span;
        key = key * g + Math.min(g - 1, Math.floor(u * g));
      }
      this.grids[level] ??= new Map();
      const map = this.grids[level]!;
      const seen = map.get(key);
      if (seen !== undefined && this.count - seen <= o.history) raw = 1 / (2 * g);
      map.set(key, this.count);
    }
    return raw;
  }

  expected(): { low: number; high: number } | undefined {
    return undefined;
  }
}

/** Scores a whole series; the same as feeding the points one by one. */
export function scoreSeries(
  values: readonly number[],
  timestamps?: readonly number[],
  options = defaultDetectorOptions,
): number[] {
  const detector = new StreamingAnomalyDetector(options);
  return values.map((value, index) => detector.update(value, timestamps?.[index]));
}
