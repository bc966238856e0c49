// Draft: multi-scale break-out detector.
import { Ring, SlidingMax } from './rolling.js';

export interface BreakoutOptions {
  readonly warmup: number;
  readonly scales: readonly number[];
  readonly window: number;
  readonly margin: number;
  readonly globalMargin: number;
  readonly restWindow: number;
  readonly restDamping: number;
  readonly feat: number;
  readonly seasonalDays: number;
  readonly seasonGate: number;
  readonly peakFactor: number;
  readonly devMode: number;
  readonly globalLevel: number;
  readonly seasonScales: readonly number[];
}

export const defaultBreakoutOptions: BreakoutOptions = {
  warmup: 150,
  scales: [1, 4, 16, 64],
  window: 1500,
  margin: 0.1,
  globalMargin: 0.05,
  restWindow: 400,
  restDamping: 0.5,
  feat: 1,
  seasonalDays: 3,
  seasonGate: 0.5,
  peakFactor: 1,
  devMode: 0,
  globalLevel: 1000,
  seasonScales: [1, 4, 16],
};

/** A mean over the last `size` values with the recent range of that mean. */
class Scale {
  private readonly ring: Ring;
  private sum = 0;
  readonly high: SlidingMax;
  readonly low: SlidingMax;

  private ewMean = 0;
  private ewDev = 0;
  private seen = 0;

  constructor(
    readonly size: number,
    window: number,
    private readonly devMode = 0,
  ) {
    this.ring = new Ring(size);
    this.high = new SlidingMax(window);
    this.low = new SlidingMax(window);
  }

  /** Adds a value; returns how far the mean lies beyond the recent range of means, over that range. */
  push(value: number): number {
    const dropped = this.ring.push(value);
    this.sum += value - (dropped ?? 0);
    const mean = this.sum / this.ring.length;
    const high = this.high.peek();
    const negLow = this.low.peek();
    let excess = 0;
    if (high !== undefined && negLow !== undefined && this.ring.length === this.size) {
      const low = -negLow;
      const range = high - low;
      const beyond = Math.max(mean - high, low - mean);
      if (beyond > 0) {
        if (this.devMode === 0) excess = range > 0 ? beyond / range : 1e6;
        else excess = this.ewDev > 0 ? beyond / (this.devMode * this.ewDev) : 1e6;
      }
    }
    this.seen += 1;
    const rate = Math.max(1 / this.seen, 1 / 1000);
    this.ewDev += rate * (Math.abs(mean - this.ewMean) - this.ewDev);
    this.ewMean += rate * (mean - this.ewMean);
    if (this.ring.length === this.size) {
      this.high.push(mean);
      this.low.push(-mean);
    }
    return excess;
  }
}

export class BreakoutDetector {
  private count = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly scales: Scale[];
  private readonly recentScores: SlidingMax;
  private readonly stds: Scale[];
  private readonly ring16 = new Ring(16);
  private sum16 = 0;
  private sq16 = 0;
  private resAbs = 0;
  private devAbs = 0;
  private level = 0;
  private readonly stamps: number[] = [];
  private day: number | undefined;
  private history: Ring | undefined;
  private seasonScales: Scale[] = [];

  constructor(private readonly options: BreakoutOptions = defaultBreakoutOptions) {
    this.scales = options.scales.map((size) => new Scale(size, options.window, options.devMode));
    this.stds = [new Scale(1, options.window)];
    this.recentScores = new SlidingMax(options.restWindow);
  }

  update(value: number, _timestampMs?: number): number {
    const o = this.options;
    const index = this.count;
    this.count += 1;
    const range = this.max - this.min;
    let global = 0;
    if (range > 0) global = Math.max(value - this.max, this.min - value) / range;
    else if (index > 0 && value !== this.min) global = 1e6;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;

    let r = 0;
    if (o.feat & 1) for (const scale of this.scales) r = Math.max(r, scale.push(value) / o.margin);
    if (o.feat & 2) {
      const dropped = this.ring16.push(value);
      this.sum16 += value - (dropped ?? 0);
      this.sq16 += value * value - (dropped ?? 0) * (dropped ?? 0);
      const n = this.ring16.length;
      const std = Math.sqrt(Math.max(0, this.sq16 / n - (this.sum16 / n) ** 2));
      if (n === 16) r = Math.max(r, (this.stds[0]?.push(std) ?? 0) / o.margin);
    }
    if (o.feat & 4) {
      if (_timestampMs !== undefined && this.stamps.length < 50) {
        this.stamps.push(_timestampMs);
        if (this.stamps.length === 50) {
          const day = perDay(this.stamps);
          if (day !== undefined && day >= 12 && day * o.seasonalDays <= 50_000) {
            this.day = day;
            this.history = new Ring(day * o.seasonalDays);
            this.seasonScales = o.seasonScales.map((size) => new Scale(size, o.window));
          }
        }
      }
      if (this.history !== undefined && this.day !== undefined) {
        if (this.history.length === this.history.size) {
          let sum = 0;
          for (let k = 1; k <= o.seasonalDays; k += 1) sum += this.history.ago(k * this.day) ?? 0;
          const residual = value - sum / o.seasonalDays;
          const rate = 1 / this.day;
          this.resAbs += rate * (Math.abs(residual) - this.resAbs);
          this.devAbs += rate * (Math.abs(value - this.level) - this.devAbs);
          this.level += rate * (value - this.level);
          let rs = 0;
          for (const scale of this.seasonScales) rs = Math.max(rs, scale.push(residual) / o.margin);
          if (this.resAbs < o.seasonGate * this.devAbs) r = Math.max(r, rs);
        }
        if (this.history.length < this.history.size) this.level = value;
        this.history.push(value);
      }
    }
    if (global > o.globalMargin) r = Math.max(r, o.globalLevel * (1 + global));
    if (index < o.warmup) r = 0;
    let score = r / (1 + r);
    const previousPeak = this.recentScores.peek() ?? 0;
    this.recentScores.push(score);
    if (score <= previousPeak * o.peakFactor) score *= o.restDamping;
    return Math.min(score, 0.999999);
  }
}

export function scoreBreakout(values: readonly number[], timestamps: readonly number[] | undefined, options: BreakoutOptions): number[] {
  const d = new BreakoutDetector(options);
  return values.map((v, i) => d.update(v, timestamps?.[i]));
}

/** Points per day from the median sampling interval of the first timestamps. */
function perDay(timestamps: readonly number[]): number | undefined {
  const intervals = timestamps
    .slice(1)
    .map((time, index) => time - (timestamps[index] ?? time))
    .filter((interval) => interval > 0)
    .sort((a, b) => a - b);
  const median = intervals[intervals.length >> 1];
  return median === undefined ? undefined : Math.round(86_400_000 / median);
}
