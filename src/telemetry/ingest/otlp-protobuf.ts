// Decodes OTLP/protobuf export requests (opentelemetry-proto: collector/{logs,trace,metrics}/v1) straight into
// the telemetry model. Field numbers follow the OTLP .proto definitions; unknown fields are skipped.
import {
  emptyBatch,
  type AttributeValue,
  type Attributes,
  type MetricType,
  type ResourceIdentity,
  type SpanEvent,
  type TelemetryBatch,
} from '../model.js';
import { ProtoReader, readRepeated, wireType } from './proto-reader.js';
import {
  defaultRecordLimits,
  RecordLimiter,
  reject,
  setAttribute,
  timeRange,
  type RecordLimits,
} from './record-limits.js';
import type { ResourceIdentities } from './resource-identity.js';
import { severityOfText } from './severity.js';

export type Signal = 'logs' | 'traces' | 'metrics';

/** Field names of the request's levels, for messages that say where a rejected record was. */
const levels: Record<Signal, [string, string, string]> = {
  logs: ['resource_logs', 'scope_logs', 'log_records'],
  traces: ['resource_spans', 'scope_spans', 'spans'],
  metrics: ['resource_metrics', 'scope_metrics', 'metrics'],
};

/**
 * Where the decoder is, as indexes (-1: not inside one); the path is spelled out only for a message, so that
 * records that pass their limits cost no strings.
 */
class Position {
  group = -1;
  scope = -1;
  item = -1;
  /** The event of a span, the data point of a metric. */
  child = -1;

  constructor(private readonly signal: Signal) {}

  get path(): string {
    const [group, scope, item] = levels[this.signal];
    let path = `${group}[${this.group}]`;
    if (this.scope >= 0) path += `.${scope}[${this.scope}]`;
    if (this.item >= 0) path += `.${item}[${this.item}]`;
    if (this.child >= 0) path += `.${this.signal === 'traces' ? 'events' : 'data_points'}[${this.child}]`;
    return path;
  }
}

/**
 * Decodes one request. A record with a bad field is rejected alone (counted in the batch's `rejected`, the first
 * reason kept); bytes that are not protobuf throw ProtoError.
 */
export function decodeProtobuf(
  signal: Signal,
  buffer: Buffer,
  identities: ResourceIdentities,
  limits: RecordLimits = defaultRecordLimits,
): TelemetryBatch {
  const batch = emptyBatch();
  const limiter = new RecordLimiter(limits, batch);
  const reader = new ProtoReader(buffer);
  const at = new Position(signal);
  while (!reader.done) {
    const [field, type] = reader.tag();
    // ExportLogsServiceRequest.resource_logs = 1, ExportTraceServiceRequest.resource_spans = 1,
    // ExportMetricsServiceRequest.resource_metrics = 1.
    if (field === 1 && type === wireType.lengthDelimited) {
      const end = reader.delimited();
      at.group += 1;
      readResourceGroup(
        { reader, signal, batch, limiter, at, body: { limiter, at, field: '.body' } },
        end,
        identities,
      );
      reader.position = end;
    } else {
      reader.skip(type);
    }
  }
  return batch;
}

/** What every read of one request needs. */
interface Decoding {
  readonly reader: ProtoReader;
  readonly signal: Signal;
  readonly batch: TelemetryBatch;
  readonly limiter: RecordLimiter;
  readonly at: Position;
  /** What a log body's cuts are reported at. */
  readonly body: ValueOwner;
}

/** What holds a value being read, to name it in a warning: `at`, then `field`. */
interface ValueOwner {
  readonly limiter: RecordLimiter;
  readonly at: Position;
  readonly field: string;
}

/** What the records of one scope share. */
interface Scope {
  readonly resource: ResourceIdentity;
  readonly name: string;
}

