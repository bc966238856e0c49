// A minimal protocol-buffers wire reader (https://protobuf.dev/programming-guides/encoding/): just what the
// OTLP decoders need, reading straight from the request buffer without intermediate objects.

export const wireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

export class ProtoError extends Error {}

export class ProtoReader {
  position: number;

  constructor(
    readonly buffer: Buffer,
    start = 0,
    readonly end = buffer.length,
  ) {
    this.position = start;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  /** Reads a field key; returns [field number, wire type]. */
  tag(): [number, number] {
    const key = this.uint32();
    return [key >>> 3, key & 7];
  }

  uint32(): number {
    if (this.position >= this.end) throw new ProtoError('truncated varint');
    const first = this.buffer[this.position] ?? 0;
    if (first < 0x80) {
      this.position += 1; // the common case: tags, small lengths, enums
      return first;
    }
    return this.uint64();
  }

  /** A varint as a JS number (exact below 2^53), for int64/uint64 counters. */
  uint64(): number {
    let result = 0;
    let multiplier = 1;
    for (;;) {
      if (this.position >= this.end) throw new ProtoError('truncated varint');
      const byte = this.buffer[this.position++] ?? 0;
      result += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return result;
      multiplier *= 128;
      if (multiplier > 2 ** 70) throw new ProtoError('varint too long');
    }
  }

  /** int64 as a JS number; negative values arrive as ten-byte two's complement varints. */
  int64(): number {
    const start = this.position;
    const value = this.uint64();
    if (this.position - start < 10) return value;
    return value - 2 ** 64;
  }

  sint32(): number {
    const value = this.uint32();
    return (value >>> 1) ^ -(value & 1);
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  fixed32(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  /** fixed64 as a JS number: nanosecond timestamps lose at most 256 ns, which microsecond storage ignores. */
  fixed64(): number {
    this.need(8);
    const low = this.buffer.readUInt32LE(this.position);
    const high = this.buffer.readUInt32LE(this.position + 4);
    this.position += 8;
    return high * 4294967296 + low;
  }

  /**
   * A fixed64 time in nanoseconds as a JS number, or undefined when it is past int64 (the high bit set): OTLP
   * times are unsigned, but no SDK or store represents times after 2262.
   */
  time(): number | undefined {
    this.need(8);
    const low = this.buffer.readUInt32LE(this.position);
    const high = this.buffer.readUInt32LE(this.position + 4);
    this.position += 8;
    return high >= 0x80000000 ? undefined : high * 4294967296 + low;
  }

  /** fixed64 split into [high, low] 32-bit halves, for exact differences. */
  fixed64Parts(): [number, number] {
    this.need(8);
    const low = this.buffer.readUInt32LE(this.position);
    const high = this.buffer.readUInt32LE(this.position + 4);
    this.position += 8;
    return [high, low];
  }

  sfixed64(): number {
    this.need(8);
    const value = Number(this.buffer.readBigInt64LE(this.position));
    this.position += 8;
    return value;
  }

  double(): number {
    this.need(8);
    const value = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  /** Starts a length-delimited field; returns its end offset. */
  delimited(): number {
    const length = this.uint32();
    const end = this.position + length;
    if (end > this.end) throw new ProtoError('length-delimited field runs past its message');
    return end;
  }

  string(): string {
    const end = this.delimited();
    const text = this.buffer.toString('utf8', this.position, end);
    this.position = end;
    return text;
  }

  hex(): string {
    const end = this.delimited();
    const text = this.buffer.toString('hex', this.position, end);
    this.position = end;
    return text;
  }

  bytes(): Buffer {
    const end = this.delimited();
    const bytes = this.buffer.subarray(this.position, end);
    this.position = end;
    return bytes;
  }

  /** Skips a field of the given wire type (unknown fields must be ignored, per proto3). */
  skip(type: number): void {
    switch (type) {
      case wireType.varint:
        this.uint64();
        return;
      case wireType.fixed64:
        this.need(8);
        this.position += 8;
        return;
      case wireType.lengthDelimited:
        this.position = this.delimited();
        return;
      case wireType.fixed32:
        this.need(4);
        this.position += 4;
        return;
      default:
        throw new ProtoError(`unsupported wire type ${type}`);
    }
  }

  private need(bytes: number): void {
    if (this.position + bytes > this.end) throw new ProtoError('truncated fixed-width field');
  }
}

/** Reads a packed or unpacked repeated field element-wise. */
export function readRepeated(
  reader: ProtoReader,
  type: number,
  packedRead: () => number,
  into: number[],
): void {
  if (type === wireType.lengthDelimited) {
    const end = reader.delimited();
    while (reader.position < end) into.push(packedRead());
    return;
  }
  into.push(packedRead());
}

/** A tiny writer for the response messages (partial success). */
export class ProtoWriter {
  private readonly bytes: number[] = [];

  varint(value: number): this {
    let remaining = value;
    while (remaining > 0x7f) {
      this.bytes.push((remaining & 0x7f) | 0x80);
      remaining = Math.floor(remaining / 128);
    }
    this.bytes.push(remaining);
    return this;
  }

  tag(field: number, type: number): this {
    return this.varint((field << 3) | type);
  }

  string(field: number, value: string): this {
    const encoded = Buffer.from(value, 'utf8');
    this.tag(field, wireType.lengthDelimited).varint(encoded.length);
    for (const byte of encoded) this.bytes.push(byte);
    return this;
  }

  message(field: number, inner: ProtoWriter): this {
    const encoded = inner.finish();
    this.tag(field, wireType.lengthDelimited).varint(encoded.length);
    for (const byte of encoded) this.bytes.push(byte);
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.bytes);
  }
}
