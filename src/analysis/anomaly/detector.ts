// Streaming anomaly detection for one metric series. Causal: the score of a point uses that point and earlier
// ones only. One configuration for every series. Pure: no I/O.
//
// Three kinds of surprise, each made comparable across series by relating it to its own recent history:
//   • range break-out: a value beyond everything seen so far (by more than a margin of the range);
//   • shape novelty: the distance from the latest few values (scaled to the range seen) to the closest earlier
//     stretch of the same length, over its own largest distance in the recent past;
//   • seasonal residual: the difference from the same time of day on the previous days, likewise related to its
//     own recent largest value (only when timestamps show a sampling interval).
// The strongest surprise r becomes the score r / (1 + r) in [0, 1): r > 1 means "more surprising than anything
// recently seen". A score that does not exceed the highest one in the last stretch is halved: one episode, one
// alert.

export interface DetectorOptions {
  /** Values in the shape compared by the novelty measure. */
  readonly embeddingDimension: number;
  /** Earlier shapes searched for the closest match. */
  readonly historySize: number;
  /** Points whose largest surprise a new surprise is compared with. */
  readonly calibrationWindow: number;
  /** Share of the seen range a value must lie beyond to break out of it. */
  readonly breakoutMargin: number;
  /** Points before any score is given (everything is new at first). */
  readonly warmup: number;
  /** Previous days averaged for the seasonal expectation. */
  readonly seasonalDays: number;
  /** A score no higher than the highest in this many preceding points is damped. */
  readonly onsetWindow: number;
  readonly onsetDamping: number;
}

export const defaultDetectorOptions: DetectorOptions = {
  embeddingDimension: 4,
  historySize: 1500,
  calibrationWindow: 1500,
  breakoutMargin: 0.05,
  warmup: 150,
  seasonalDays: 3,
  onsetWindow: 400,
  onsetDamping: 0.5,
};

/** Maximum of the last `size` values, O(1) amortised (monotonic deque). */
class SlidingMax {
  private readonly values: number[] = [];
  private readonly positions: number[] = [];
  private head = 0;
  private count = 0;

  constructor(private readonly size: number) {}

  /** The maximum before adding `value` (undefined when empty). */
  peek(): number | undefined {
    return this.head < this.values.length ? this.values[this.head] : undefined;
  }

  push(value: number): void {
    while (this.values.length > this.head && (this.values.at(-1) ?? 0) <= value) {
      this.values.pop();
      this.positions.pop();
    }
    this.values.push(value);
    this.positions.push(this.count);
    this.count += 1;
    while ((this.positions[this.head] ?? 0) <= this.count - 1 - this.size) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.values.length) {
      this.values.splice(0, this.head);
      this.positions.splice(0, this.head);
      this.head = 0;
    }
  }

  get filled(): number {
    return Math.min(this.count, this.size);
  }
}

/** A surprise over its own largest value in the calibration window (0 until 50 values were seen). */
class Calibration {
  private readonly max: SlidingMax;

  constructor(window: number) {
    this.max = new SlidingMax(window);
  }

  ratio(raw: number): number {
    const reference = this.max.peek();
    const ratio = this.max.filled >= 50 && reference !== undefined ? raw / (reference + 1e-9) : 0;
    this.max.push(raw);
    return ratio;
  }
}

export class StreamingAnomalyDetector {
  private readonly values: number[] = [];
  private readonly timestamps: number[] = [];
  private readonly shapes: Float64Array[] = [];
  private readonly novelty: Calibration;
  private readonly seasonal: Calibration;
  private readonly recentScores: SlidingMax;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private pointsPerDay: number | undefined;

  constructor(private readonly options: DetectorOptions = defaultDetectorOptions) {
    this.novelty = new Calibration(options.calibrationWindow);
    this.seasonal = new Calibration(options.calibrationWindow);
    this.recentScores = new SlidingMax(options.onsetWindow);
  }

  /** Adds the next point (timestamp in epoch milliseconds, when known) and returns its score in [0, 1). */
  update(value: number, timestampMs?: number): number {
    const options = this.options;
    const index = this.values.length;
    this.values.push(value);
    if (timestampMs !== undefined) this.timestamps.push(timestampMs);
    if (this.pointsPerDay === undefined && this.timestamps.length === 50)
      this.pointsPerDay = perDay(this.timestamps);

    const range = this.max - this.min;
    const breakout =
      index >= options.warmup &&
      range > 0 &&
      (value > this.max + options.breakoutMargin * range ||
        value < this.min - options.breakoutMargin * range);
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    const span = this.max - this.min || 1;

    let surprise = 0;
    const dimension = options.embeddingDimension;
    if (index + 1 >= dimension) {
      const shape = new Float64Array(dimension);
      for (let k = 0; k < dimension; k += 1)
        shape[k] = ((this.values[index - dimension + 1 + k] ?? 0) - this.min) / span;
      surprise = this.novelty.ratio(this.closestDistance(shape));
      this.shapes.push(shape);
      if (this.shapes.length > options.historySize + dimension) this.shapes.shift();
    }
    const day = this.pointsPerDay;
    if (day !== undefined && day > 1 && index >= day) {
      let sum = 0;
      let days = 0;
      for (let back = 1; back <= options.seasonalDays && index - back * day >= 0; back += 1) {
        sum += this.values[index - back * day] ?? 0;
        days += 1;
      }
      surprise = Math.max(surprise, this.seasonal.ratio(Math.abs(value - sum / days) / span));
    }
    if (breakout) surprise = Math.max(surprise, 1000);
    if (index < options.warmup) surprise = 0;

    const previousPeak = this.recentScores.peek() ?? 0;
    this.recentScores.push(surprise);
    const damped = surprise <= previousPeak ? surprise * options.onsetDamping : surprise;
    return damped / (1 + damped);
  }

  /**
   * The band of values usual before the latest point: the 5th to 95th percentile of the preceding
   * calibration window (undefined before any history).
   */
  expected(): { low: number; high: number } | undefined {
    const history = this.values.slice(Math.max(0, this.values.length - 1 - this.options.calibrationWindow), -1);
    if (history.length === 0) return undefined;
    const sorted = history.sort((a, b) => a - b);
    const at = (share: number): number => sorted[Math.floor(share * (sorted.length - 1))] ?? 0;
    return { low: at(0.05), high: at(0.95) };
  }

  /** Distance from a shape to the closest earlier, non-overlapping one. */
  private closestDistance(shape: Float64Array): number {
    let best = Number.POSITIVE_INFINITY;
    const limit = this.shapes.length - this.options.embeddingDimension + 1; // skip shapes overlapping this one
    for (let j = Math.max(0, limit - this.options.historySize); j < limit; j += 1) {
      const other = this.shapes[j];
      if (other === undefined) continue;
      let distance = 0;
      for (let k = 0; k < shape.length; k += 1) {
        const difference = (shape[k] ?? 0) - (other[k] ?? 0);
        distance += difference * difference;
        if (distance >= best) break;
      }
      if (distance < best) best = distance;
    }
    return best === Number.POSITIVE_INFINITY ? 0 : Math.sqrt(best);
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