function readResourceGroup(decoding: Decoding, end: number, identities: ResourceIdentities): void {
  const { reader, limiter, at } = decoding;
  // Resource = 1 comes first in practice, but the wire allows any order: collect scope groups, then read them.
  let attributes: Attributes = {};
  const scopes = headerAndChildren(reader, end, (resourceEnd) => {
    attributes = readResource(reader, resourceEnd, limiter, at);
  });
  const resource = identities.identify(attributes);
  limiter.shared();
  scopes.forEach(([start, scopeEnd], scopeIndex) => {
    reader.position = start;
    at.scope = scopeIndex;
    readScope(decoding, scopeEnd, resource);
  });
  at.scope = -1;
  reader.position = end;
}

/**
 * The message shape shared by ResourceX and ScopeX: a header at field 1 (read by `readHeader`) and repeated
 * children at field 2, whose ranges are returned to be read once the header is known (it may come last).
 */
function headerAndChildren(
  reader: ProtoReader,
  end: number,
  readHeader: (headerEnd: number) => void,
): [number, number][] {
  const children: [number, number][] = [];
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) {
      const headerEnd = reader.delimited();
      readHeader(headerEnd);
      reader.position = headerEnd;
    } else if (field === 2 && type === wireType.lengthDelimited) {
      const childEnd = reader.delimited();
      children.push([reader.position, childEnd]);
      reader.position = childEnd;
    } else {
      reader.skip(type);
    }
  }
  return children;
}

function readResource(reader: ProtoReader, end: number, limiter: RecordLimiter, at: Position): Attributes {
  const attributes = new AttributeMap(limiter, at, '.resource.attributes');
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) readKeyValue(reader, attributes);
    else reader.skip(type);
  }
  return attributes.values;
}

/** InstrumentationScope: name = 1. */
function readScopeName(reader: ProtoReader, end: number, limiter: RecordLimiter, at: Position): string {
  let name = '';
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) name = reader.string();
    else reader.skip(type);
  }
  return limiter.text(name, 'maxNameLength', at, '.scope.name');
}

/** Attributes being read, held to otlp.maxAttributes; `field` says where they are, after `at`. */
class AttributeMap {
  readonly values: Attributes = {};
  private count = 0;

  constructor(
    readonly limiter: RecordLimiter,
    readonly at: Position,
    readonly field: string,
  ) {}

  add(key: string, value: AttributeValue): void {
    // Keys are unique in valid OTLP: a repeated one overwrites, and only once the map is full is that checked.
    if (this.count < this.limiter.limits.maxAttributes) this.count += 1;
    else if (!Object.hasOwn(this.values, key)) {
      this.limiter.fits(this.count, 'maxAttributes', this.at, this.field);
      return;
    }
    setAttribute(this.values, key, value);
  }
}

/** KeyValue: key = 1, value = 2 (AnyValue). */
function readKeyValue(reader: ProtoReader, into: AttributeMap): void {
  const end = reader.delimited();
  let key = '';
  let value: AttributeValue = null;
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) key = reader.string();
    else if (field === 2 && type === wireType.lengthDelimited)
      value = readAnyValue(reader, reader.delimited(), into, key);
    else reader.skip(type);
  }
  reader.position = end;
  into.add(key, value);
}

/**
 * AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7, the value of `key` in `owner` (a map,
 * or a log body when `key` is undefined). A string at the top is cut to `stringLimit` (log bodies have their
 * own), deeper ones to attributes'. Cuts inside arrays and maps are reported at the attribute that holds them.
 */
