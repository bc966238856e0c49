// Constant-time rolling state the streaming detector is built from, and the quantile its usual band is read
// with. Pure: no I/O.

/** The last `size` numbers pushed. */
export class Ring {
  private readonly data: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly size: number) {
    this.data = new Float64Array(Math.max(1, size));
  }

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.size;
  }

  /** Pushes a value and returns the one that fell out (undefined while filling). */
  push(value: number): number | undefined {
    const dropped = this.count === this.size ? this.data[this.next] : undefined;
    this.data[this.next] = value;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    if (this.count < this.size) this.count += 1;
    return dropped;
  }

  /** The value pushed `back` pushes ago (1 = the latest), undefined beyond what is kept. */
  ago(back: number): number | undefined {
    if (back < 1 || back > this.count) return undefined;
    const at = this.next - back;
    return this.data[at < 0 ? at + this.size : at];
  }
}

/**
 * Maximum of the last `size` values pushed, O(1) amortised: a deque of the values that can still become the
 * maximum (each smaller than the one before it), grown on demand so an idle window costs little memory.
 */
export class SlidingMax {
  private values = new Float64Array(16);
  private positions = new Float64Array(16);
  private head = 0;
  private length = 0;
  private count = 0;

  constructor(private readonly size: number) {}

  /** The maximum of the window (undefined before the first push). */
  peek(): number | undefined {
    return this.length === 0 ? undefined : this.values[this.head];
  }

  push(value: number): void {
    const mask = this.values.length - 1;
    while (this.length > 0 && (this.values[(this.head + this.length - 1) & mask] ?? 0) <= value)
      this.length -= 1;
    while (this.length > 0 && (this.positions[this.head] ?? 0) <= this.count - this.size) {
      this.head = (this.head + 1) & mask;
      this.length -= 1;
    }
    if (this.length === this.values.length) this.grow();
    const at = (this.head + this.length) & (this.values.length - 1);
    this.values[at] = value;
    this.positions[at] = this.count;
    this.length += 1;
    this.count += 1;
  }

  private grow(): void {
    const capacity = this.values.length;
    const values = new Float64Array(capacity * 2);
    const positions = new Float64Array(capacity * 2);
    for (let k = 0; k < this.length; k += 1) {
      values[k] = this.values[(this.head + k) & (capacity - 1)] ?? 0;
      positions[k] = this.positions[(this.head + k) & (capacity - 1)] ?? 0;
    }
    this.values = values;
    this.positions = positions;
    this.head = 0;
  }
}

/** The p-quantile (0 ≤ p ≤ 1) of the values, by sorting a copy: for answers on demand, not per point. */
export function quantile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const position = p * (sorted.length - 1);
  const below = Math.floor(position);
  const low = sorted[below] ?? 0;
  const high = sorted[Math.min(sorted.length - 1, below + 1)] ?? low;
  return low + (high - low) * (position - below);
}
