// Decodes OTLP/JSON export requests (the protobuf JSON mapping with OTLP's rules: hex trace/span ids, integer
// enums, 64-bit integers as strings or numbers) into the telemetry model. Also used for file replay, where each
// line is one Export*ServiceRequest.
import {
  emptyBatch,
  type AttributeValue,
  type Attributes,
  type MetricType,
  type ResourceIdentity,
  type TelemetryBatch,
} from '../model.js';
import type { Signal } from './otlp-protobuf.js';
import { textOf } from './otlp-protobuf.js';
import type { ResourceIdentities } from './resource-identity.js';
import {
  defaultRecordLimits,
  maxTimeNanos,
  RecordLimiter,
  reject,
  setAttribute,
  timeRange,
  type RecordLimits,
} from './record-limits.js';
import { severityOfText } from './severity.js';

export class OtlpJsonError extends Error {}

type Json = Record<string, unknown>;

const groupKey: Record<Signal, string> = {
  logs: 'resourceLogs',
  traces: 'resourceSpans',
  metrics: 'resourceMetrics',
};
const scopeKey: Record<Signal, string> = { logs: 'scopeLogs', traces: 'scopeSpans', metrics: 'scopeMetrics' };

/** Which signal a request object carries, by its top-level key; undefined when none. */
export function signalOf(request: unknown): Signal | undefined {
  if (!isObject(request)) return undefined;
  if ('resourceSpans' in request) return 'traces';
  if ('resourceLogs' in request) return 'logs';
  if ('resourceMetrics' in request) return 'metrics';
  return undefined;
}

/**
 * Decodes one request into `into`. A record with a bad field is rejected alone (counted in `into.rejected`, the
 * first reason kept); a request whose structure is wrong throws OtlpJsonError.
 */
export function decodeJson(
  signal: Signal,
  request: unknown,
  identities: ResourceIdentities,
  into = emptyBatch(),
  limits: RecordLimits = defaultRecordLimits,
): TelemetryBatch {
  if (!isObject(request)) throw new OtlpJsonError('the request body must be a JSON object');
  const limiter = new RecordLimiter(limits, into);
  const groups = request[groupKey[signal]] ?? [];
  if (!Array.isArray(groups)) throw new OtlpJsonError(`${groupKey[signal]} must be an array`);
  groups.forEach((group: unknown, groupIndex) => {
    const where = `${groupKey[signal]}[${groupIndex}]`;
    if (!isObject(group)) throw new OtlpJsonError(`${where} must be an object`);
    const resource = identities.identify(
      attributesOf(
        limiter,
        isObject(group.resource) ? group.resource.attributes : undefined,
        `${where}.resource.attributes`,
      ),
    );
    limiter.shared();
    const scopes = group[scopeKey[signal]] ?? [];
    if (!Array.isArray(scopes)) throw new OtlpJsonError(`${where}.${scopeKey[signal]} must be an array`);
    scopes.forEach((scopeGroup: unknown, scopeIndex) => {
      const scopeWhere = `${where}.${scopeKey[signal]}[${scopeIndex}]`;
      if (!isObject(scopeGroup)) throw new OtlpJsonError(`${scopeWhere} must be an object`);
      const scope = limiter.text(
        isObject(scopeGroup.scope) && typeof scopeGroup.scope.name === 'string' ? scopeGroup.scope.name : '',
        'maxNameLength',
        `${scopeWhere}.scope.name`,
      );
      limiter.shared();
      const context: Context = { resource, scope, batch: into, limiter };
      if (signal === 'logs') readLogs(scopeGroup.logRecords, `${scopeWhere}.logRecords`, context);
      else if (signal === 'traces') readSpans(scopeGroup.spans, `${scopeWhere}.spans`, context);
      else readMetrics(scopeGroup.metrics, `${scopeWhere}.metrics`, context);
    });
  });
  return into;
}

/** What the records of one scope share. */
interface Context {
  readonly resource: ResourceIdentity;
  readonly scope: string;
  readonly batch: TelemetryBatch;
  readonly limiter: RecordLimiter;
}