function readAnyValue(
  reader: ProtoReader,
  end: number,
  owner: ValueOwner,
  key: string | undefined,
  stringLimit: 'maxAttributeValueLength' | 'maxLogBodyLength' = 'maxAttributeValueLength',
): AttributeValue {
  const { limiter, at, field: path } = owner;
  let value: AttributeValue = null;
  while (reader.position < end) {
    const [field, type] = reader.tag();
    switch (field) {
      case 1:
        value = limiter.text(reader.string(), stringLimit, at, path, key);
        break;
      case 2:
        value = reader.bool();
        break;
      case 3:
        value = reader.int64();
        break;
      case 4:
        value = reader.double();
        break;
      case 5: {
        const arrayEnd = reader.delimited();
        const items: AttributeValue[] = [];
        while (reader.position < arrayEnd) {
          const [itemField, itemType] = reader.tag();
          if (itemField !== 1 || itemType !== wireType.lengthDelimited) reader.skip(itemType);
          else if (limiter.fits(items.length, 'maxAttributes', at, path, key)) {
            items.push(readAnyValue(reader, reader.delimited(), owner, key));
          } else reader.skip(itemType);
        }
        value = items;
        break;
      }
      case 6: {
        const listEnd = reader.delimited();
        const object = new AttributeMap(limiter, at, key === undefined ? path : `${path}.${key}`);
        while (reader.position < listEnd) {
          const [itemField, itemType] = reader.tag();
          if (itemField === 1 && itemType === wireType.lengthDelimited) readKeyValue(reader, object);
          else reader.skip(itemType);
        }
        value = object.values;
        break;
      }
      case 7:
        value = limiter.text(reader.bytes().toString('base64'), stringLimit, at, path, key);
        break;
      default:
        reader.skip(type);
    }
  }
  reader.position = end;
  return value;
}

/**
 * ScopeLogs / ScopeSpans / ScopeMetrics: scope = 1, records = 2. The scope may come after its records, so the
 * records are read once the scope name is known.
 */
function readScope(decoding: Decoding, end: number, resource: ResourceIdentity): void {
  const { reader, signal, limiter, at } = decoding;
  let name = '';
  const items = headerAndChildren(reader, end, (scopeEnd) => {
    name = readScopeName(reader, scopeEnd, limiter, at);
  });
  limiter.shared();
  const scope: Scope = { resource, name };
  items.forEach(([start, itemEnd], index) => {
    reader.position = start;
    at.item = index;
    if (signal === 'logs') readLogRecord(decoding, itemEnd, scope);
    else if (signal === 'traces') readSpan(decoding, itemEnd, scope);
    else readMetric(decoding, itemEnd, resource);
  });
  at.item = -1;
  reader.position = end;
}

/** Rejects the record being read: counted, its cuts forgotten. */
function refuse(decoding: Decoding, kind: 'logs' | 'spans' | 'points', reason: string): void {
  decoding.limiter.dropped();
  reject(decoding.batch, kind, `${decoding.at.path}${reason}`);
}

function readLogRecord(decoding: Decoding, end: number, scope: Scope): void {
  const { reader, limiter, at } = decoding;
  let time: number | undefined = 0;
  let observed: number | undefined = 0;
  let severityNumber = 0;
  let severityText = '';
  let body: AttributeValue = '';
  let traceId = '';
  let spanId = '';
  let eventName = '';
  const attributes = new AttributeMap(limiter, at, '.attributes');
  while (reader.position < end) {
    const [field, type] = reader.tag();
    switch (field) {
      case 1:
        time = reader.time();
        break;
      case 11:
        observed = reader.time();
        break;
      case 2:
        severityNumber = reader.uint32();
        break;
      case 3:
        severityText = limiter.text(reader.string(), 'maxNameLength', at, '.severity_text');
        break;
      case 5:
        body = readAnyValue(reader, reader.delimited(), decoding.body, undefined, 'maxLogBodyLength');
        break;
      case 6:
        readKeyValue(reader, attributes);
        break;
      case 9:
        traceId = reader.hex();
        break;
      case 10:
        spanId = reader.hex();
        break;
      case 12:
        eventName = limiter.text(reader.string(), 'maxNameLength', at, '.event_name');
        break;
      default:
        reader.skip(type);
    }
  }
  reader.position = end;
  if (time === undefined || observed === undefined) {
    refuse(
      decoding,
      'logs',
      `.${time === undefined ? 'time_unix_nano' : 'observed_time_unix_nano'} is ${timeRange}`,
    );
    return;
  }
  if (traceId !== '' && traceId.length !== 32) {
    refuse(decoding, 'logs', `.trace_id has ${traceId.length / 2} bytes (expected 16)`);
    return;
  }
  if (spanId !== '' && spanId.length !== 16) {
    refuse(decoding, 'logs', `.span_id has ${spanId.length / 2} bytes (expected 8)`);
    return;
  }
  decoding.batch.logs.push({
    resource: scope.resource,
    // time_unix_nano may be 0 ("unknown"): the observed time is the next best, then now.
    timeUs: Math.round((time || observed || Date.now() * 1e6) / 1000),
    severityNumber: (severityNumber > 24 ? 0 : severityNumber) || severityOfText(severityText),
    severityText,
    body: typeof body === 'string' ? body : limiter.text(textOf(body), 'maxLogBodyLength', at, '.body'),
    traceId,
    spanId,
    attributes: attributes.values,
    scope: scope.name,
    eventName,
  });
  limiter.kept();
}

