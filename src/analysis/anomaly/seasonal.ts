// The daily expectation of a metric: the value at the same time the day before. Pure: no I/O.
//
// Only trusted while it predicts: a slow average of |value − yesterday's value| must stay below a share of the
// slow average of |value − its slow mean|, i.e. yesterday explains most of the movement. Series without a daily
// rhythm (most of them) then never use it, so it adds no false alarms there.
import { MeanBreakout } from './breakout.js';
import { Ring } from './rolling.js';

export interface SeasonalOptions {
  /** Moving means of the residual whose break-outs count (1 = single points). */
  readonly scales: readonly number[];
  /** Points over which a residual's range is remembered. */
  readonly window: number;
  /** Residual error over deviation from the mean below which the daily expectation is trusted. */
  readonly trustRatio: number;
}

/** Sampling intervals outside 12–50 000 points a day give no daily model. */
const fewestPerDay = 12;
const mostPerDay = 50_000;
/** Timestamps used to find the sampling interval. */
export const intervalSample = 50;

export class DailyModel {
  private readonly history: Ring;
  private readonly breakouts: MeanBreakout[];
  private residualError = 0;
  private deviation = 0;
  private level = 0;
  /** The expectation for the latest point (yesterday's value), while trusted. */
  expectation: number | undefined;

  private readonly trustRatio: number;

  constructor(
    readonly pointsPerDay: number,
    options: SeasonalOptions,
  ) {
    this.trustRatio = options.trustRatio;
    this.history = new Ring(pointsPerDay);
    this.breakouts = options.scales.map((size) => new MeanBreakout(size, options.window));
  }

  /**
   * Adds a value; returns the largest break-out of its residual from yesterday over the scales, and the residual,
   * both 0/undefined while the model is not trusted.
   */
  push(value: number): { excess: number; residual: number | undefined } {
    this.expectation = undefined;
    if (!this.history.full) {
      this.level = value;
      this.history.push(value);
      return { excess: 0, residual: undefined };
    }
    const yesterday = this.history.ago(this.pointsPerDay) ?? value;
    const residual = value - yesterday;
    const trusted = this.residualError < this.trustRatio * this.deviation;
    const rate = 1 / this.pointsPerDay;
    this.residualError += rate * (Math.abs(residual) - this.residualError);
    this.deviation += rate * (Math.abs(value - this.level) - this.deviation);
    this.level += rate * (value - this.level);
    let excess = 0;
    for (const breakout of this.breakouts) excess = Math.max(excess, breakout.push(residual));
    this.history.push(value);
    if (!trusted) return { excess: 0, residual: undefined };
    this.expectation = yesterday;
    return { excess, residual };
  }
}

/** Points per day from the median sampling interval, when that gives a usable daily model. */
export function pointsPerDay(timestamps: readonly number[]): number | undefined {
  const intervals = timestamps
    .slice(1)
    .map((time, index) => time - (timestamps[index] ?? time))
    .filter((interval) => interval > 0)
    .sort((a, b) => a - b);
  const median = intervals[intervals.length >> 1];
  if (median === undefined) return undefined;
  const perDay = Math.round(86_400_000 / median);
  return perDay >= fewestPerDay && perDay <= mostPerDay ? perDay : undefined;
}