/**
 * Reads each record of a list with `read`, which pushes it or throws OtlpJsonError for a bad field: then the
 * record is rejected alone. A list that is not an array fails the request.
 */
function eachRecord(
  records: unknown,
  where: string,
  kind: 'logs' | 'spans' | 'points',
  { batch, limiter }: Context,
  read: (record: Json, at: string) => void,
): void {
  if (records === undefined || records === null) return;
  if (!Array.isArray(records)) throw new OtlpJsonError(`${where} must be an array`);
  records.forEach((record: unknown, index) => {
    const at = `${where}[${index}]`;
    try {
      if (!isObject(record)) throw new OtlpJsonError(`${at} must be an object`);
      read(record, at);
      limiter.kept();
    } catch (error) {
      if (!(error instanceof OtlpJsonError)) throw error;
      limiter.dropped();
      reject(batch, kind, error.message);
    }
  });
}

function readLogs(records: unknown, where: string, context: Context): void {
  const { resource, scope, batch, limiter } = context;
  eachRecord(records, where, 'logs', context, (record, at) => {
    const time = nanos(record.timeUnixNano, `${at}.timeUnixNano`);
    const observed = nanos(record.observedTimeUnixNano, `${at}.observedTimeUnixNano`);
    const severityText = typeof record.severityText === 'string' ? record.severityText : '';
    const body = anyValue(limiter, record.body, `${at}.body`, 'maxLogBodyLength');
    batch.logs.push({
      resource,
      timeUs: Math.round((time || observed || Date.now() * 1e6) / 1000),
      severityNumber: severityNumber(record.severityNumber) || severityOfText(severityText),
      severityText: limiter.text(severityText, 'maxNameLength', `${at}.severityText`),
      body: typeof body === 'string' ? body : limiter.text(textOf(body), 'maxLogBodyLength', `${at}.body`),
      traceId: id(record.traceId, 32, `${at}.traceId`),
      spanId: id(record.spanId, 16, `${at}.spanId`),
      attributes: attributesOf(limiter, record.attributes, `${at}.attributes`),
      scope,
      eventName: limiter.text(
        typeof record.eventName === 'string' ? record.eventName : '',
        'maxNameLength',
        `${at}.eventName`,
      ),
    });
  });
}

function readSpans(spans: unknown, where: string, context: Context): void {
  const { resource, scope, batch, limiter } = context;
  eachRecord(spans, where, 'spans', context, (span, at) => {
    const traceId = id(span.traceId, 32, `${at}.traceId`);
    const spanId = id(span.spanId, 16, `${at}.spanId`);
    if (traceId === '' || spanId === '') throw new OtlpJsonError(`${at} has no traceId or spanId`);
    const startNs = nanos(span.startTimeUnixNano, `${at}.startTimeUnixNano`, true);
    const endNs = nanos(span.endTimeUnixNano, `${at}.endTimeUnixNano`, true);
    const durationNs = endNs > startNs ? Number(endNs - startNs) : 0;
    const status = isObject(span.status) ? span.status : {};
    const events = Array.isArray(span.events) ? span.events.filter(isObject) : [];
    const kept = events.filter((_, index) => limiter.fits(index, 'maxSpanEvents', `${at}.events`));
    batch.spans.push({
      resource,
      traceId,
      spanId,
      parentSpanId: id(span.parentSpanId, 16, `${at}.parentSpanId`),
      name: limiter.text(typeof span.name === 'string' ? span.name : '', 'maxNameLength', `${at}.name`),
      kind: enumValue(span.kind, [
        'SPAN_KIND_UNSPECIFIED',
        'SPAN_KIND_INTERNAL',
        'SPAN_KIND_SERVER',
        'SPAN_KIND_CLIENT',
        'SPAN_KIND_PRODUCER',
        'SPAN_KIND_CONSUMER',
      ]),
      startUs: Number(startNs / 1000n),
      endUs: Number(startNs / 1000n) + Math.round(durationNs / 1000),
      durationUs: durationNs / 1000,
      statusCode: enumValue(status.code, ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR']),
      statusMessage: limiter.text(
        typeof status.message === 'string' ? status.message : '',
        'maxNameLength',
        `${at}.status.message`,
      ),
      attributes: attributesOf(limiter, span.attributes, `${at}.attributes`),
      events: kept.map((event, eventIndex) => {
        const eventAt = `${at}.events[${eventIndex}]`;
        return {
          timeUs: Math.round(nanos(event.timeUnixNano, `${eventAt}.timeUnixNano`) / 1000),
          name: limiter.text(
            typeof event.name === 'string' ? event.name : '',
            'maxNameLength',
            `${eventAt}.name`,
          ),
          attributes: attributesOf(limiter, event.attributes, `${eventAt}.attributes`),
        };
      }),
      scope,
    });
  });
}

const metricKinds: [string, MetricType][] = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
];