function readSpan(decoding: Decoding, end: number, scope: Scope): void {
  const { reader, limiter, at } = decoding;
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let start: [number, number] = [0, 0];
  let finish: [number, number] = [0, 0];
  let statusCode = 0;
  let statusMessage = '';
  let badEventTime = false;
  const attributes = new AttributeMap(limiter, at, '.attributes');
  const events: SpanEvent[] = [];
  while (reader.position < end) {
    const [field, type] = reader.tag();
    switch (field) {
      case 1:
        traceId = reader.hex();
        break;
      case 2:
        spanId = reader.hex();
        break;
      case 4:
        parentSpanId = reader.hex();
        break;
      case 5:
        name = limiter.text(reader.string(), 'maxNameLength', at, '.name');
        break;
      case 6:
        kind = reader.uint32();
        break;
      case 7:
        start = reader.fixed64Parts();
        break;
      case 8:
        finish = reader.fixed64Parts();
        break;
      case 9:
        readKeyValue(reader, attributes);
        break;
      case 11: {
        const eventEnd = reader.delimited();
        if (limiter.fits(events.length, 'maxSpanEvents', at, '.events')) {
          at.child = events.length;
          const event = readSpanEvent(reader, eventEnd, limiter, at);
          at.child = -1;
          if (event === undefined) badEventTime = true;
          else events.push(event);
        }
        reader.position = eventEnd;
        break;
      }
      case 15: {
        const statusEnd = reader.delimited();
        while (reader.position < statusEnd) {
          const [statusField, statusType] = reader.tag();
          if (statusField === 2 && statusType === wireType.lengthDelimited)
            statusMessage = limiter.text(reader.string(), 'maxNameLength', at, '.status.message');
          else if (statusField === 3 && statusType === wireType.varint) statusCode = reader.uint32();
          else reader.skip(statusType);
        }
        break;
      }
      default:
        reader.skip(type);
    }
  }
  reader.position = end;
  const startNs = timeOf(start);
  const finishNs = timeOf(finish);
  const problem =
    traceId.length !== 32
      ? `.trace_id has ${traceId.length / 2} bytes (expected 16)`
      : spanId.length !== 16
        ? `.span_id has ${spanId.length / 2} bytes (expected 8)`
        : parentSpanId !== '' && parentSpanId.length !== 16
          ? `.parent_span_id has ${parentSpanId.length / 2} bytes (expected 8, or none for a root span)`
          : badEventTime
            ? `.events: an event's time_unix_nano is ${timeRange}`
            : undefined;
  if (problem !== undefined || startNs === undefined || finishNs === undefined) {
    const time = startNs === undefined ? 'start_time_unix_nano' : 'end_time_unix_nano';
    refuse(decoding, 'spans', problem ?? `.${time} is ${timeRange}`);
    return;
  }
  const durationNs = (finish[0] - start[0]) * 4294967296 + (finish[1] - start[1]);
  decoding.batch.spans.push({
    resource: scope.resource,
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: kind > 5 ? 0 : kind,
    startUs: Math.round(startNs / 1000),
    endUs: Math.round((startNs + Math.max(0, durationNs)) / 1000),
    durationUs: Math.max(0, durationNs) / 1000,
    statusCode: statusCode > 2 ? 0 : statusCode,
    statusMessage,
    attributes: attributes.values,
    events,
    scope: scope.name,
  });
  limiter.kept();
}

