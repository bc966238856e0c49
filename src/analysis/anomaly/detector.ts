// Streaming anomaly detection for one metric series. Causal: the score of a point uses that point and earlier
// ones only, and nothing about the series' length. One configuration for every series. Pure: no I/O. O(1)
// amortised work per point.
//
// An anomaly is behaviour the series has not shown for a long while. The detector looks for it at several time
// scales at once: the moving mean of the last 1, 4, 16 and 64 values is compared with the range that same mean
// took over the last `window` points (breakout.ts). A mean beyond that range is new; how far beyond, as a share
// of the range, is the surprise. Two more surprises join it: a value beyond everything ever seen, and — when
// timestamps show a daily rhythm that yesterday's values actually predict — a residual from yesterday beyond
// its own recent range (seasonal.ts). The largest surprise r becomes the score r / (1 + r) in [0, 1).
//
// One episode, one alert: a score that is not clearly above the highest of the last `restWindow` points is
// damped, so a spike or a shift raises one high score, not a train of them.
import { MeanBreakout } from './breakout.js';
import { Ring, SlidingMax, quantile } from './rolling.js';
import { DailyModel, intervalSample, pointsPerDay } from './seasonal.js';

export interface DetectorOptions {
  /** Points before any score (everything is new at first). */
  readonly warmup: number;
  /** Moving means (in points) whose break-outs are surprises. */
  readonly scales: readonly number[];
  /** Points over which each moving mean's range is remembered. */
  readonly window: number;
  /** Break-out, as a share of the recent range, that scores 0.5. */
  readonly margin: number;
  /** Share of the all-time range a value must lie beyond for the strongest surprise. */
  readonly rangeMargin: number;
  /** Use the daily model when timestamps give one. */
  readonly seasonal: boolean;
  /** Moving means of the daily residual whose break-outs count. */
  readonly seasonalScales: readonly number[];
  /** Residual error over deviation below which yesterday is trusted as the expectation. */
  readonly seasonalTrust: number;
  /** Points whose highest score a new score must beat to start a new episode. */
  readonly restWindow: number;
  /** A new episode's score must exceed the recent highest by this factor… */
  readonly restFactor: number;
  /** …or it is multiplied by this. */
  readonly restDamping: number;
}

export const defaultDetectorOptions: DetectorOptions = {
  warmup: 150,
  scales: [1, 4, 16, 64],
  window: 6000,
  margin: 0.1,
  rangeMargin: 0.05,
  seasonal: true,
  seasonalScales: [1],
  seasonalTrust: 0.5,
  restWindow: 600,
  restFactor: 1.3,
  restDamping: 0.2,
};

/** The surprise of a value beyond the all-time range (then scored at least 10 / 11 ≈ 0.91). */
const rangeSurprise = 10;
/** Recent values (or daily residuals) the usual band is taken from, and its quantiles. */
const bandSize = 1000;
const bandQuantiles = [0.05, 0.95] as const;

export class StreamingAnomalyDetector {
  private count = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly breakouts: MeanBreakout[];
  private readonly stamps: number[] = [];
  private daily: DailyModel | undefined;
  private readonly recentScores: SlidingMax;
  // For expected(): the values and daily residuals before the latest point, and yesterday's value for it.
  private readonly values = new Ring(bandSize + 1);
  private readonly residuals = new Ring(bandSize);
  private residualsBefore = 0;
  private expectation: number | undefined;

  constructor(private readonly options: DetectorOptions = defaultDetectorOptions) {
    this.breakouts = options.scales.map((size) => new MeanBreakout(size, options.window));
    this.recentScores = new SlidingMax(options.restWindow);
  }

  /**
   * Adds the next point (timestamp in epoch milliseconds, when known) and returns its score in [0, 1). A value
   * that is not a finite number is ignored and scores 0.
   */
  update(value: number, timestampMs?: number): number {
    if (!Number.isFinite(value)) return 0;
    const options = this.options;
    const index = this.count;
    this.count += 1;
    this.values.push(value);

    const range = this.max - this.min;
    const outside = Math.max(value - this.max, this.min - value);
    const beyondAll = index > 0 && (range > 0 ? outside > options.rangeMargin * range : value !== this.min);
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);

    let surprise = 0;
    for (const breakout of this.breakouts) surprise = Math.max(surprise, breakout.push(value));
    surprise /= options.margin;
    surprise = Math.max(surprise, this.seasonalSurprise(value, timestampMs));
    if (beyondAll) surprise = Math.max(surprise, rangeSurprise * (1 + (range > 0 ? outside / range : 1)));
    if (index < options.warmup) surprise = 0;

    let score = surprise / (1 + surprise);
    const previousPeak = this.recentScores.peek() ?? 0;
    this.recentScores.push(score);
    if (score <= previousPeak * options.restFactor) score *= options.restDamping;
    return score;
  }

  /**
   * The band of values the detector considered usual for the latest point, from what it knew before that point:
   * the central 90 % of the last 1000 values, or, while the daily model is trusted, yesterday's value plus the
   * central 90 % of the last 1000 residuals from yesterday. Undefined before any earlier point. Sorts on each
   * call: ask once per alert, not per point.
   */
  expected(): { low: number; high: number } | undefined {
    if (this.expectation !== undefined && this.residualsBefore >= 10) {
      const residuals: number[] = [];
      // The latest residual belongs to the latest point: skip it.
      for (let back = 2; back <= this.residuals.length; back += 1)
        residuals.push(this.residuals.ago(back) ?? 0);
      const low = quantile(residuals, bandQuantiles[0]) ?? 0;
      const high = quantile(residuals, bandQuantiles[1]) ?? 0;
      return { low: this.expectation + low, high: this.expectation + high };
    }
    const earlier: number[] = [];
    for (let back = 2; back <= this.values.length; back += 1) earlier.push(this.values.ago(back) ?? 0);
    const low = quantile(earlier, bandQuantiles[0]);
    const high = quantile(earlier, bandQuantiles[1]);
    return low === undefined || high === undefined ? undefined : { low, high };
  }

  /** The daily residual's break-out (as a surprise), once the sampling interval is known and yesterday predicts. */
  private seasonalSurprise(value: number, timestampMs: number | undefined): number {
    this.expectation = undefined;
    if (!this.options.seasonal) return 0;
    if (this.daily === undefined) {
      if (timestampMs !== undefined && this.stamps.length < intervalSample) {
        this.stamps.push(timestampMs);
        if (this.stamps.length === intervalSample) {
          const perDay = pointsPerDay(this.stamps);
          if (perDay !== undefined)
            this.daily = new DailyModel(perDay, {
              scales: this.options.seasonalScales,
              window: this.options.window,
              trustRatio: this.options.seasonalTrust,
            });
        }
      }
      return 0;
    }
    const { excess, residual } = this.daily.push(value);
    if (residual === undefined) return 0;
    this.residualsBefore = this.residuals.length;
    this.residuals.push(residual);
    this.expectation = this.daily.expectation;
    return excess / this.options.margin;
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