function readMetrics(metrics: unknown, where: string, context: Context): void {
  const { resource, batch, limiter } = context;
  for (const [index, metric] of list(metrics, where).entries()) {
    const at = `${where}[${index}]`;
    const found = metricKinds.find(([key]) => isObject(metric[key]));
    if (found === undefined) continue;
    const [key, type] = found;
    const data = metric[key] as Json;
    const name = limiter.text(
      typeof metric.name === 'string' ? metric.name : '',
      'maxNameLength',
      `${at}.name`,
    );
    const unit = limiter.text(
      typeof metric.unit === 'string' ? metric.unit : '',
      'maxNameLength',
      `${at}.unit`,
    );
    limiter.shared();
    const temporality = enumValue(data.aggregationTemporality, [
      'AGGREGATION_TEMPORALITY_UNSPECIFIED',
      'AGGREGATION_TEMPORALITY_DELTA',
      'AGGREGATION_TEMPORALITY_CUMULATIVE',
    ]);
    eachRecord(data.dataPoints, `${at}.${key}.dataPoints`, 'points', context, (point, pointAt) => {
      const quantiles = Array.isArray(point.quantileValues) ? point.quantileValues.filter(isObject) : [];
      const value =
        type === 'gauge' || type === 'sum'
          ? point.asDouble !== undefined
            ? numberOf(point.asDouble, `${pointAt}.asDouble`)
            : numberOf(point.asInt ?? Number.NaN, `${pointAt}.asInt`)
          : point.sum === undefined
            ? Number.NaN
            : numberOf(point.sum, `${pointAt}.sum`);
      batch.points.push({
        resource,
        name,
        unit,
        type,
        temporality,
        monotonic: data.isMonotonic === true,
        timeUs: Math.round((nanos(point.timeUnixNano, `${pointAt}.timeUnixNano`) || Date.now() * 1e6) / 1000),
        startUs: Math.round(nanos(point.startTimeUnixNano, `${pointAt}.startTimeUnixNano`) / 1000),
        value,
        count: point.count === undefined ? 0 : numberOf(point.count, `${pointAt}.count`),
        min: point.min === undefined ? Number.NaN : numberOf(point.min, `${pointAt}.min`),
        max: point.max === undefined ? Number.NaN : numberOf(point.max, `${pointAt}.max`),
        bounds:
          type === 'summary'
            ? quantiles.map((quantile) => numberOf(quantile.quantile ?? 0, `${pointAt}.quantileValues`))
            : numbers(point.explicitBounds, `${pointAt}.explicitBounds`),
        bucketCounts:
          type === 'summary'
            ? quantiles.map((quantile) => numberOf(quantile.value ?? 0, `${pointAt}.quantileValues`))
            : numbers(point.bucketCounts, `${pointAt}.bucketCounts`),
        attributes: attributesOf(limiter, point.attributes, `${pointAt}.attributes`),
      });
    });
  }
}