/** A span's [high, low] fixed64 time in nanoseconds, or undefined past maxTimeNanos (the high bit set). */
function timeOf([high, low]: [number, number]): number | undefined {
  return high >= 0x80000000 ? undefined : high * 4294967296 + low;
}

/** Span.Event: time_unix_nano = 1, name = 2, attributes = 3; undefined when its time is out of range. */
function readSpanEvent(
  reader: ProtoReader,
  end: number,
  limiter: RecordLimiter,
  at: Position,
): SpanEvent | undefined {
  let time: number | undefined = 0;
  let name = '';
  const attributes = new AttributeMap(limiter, at, '.attributes');
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.fixed64) time = reader.time();
    else if (field === 2 && type === wireType.lengthDelimited)
      name = limiter.text(reader.string(), 'maxNameLength', at, '.name');
    else if (field === 3 && type === wireType.lengthDelimited) readKeyValue(reader, attributes);
    else reader.skip(type);
  }
  return time === undefined
    ? undefined
    : { timeUs: Math.round(time / 1000), name, attributes: attributes.values };
}

interface MetricHeader {
  name: string;
  unit: string;
  type: MetricType;
  temporality: number;
  monotonic: boolean;
}

/** Metric: name 1, unit 3; gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11. */
function readMetric(decoding: Decoding, end: number, resource: ResourceIdentity): void {
  const { reader, limiter, at } = decoding;
  const header: MetricHeader = { name: '', unit: '', type: 'gauge', temporality: 0, monotonic: false };
  let data: [number, number] | undefined;
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited)
      header.name = limiter.text(reader.string(), 'maxNameLength', at, '.name');
    else if (field === 3 && type === wireType.lengthDelimited)
      header.unit = limiter.text(reader.string(), 'maxNameLength', at, '.unit');
    else if ([5, 7, 9, 10, 11].includes(field) && type === wireType.lengthDelimited) {
      const dataEnd = reader.delimited();
      header.type =
        field === 5
          ? 'gauge'
          : field === 7
            ? 'sum'
            : field === 9
              ? 'histogram'
              : field === 10
                ? 'exponential_histogram'
                : 'summary';
      data = [reader.position, dataEnd];
      reader.position = dataEnd;
    } else reader.skip(type);
  }
  limiter.shared();
  if (data === undefined) return;
  // The data message: data_points = 1, aggregation_temporality = 2, is_monotonic = 3 (sum only).
  const points: [number, number][] = [];
  reader.position = data[0];
  while (reader.position < data[1]) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) {
      const pointEnd = reader.delimited();
      points.push([reader.position, pointEnd]);
      reader.position = pointEnd;
    } else if (field === 2 && type === wireType.varint) header.temporality = reader.uint32();
    else if (field === 3 && type === wireType.varint) header.monotonic = reader.bool();
    else reader.skip(type);
  }
  points.forEach(([start, pointEnd], index) => {
    reader.position = start;
    at.child = index;
    readDataPoint(decoding, pointEnd, header, resource);
  });
  at.child = -1;
  reader.position = end;
}

