// The limits every decoded OTLP record is held to before it joins a batch (docs/telemetry.md, "Limits"): text
// past its length is cut and marked, attributes and span events past their count are dropped, and a field no
// store can hold (a time outside int64 nanoseconds) rejects its record alone. Both decoders apply them.
import type { AttributeValue, Attributes, TelemetryBatch } from '../model.js';

export interface RecordLimits {
  /** Characters of a log body (structured bodies count as their JSON). */
  readonly maxLogBodyLength: number;
  /** Characters of a string (or bytes) value of an attribute, at any depth. */
  readonly maxAttributeValueLength: number;
  /** Attributes of a record, resource or span event, and entries of an array or map value. */
  readonly maxAttributes: number;
  /** Characters of span, event, metric and scope names, units, severity texts and status messages. */
  readonly maxNameLength: number;
  /** Events of one span. */
  readonly maxSpanEvents: number;
}

/** The defaults of the `otlp.*` settings of the same names. */
export const defaultRecordLimits: RecordLimits = {
  maxLogBodyLength: 64 * 1024,
  maxAttributeValueLength: 16 * 1024,
  maxAttributes: 128,
  maxNameLength: 1024,
  maxSpanEvents: 128,
};

/**
 * The latest time a record may carry, in nanoseconds since 1970: int64's largest (2262-04-11), what
 * OpenTelemetry SDKs can represent. Later times are not data but noise, and would not fit the store.
 */
export const maxTimeNanos = 2n ** 63n - 1n;

/** Said of a time outside 0 … maxTimeNanos. */
export const timeRange = `out of range: times are nanoseconds since 1970, from 0 (unknown) to ${maxTimeNanos} (2262-04-11)`;

type TextLimit = 'maxLogBodyLength' | 'maxAttributeValueLength' | 'maxNameLength';

/** Where a value is: its path, or something that spells it out on demand (the protobuf decoder's position). */
export type Where = string | { readonly path: string };

function name(where: Where, field: string, key: string | undefined): string {
  return `${typeof where === 'string' ? where : where.path}${field}${key === undefined ? '' : `.${key}`}`;
}
type CountLimit = 'maxAttributes' | 'maxSpanEvents';

/**
 * Applies the limits while one request is decoded and notes what it cut into the batch, so that the response
 * can warn the sender (OTLP partial success with nothing rejected).
 */
export class RecordLimiter {
  /** The first cut of the record being decoded. */
  private cut: string | undefined;

  constructor(
    readonly limits: RecordLimits,
    private readonly batch: TelemetryBatch,
  ) {}

  /**
   * `value`, or its first `limits[limit]` characters and a marker saying how many more there were. `where`,
   * `field` and `key` name the value for the warning (`where` may spell itself out only when asked).
   */
  text(value: string, limit: TextLimit, where: Where, field = '', key?: string): string {
    const max = this.limits[limit];
    if (value.length <= max) return value;
    // Never split a surrogate pair: the cut text stays valid UTF-16.
    const code = value.charCodeAt(max - 1);
    const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
    this.cut ??= `${name(where, field, key)} has ${value.length} characters, cut to ${max} (otlp.${limit})`;
    return `${value.slice(0, end)}…[truncated: ${value.length - end} more characters]`;
  }

  /** Whether an item may join `count` others (attributes of a map, items of an array, events of a span). */
  fits(count: number, limit: CountLimit, where: Where, field = '', key?: string): boolean {
    const max = this.limits[limit];
    if (count < max) return true;
    this.cut ??= `${name(where, field, key)} has more than ${max} ${limit === 'maxSpanEvents' ? 'events' : 'entries'}; the rest were dropped (otlp.${limit})`;
    return false;
  }

  /** Ends a record that joins the batch: counts it as cut when anything of it was. */
  kept(): void {
    if (this.cut === undefined) return;
    this.batch.truncated.records += 1;
    this.settle();
  }

  /** Ends what is shared by records (a resource, a scope): its cuts are reported but counted on no record. */
  shared(): void {
    if (this.cut !== undefined) this.settle();
  }

  /** Forgets the cuts of a record that was rejected. */
  dropped(): void {
    this.cut = undefined;
  }

  private settle(): void {
    this.batch.truncated.reason ??= this.cut ?? null;
    this.cut = undefined;
  }
}

/** A record's rejection: counted on the batch, the first reason kept for the response. */
export function reject(batch: TelemetryBatch, kind: 'logs' | 'spans' | 'points', reason: string): void {
  batch.rejected[kind] += 1;
  batch.rejected.reason ??= reason;
}

/** Sets an attribute; a key named `__proto__` becomes an attribute like any other, not the map's prototype. */
export function setAttribute(into: Attributes, key: string, value: AttributeValue): void {
  if (key === '__proto__') {
    Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  } else into[key] = value;
}