function attributesOf(limiter: RecordLimiter, value: unknown, where: string): Attributes {
  const attributes: Attributes = {};
  if (value === undefined || value === null) return attributes;
  if (!Array.isArray(value)) throw new OtlpJsonError(`${where} must be an array of {key, value}`);
  let count = 0;
  for (const entry of value) {
    if (!isObject(entry) || typeof entry.key !== 'string')
      throw new OtlpJsonError(`${where} has an entry without a string key`);
    const known = Object.hasOwn(attributes, entry.key);
    if (!known && !limiter.fits(count, 'maxAttributes', where)) continue;
    if (!known) count += 1;
    setAttribute(attributes, entry.key, anyValue(limiter, entry.value, `${where}.${entry.key}`));
  }
  return attributes;
}

/** An AnyValue; a string at the top is cut to `stringLimit` (log bodies have their own), deeper ones to attributes'. */
function anyValue(
  limiter: RecordLimiter,
  value: unknown,
  where: string,
  stringLimit: 'maxAttributeValueLength' | 'maxLogBodyLength' = 'maxAttributeValueLength',
): AttributeValue {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new OtlpJsonError(`${where} must be an AnyValue object`);
  if (typeof value.stringValue === 'string') return limiter.text(value.stringValue, stringLimit, where);
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.intValue !== undefined) return numberOf(value.intValue, where);
  if (value.doubleValue !== undefined) return numberOf(value.doubleValue, where);
  if (isObject(value.arrayValue)) {
    const items = value.arrayValue.values ?? [];
    if (!Array.isArray(items)) return [];
    return items
      .filter((_, index) => limiter.fits(index, 'maxAttributes', where))
      .map((item, index) => anyValue(limiter, item, `${where}[${index}]`));
  }
  if (isObject(value.kvlistValue)) return attributesOf(limiter, value.kvlistValue.values, where);
  if (typeof value.bytesValue === 'string') return limiter.text(value.bytesValue, stringLimit, where);
  return null;
}

function id(value: unknown, length: number, where: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) {
    throw new OtlpJsonError(`${where} must be ${length} hex characters`);
  }
  return value.toLowerCase();
}

/** A time in nanoseconds (0: unknown); outside 0 … maxTimeNanos it rejects the record. */
function nanos(value: unknown, where: string): number;
function nanos(value: unknown, where: string, exact: true): bigint;
function nanos(value: unknown, where: string, exact = false): number | bigint {
  if (value === undefined || value === null) return exact ? 0n : 0;
  let time: bigint;
  if (typeof value === 'number' && Number.isFinite(value)) time = BigInt(Math.trunc(value));
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) time = BigInt(value);
  else throw new OtlpJsonError(`${where} must be an integer (a number or a decimal string)`);
  if (time < 0n || time > maxTimeNanos) throw new OtlpJsonError(`${where} is ${timeRange}`);
  return exact ? time : Number(time);
}

function numberOf(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (['NaN', 'Infinity', '-Infinity'].includes(value)) return Number(value);
    const parsed = Number(value);
    if (value.trim() !== '' && !Number.isNaN(parsed)) return parsed;
  }
  throw new OtlpJsonError(`${where} must be a number`);
}

function numbers(value: unknown, where: string): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpJsonError(`${where} must be an array`);
  return value.map((item) => numberOf(item, where));
}

function enumValue(value: unknown, names: readonly string[]): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < names.length)
    return value;
  if (typeof value === 'string') {
    const index = names.indexOf(value);
    if (index >= 0) return index;
  }
  return 0;
}

function severityNumber(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 24) return value;
  if (typeof value === 'string') {
    const match = /^SEVERITY_NUMBER_(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)(\d)?$/.exec(value);
    if (match !== null) {
      const base = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 }[match[1] as 'TRACE'];
      return base + (match[2] === undefined ? 0 : Number(match[2]) - 1);
    }
  }
  return 0;
}

function list(value: unknown, where: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpJsonError(`${where} must be an array`);
  return value.map((item, index) => {
    if (!isObject(item)) throw new OtlpJsonError(`${where}[${index}] must be an object`);
    return item;
  });
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