function readDataPoint(
  decoding: Decoding,
  end: number,
  header: MetricHeader,
  resource: ResourceIdentity,
): void {
  const { reader, limiter, at } = decoding;
  const attributes = new AttributeMap(limiter, at, '.attributes');
  let time: number | undefined = 0;
  let start: number | undefined = 0;
  let value = Number.NaN;
  let count = 0;
  let min = Number.NaN;
  let max = Number.NaN;
  const bounds: number[] = [];
  const bucketCounts: number[] = [];
  const { type } = header;
  // Attributes are field 7 on number and summary points, 9 on histogram points, 1 on exponential ones.
  const attributesField = type === 'histogram' ? 9 : type === 'exponential_histogram' ? 1 : 7;
  while (reader.position < end) {
    const [field, wire] = reader.tag();
    if (field === attributesField && wire === wireType.lengthDelimited) {
      readKeyValue(reader, attributes);
      continue;
    }
    if (field === 2 && wire === wireType.fixed64) {
      start = reader.time();
      continue;
    }
    if (field === 3 && wire === wireType.fixed64) {
      time = reader.time();
      continue;
    }
    if (type === 'gauge' || type === 'sum') {
      if (field === 4 && wire === wireType.fixed64) value = reader.double();
      else if (field === 6 && wire === wireType.fixed64) value = reader.sfixed64();
      else reader.skip(wire);
    } else if (type === 'histogram') {
      if (field === 4 && wire === wireType.fixed64) count = reader.fixed64();
      else if (field === 5 && wire === wireType.fixed64) value = reader.double();
      else if (field === 6) readRepeated(reader, wire, () => reader.fixed64(), bucketCounts);
      else if (field === 7) readRepeated(reader, wire, () => reader.double(), bounds);
      else if (field === 11 && wire === wireType.fixed64) min = reader.double();
      else if (field === 12 && wire === wireType.fixed64) max = reader.double();
      else reader.skip(wire);
    } else if (type === 'exponential_histogram') {
      // Kept as count/sum/min/max; bucket layout is not needed by the queries opspilot answers.
      if (field === 4 && wire === wireType.fixed64) count = reader.fixed64();
      else if (field === 5 && wire === wireType.fixed64) value = reader.double();
      else if (field === 12 && wire === wireType.fixed64) min = reader.double();
      else if (field === 13 && wire === wireType.fixed64) max = reader.double();
      else reader.skip(wire);
    } else {
      // summary: count 4, sum 5, quantile_values 6 { quantile 1, value 2 }
      if (field === 4 && wire === wireType.fixed64) count = reader.fixed64();
      else if (field === 5 && wire === wireType.fixed64) value = reader.double();
      else if (field === 6 && wire === wireType.lengthDelimited) {
        const quantileEnd = reader.delimited();
        let quantile = 0;
        let quantileValue = 0;
        while (reader.position < quantileEnd) {
          const [quantileField, quantileWire] = reader.tag();
          if (quantileField === 1 && quantileWire === wireType.fixed64) quantile = reader.double();
          else if (quantileField === 2 && quantileWire === wireType.fixed64) quantileValue = reader.double();
          else reader.skip(quantileWire);
        }
        bounds.push(quantile);
        bucketCounts.push(quantileValue);
      } else reader.skip(wire);
    }
  }
  reader.position = end;
  if (time === undefined || start === undefined) {
    refuse(
      decoding,
      'points',
      `.${time === undefined ? 'time_unix_nano' : 'start_time_unix_nano'} is ${timeRange}`,
    );
    return;
  }
  decoding.batch.points.push({
    resource,
    name: header.name,
    unit: header.unit,
    type,
    temporality: header.temporality,
    monotonic: header.monotonic,
    timeUs: Math.round((time || Date.now() * 1e6) / 1000),
    startUs: Math.round(start / 1000),
    value,
    count,
    min,
    max,
    bounds,
    bucketCounts,
    attributes: attributes.values,
  });
  limiter.kept();
}

/** A log body as text: strings as they are, structured bodies as JSON. */
export function textOf(value: AttributeValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
