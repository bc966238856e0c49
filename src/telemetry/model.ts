// The telemetry model every ingest path produces (OTLP protobuf, OTLP JSON, file replay, the local runtime)
// and every store consumes: records attached to the resource that emitted them.

export type AttributeValue =
  string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

/** Who emitted the telemetry, in platform terms. Derived from OTLP resource attributes. */
export interface ResourceIdentity {
  /** Stable across batches for the same attributes: the store keys its resource dimension on it. */
  readonly fingerprint: string;
  readonly service: string;
  readonly namespace: string;
  readonly project: string;
  readonly component: string;
  readonly environment: string;
  /** The replica (service.instance.id), when known. */
  readonly instance: string;
  readonly attributes: Attributes;
}

/** OTLP SeverityNumber ranges (logs data model): TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24. */
export const severity = {
  unspecified: 0,
  trace: 1,
  debug: 5,
  info: 9,
  warn: 13,
  error: 17,
  fatal: 21,
} as const;
export type SeverityName = Exclude<keyof typeof severity, 'unspecified'>;

export function severityName(number: number): string {
  if (number >= severity.fatal) return 'FATAL';
  if (number >= severity.error) return 'ERROR';
  if (number >= severity.warn) return 'WARN';
  if (number >= severity.info) return 'INFO';
  if (number >= severity.debug) return 'DEBUG';
  if (number >= severity.trace) return 'TRACE';
  return 'UNSPECIFIED';
}

export interface LogEntry {
  readonly resource: ResourceIdentity;
  /** Microseconds since the Unix epoch. */
  readonly timeUs: number;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: string;
  /** Lower-case hex, '' when absent. */
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
  readonly scope: string;
  readonly eventName: string;
}

export const spanKinds = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
export const statusCodes = ['UNSET', 'OK', 'ERROR'] as const;

export interface SpanEvent {
  readonly timeUs: number;
  readonly name: string;
  readonly attributes: Attributes;
}

export interface SpanEntry {
  readonly resource: ResourceIdentity;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** Index into spanKinds. */
  readonly kind: number;
  readonly startUs: number;
  readonly endUs: number;
  /** Exact to the nanosecond difference the client sent, in microseconds. */
  readonly durationUs: number;
  /** Index into statusCodes. */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly attributes: Attributes;
  readonly events: readonly SpanEvent[];
  readonly scope: string;
}

export const metricTypes = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'] as const;
export type MetricType = (typeof metricTypes)[number];

/** One data point of one metric. Histograms keep their buckets; summaries their quantiles. */
export interface MetricPointEntry {
  readonly resource: ResourceIdentity;
  readonly name: string;
  readonly unit: string;
  readonly type: MetricType;
  /** 1 delta, 2 cumulative, 0 for gauges and summaries. */
  readonly temporality: number;
  readonly monotonic: boolean;
  readonly timeUs: number;
  readonly startUs: number;
  /** Gauge/sum value; for histograms and summaries the sum (NaN when absent). */
  readonly value: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** Histogram explicit bounds and counts; summary quantiles as [quantile, value] pairs. */
  readonly bounds: readonly number[];
  readonly bucketCounts: readonly number[];
  readonly attributes: Attributes;
}

export interface TelemetryBatch {
  readonly logs: LogEntry[];
  readonly spans: SpanEntry[];
  readonly points: MetricPointEntry[];
  /** Records the decoder dropped, with the first reason: reported to OTLP clients as partial success. */
  readonly rejected: { logs: number; spans: number; points: number; reason: string | null };
  /** Records kept with values cut to the receiver's limits, with the first cut: a partial-success warning. */
  readonly truncated: { records: number; reason: string | null };
}

export function emptyBatch(): TelemetryBatch {
  return {
    logs: [],
    spans: [],
    points: [],
    rejected: { logs: 0, spans: 0, points: 0, reason: null },
    truncated: { records: 0, reason: null },
  };
}

export function batchSize(batch: TelemetryBatch): number {
  return batch.logs.length + batch.spans.length + batch.points.length;
}
