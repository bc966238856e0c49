// Break-out of a moving mean from its own recent range: the detector's basic surprise. Pure: no I/O.
//
// The mean of the last `size` values is compared with the highest and lowest such mean over the last `window`
// points. A mean beyond them is new behaviour at that time scale; how far beyond, over the width of the range,
// makes the surprise comparable across series without any distributional assumption. Size 1 catches spikes,
// longer means catch level shifts that hide in the noise of single values.
import { Ring, SlidingMax } from './rolling.js';

/** Excess returned when the range is still a single value and the mean leaves it. */
const flatExcess = 1e6;

export class MeanBreakout {
  private readonly recent: Ring;
  private sum = 0;
  private pushes = 0;
  private readonly highest: SlidingMax;
  private readonly lowest: SlidingMax;

  constructor(
    private readonly size: number,
    window: number,
  ) {
    this.recent = new Ring(size);
    this.highest = new SlidingMax(window);
    this.lowest = new SlidingMax(window);
  }

  /** Adds a value; returns how far the moving mean lies beyond its recent range, over that range (0 inside). */
  push(value: number): number {
    const dropped = this.recent.push(value);
    this.sum += value - (dropped ?? 0);
    if (!this.recent.full) return 0;
    // Recompute the sum now and then so that rounding errors of the running sum cannot build up.
    this.pushes += 1;
    if (this.pushes % 4096 === 0) {
      this.sum = 0;
      for (let back = 1; back <= this.size; back += 1) this.sum += this.recent.ago(back) ?? 0;
    }
    const mean = this.sum / this.size;
    const high = this.highest.peek();
    const low = this.lowest.peek();
    let excess = 0;
    if (high !== undefined && low !== undefined) {
      const range = high + low; // lowest holds negated means
      const beyond = Math.max(mean - high, -low - mean);
      if (beyond > 0) excess = range > 0 ? Math.min(flatExcess, beyond / range) : flatExcess;
    }
    this.highest.push(mean);
    this.lowest.push(-mean);
    return excess;
  }
}
