// Constant-time rolling statistics the streaming detector is built from. Pure: no I/O.

/** Fixed-size ring of numbers: the last `size` values pushed. */
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

  /** Pushes a value and returns the one that fell out (undefined while filling). */
  push(value: number): number | undefined {
    const dropped = this.count === this.size ? this.data[this.next] : undefined;
    this.data[this.next] = value;
    this.next = (this.next + 1) % this.size;
    if (this.count < this.size) this.count += 1;
    return dropped;
  }

  /** The value `back` pushes ago (1 = the latest), undefined beyond what is kept. */
  ago(back: number): number | undefined {
    if (back < 1 || back > this.count) return undefined;
    return this.data[(this.next - back + this.size * 2) % this.size];
  }
}

/** Mean and standard deviation of the last `size` values (sums kept exactly enough for scores in [0, 1]). */
export class RollingMoments {
  private readonly ring: Ring;
  private sum = 0;
  private squares = 0;

  constructor(size: number) {
    this.ring = new Ring(size);
  }

  get length(): number {
    return this.ring.length;
  }

  push(value: number): void {
    const dropped = this.ring.push(value);
    this.sum += value;
    this.squares += value * value;
    if (dropped !== undefined) {
      this.sum -= dropped;
      this.squares -= dropped * dropped;
    }
  }

  mean(): number {
    return this.ring.length === 0 ? 0 : this.sum / this.ring.length;
  }

  std(): number {
    const n = this.ring.length;
    if (n < 2) return 0;
    const mean = this.sum / n;
    return Math.sqrt(Math.max(0, this.squares / n - mean * mean));
  }
}

/** Mean of the last `size` values. */
export class RollingMean {
  private readonly ring: Ring;
  private sum = 0;

  constructor(size: number) {
    this.ring = new Ring(size);
  }

  push(value: number): number {
    const dropped = this.ring.push(value);
    this.sum += value - (dropped ?? 0);
    return this.sum / this.ring.length;
  }
}

/** Maximum of the last `size` values, O(1) amortised (monotonic deque over a ring). */
export class SlidingMax {
  private readonly values: Float64Array;
  private readonly positions: Float64Array;
  private head = 0;
  private tail = 0;
  private count = 0;

  constructor(private readonly size: number) {
    this.values = new Float64Array(size + 1);
    this.positions = new Float64Array(size + 1);
  }

  /** The maximum of the window before the next push (undefined when empty). */
  peek(): number | undefined {
    return this.head === this.tail ? undefined : this.values[this.head];
  }

  push(value: number): void {
    const capacity = this.values.length;
    while (this.head !== this.tail) {
      const last = (this.tail - 1 + capacity) % capacity;
      if ((this.values[last] ?? 0) > value) break;
      this.tail = last;
    }
    this.values[this.tail] = value;
    this.positions[this.tail] = this.count;
    this.tail = (this.tail + 1) % capacity;
    this.count += 1;
    while (this.head !== this.tail && (this.positions[this.head] ?? 0) <= this.count - 1 - this.size)
      this.head = (this.head + 1) % capacity;
  }
}
