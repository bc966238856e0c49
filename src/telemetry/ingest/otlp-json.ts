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

export function decodeJson(
  signal: Signal,
  request: unknown,
  identities: ResourceIdentities,
  into = emptyBatch(),
): TelemetryBatch {
  if (!isObject(request)) throw new OtlpJsonError('the request body must be a JSON object');
  const groups = request[groupKey[signal]] ?? [];
  if (!Array.isArray(groups)) throw new OtlpJsonError(`${groupKey[signal]} must be an array`);
  groups.forEach((group: unknown, groupIndex) => {
    const where = `${groupKey[signal]}[${groupIndex}]`;
    if (!isObject(group)) throw new OtlpJsonError(`${where} must be an object`);
    const resource = identities.identify(
      attributesOf(
        isObject(group.resource) ? group.resource.attributes : undefined,
        `${where}.resource.attributes`,
      ),
    );
    const scopes = group[scopeKey[signal]] ?? [];
    if (!Array.isArray(scopes)) throw new OtlpJsonError(`${where}.${scopeKey[signal]} must be an array`);
    scopes.forEach((scopeGroup: unknown, scopeIndex) => {
      const scopeWhere = `${where}.${scopeKey[signal]}[${scopeIndex}]`;
      if (!isObject(scopeGroup)) throw new OtlpJsonError(`${scopeWhere} must be an object`);
      const scope =
        isObject(scopeGroup.scope) && typeof scopeGroup.scope.name === 'string' ? scopeGroup.scope.name : '';
      if (signal === 'logs')
        readLogs(scopeGroup.logRecords, `${scopeWhere}.logRecords`, resource, scope, into);
      else if (signal === 'traces') readSpans(scopeGroup.spans, `${scopeWhere}.spans`, resource, scope, into);
      else readMetrics(scopeGroup.metrics, `${scopeWhere}.metrics`, resource, into);
    });
  });
  return into;
}

function readLogs(
  records: unknown,
  where: string,
  resource: ResourceIdentity,
  scope: string,
  batch: TelemetryBatch,
): void {
  for (const [index, record] of list(records, where).entries()) {
    const at = `${where}[${index}]`;
    const traceId = id(record.traceId, 32, `${at}.traceId`);
    const time =
      nanos(record.timeUnixNano, `${at}.timeUnixNano`) ||
      nanos(record.observedTimeUnixNano, `${at}.observedTimeUnixNano`);
    batch.logs.push({
      resource,
      timeUs: Math.round((time || Date.now() * 1e6) / 1000),
      severityNumber: severityNumber(record.severityNumber) || severityOfText(record.severityText),
      severityText: typeof record.severityText === 'string' ? record.severityText : '',
      body: textOf(anyValue(record.body, `${at}.body`)),
      traceId,
      spanId: id(record.spanId, 16, `${at}.spanId`),
      attributes: attributesOf(record.attributes, `${at}.attributes`),
      scope,
      eventName: typeof record.eventName === 'string' ? record.eventName : '',
    });
  }
}

function readSpans(
  spans: unknown,
  where: string,
  resource: ResourceIdentity,
  scope: string,
  batch: TelemetryBatch,
): void {
  for (const [index, span] of list(spans, where).entries()) {
    const at = `${where}[${index}]`;
    const traceId = id(span.traceId, 32, `${at}.traceId`);
    const spanId = id(span.spanId, 16, `${at}.spanId`);
    if (traceId === '' || spanId === '') {
      batch.rejected.spans += 1;
      batch.rejected.reason ??= `${at} has no traceId or spanId`;
      continue;
    }
    const startNs = BigInt(integerText(span.startTimeUnixNano, `${at}.startTimeUnixNano`));
    const endNs = BigInt(integerText(span.endTimeUnixNano, `${at}.endTimeUnixNano`));
    const durationNs = endNs > startNs ? Number(endNs - startNs) : 0;
    const status = isObject(span.status) ? span.status : {};
    const events = Array.isArray(span.events) ? span.events : [];
    batch.spans.push({
      resource,
      traceId,
      spanId,
      parentSpanId: id(span.parentSpanId, 16, `${at}.parentSpanId`),
      name: typeof span.name === 'string' ? span.name : '',
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
      statusMessage: typeof status.message === 'string' ? status.message : '',
      attributes: attributesOf(span.attributes, `${at}.attributes`),
      events: events.filter(isObject).map((event, eventIndex) => ({
        timeUs: Math.round(nanos(event.timeUnixNano, `${at}.events[${eventIndex}].timeUnixNano`) / 1000),
        name: typeof event.name === 'string' ? event.name : '',
        attributes: attributesOf(event.attributes, `${at}.events[${eventIndex}].attributes`),
      })),
      scope,
    });
  }
}

const metricKinds: [string, MetricType][] = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
];

function readMetrics(
  metrics: unknown,
  where: string,
  resource: ResourceIdentity,
  batch: TelemetryBatch,
): void {
  for (const [index, metric] of list(metrics, where).entries()) {
    const at = `${where}[${index}]`;
    const found = metricKinds.find(([key]) => isObject(metric[key]));
    if (found === undefined) continue;
    const [key, type] = found;
    const data = metric[key] as Json;
    const temporality = enumValue(data.aggregationTemporality, [
      'AGGREGATION_TEMPORALITY_UNSPECIFIED',
      'AGGREGATION_TEMPORALITY_DELTA',
      'AGGREGATION_TEMPORALITY_CUMULATIVE',
    ]);
    for (const [pointIndex, point] of list(data.dataPoints, `${at}.${key}.dataPoints`).entries()) {
      const pointAt = `${at}.${key}.dataPoints[${pointIndex}]`;
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
        name: typeof metric.name === 'string' ? metric.name : '',
        unit: typeof metric.unit === 'string' ? metric.unit : '',
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
        attributes: attributesOf(point.attributes, `${pointAt}.attributes`),
      });
    }
  }
}

function attributesOf(value: unknown, where: string): Attributes {
  const attributes: Attributes = {};
  if (value === undefined || value === null) return attributes;
  if (!Array.isArray(value)) throw new OtlpJsonError(`${where} must be an array of {key, value}`);
  for (const entry of value) {
    if (!isObject(entry) || typeof entry.key !== 'string')
      throw new OtlpJsonError(`${where} has an entry without a string key`);
    attributes[entry.key] = anyValue(entry.value, `${where}.${entry.key}`);
  }
  return attributes;
}

function anyValue(value: unknown, where: string): AttributeValue {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new OtlpJsonError(`${where} must be an AnyValue object`);
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (value.intValue !== undefined) return numberOf(value.intValue, where);
  if (value.doubleValue !== undefined) return numberOf(value.doubleValue, where);
  if (isObject(value.arrayValue)) {
    const items = value.arrayValue.values ?? [];
    return Array.isArray(items) ? items.map((item, index) => anyValue(item, `${where}[${index}]`)) : [];
  }
  if (isObject(value.kvlistValue)) return attributesOf(value.kvlistValue.values, where);
  if (typeof value.bytesValue === 'string') return value.bytesValue;
  return null;
}

function id(value: unknown, length: number, where: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) {
    throw new OtlpJsonError(`${where} must be ${length} hex characters`);
  }
  return value.toLowerCase();
}

function nanos(value: unknown, where: string): number {
  if (value === undefined || value === null) return 0;
  return Number(integerText(value, where));
}

function integerText(value: unknown, where: string): string {
  if (value === undefined || value === null) return '0';
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value).toString();
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  throw new OtlpJsonError(`${where} must be an integer (a number or a decimal string)`);
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
