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
import type { ResourceIdentities } from './resource-identity.js';
import { severityOfText } from './severity.js';

export type Signal = 'logs' | 'traces' | 'metrics';

export function decodeProtobuf(
  signal: Signal,
  buffer: Buffer,
  identities: ResourceIdentities,
): TelemetryBatch {
  const batch = emptyBatch();
  const reader = new ProtoReader(buffer);
  while (!reader.done) {
    const [field, type] = reader.tag();
    // ExportLogsServiceRequest.resource_logs = 1, ExportTraceServiceRequest.resource_spans = 1,
    // ExportMetricsServiceRequest.resource_metrics = 1.
    if (field === 1 && type === wireType.lengthDelimited) {
      const end = reader.delimited();
      readResourceGroup(reader, end, signal, identities, batch);
      reader.position = end;
    } else {
      reader.skip(type);
    }
  }
  return batch;
}

function readResourceGroup(
  reader: ProtoReader,
  end: number,
  signal: Signal,
  identities: ResourceIdentities,
  batch: TelemetryBatch,
): void {
  // Resource = 1 comes first in practice, but the wire allows any order: collect scope groups, then read them.
  let attributes: Attributes = {};
  const scopes = headerAndChildren(reader, end, (resourceEnd) => {
    attributes = readResource(reader, resourceEnd);
  });
  const resource = identities.identify(attributes);
  for (const [start, scopeEnd] of scopes) {
    reader.position = start;
    readScope(reader, scopeEnd, (itemEnd, scope) => {
      if (signal === 'logs') readLogRecord(reader, itemEnd, resource, scope, batch);
      else if (signal === 'traces') readSpan(reader, itemEnd, resource, scope, batch);
      else readMetric(reader, itemEnd, resource, batch);
    });
  }
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

function readResource(reader: ProtoReader, end: number): Attributes {
  const attributes: Attributes = {};
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) readKeyValue(reader, attributes);
    else reader.skip(type);
  }
  return attributes;
}

/** InstrumentationScope: name = 1. */
function readScopeName(reader: ProtoReader, end: number): string {
  let name = '';
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) name = reader.string();
    else reader.skip(type);
  }
  return name;
}

/** KeyValue: key = 1, value = 2 (AnyValue). */
function readKeyValue(reader: ProtoReader, into: Attributes): void {
  const end = reader.delimited();
  let key = '';
  let value: AttributeValue = null;
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) key = reader.string();
    else if (field === 2 && type === wireType.lengthDelimited)
      value = readAnyValue(reader, reader.delimited());
    else reader.skip(type);
  }
  reader.position = end;
  into[key] = value;
}

/** AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7. */
function readAnyValue(reader: ProtoReader, end: number): AttributeValue {
  let value: AttributeValue = null;
  while (reader.position < end) {
    const [field, type] = reader.tag();
    switch (field) {
      case 1:
        value = reader.string();
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
          if (itemField === 1 && itemType === wireType.lengthDelimited) {
            items.push(readAnyValue(reader, reader.delimited()));
          } else reader.skip(itemType);
        }
        value = items;
        break;
      }
      case 6: {
        const listEnd = reader.delimited();
        const object: Attributes = {};
        while (reader.position < listEnd) {
          const [itemField, itemType] = reader.tag();
          if (itemField === 1 && itemType === wireType.lengthDelimited) readKeyValue(reader, object);
          else reader.skip(itemType);
        }
        value = object;
        break;
      }
      case 7:
        value = reader.bytes().toString('base64');
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
function readScope(
  reader: ProtoReader,
  end: number,
  readItem: (itemEnd: number, scope: string) => void,
): void {
  let scope = '';
  const items = headerAndChildren(reader, end, (scopeEnd) => {
    scope = readScopeName(reader, scopeEnd);
  });
  for (const [start, itemEnd] of items) {
    reader.position = start;
    readItem(itemEnd, scope);
  }
  reader.position = end;
}

function readLogRecord(
  reader: ProtoReader,
  end: number,
  resource: ResourceIdentity,
  scope: string,
  batch: TelemetryBatch,
): void {
  let time = 0;
  let observed = 0;
  let severityNumber = 0;
  let severityText = '';
  let body = '';
  let traceId = '';
  let spanId = '';
  let eventName = '';
  const attributes: Attributes = {};
  while (reader.position < end) {
    const [field, type] = reader.tag();
    switch (field) {
      case 1:
        time = reader.fixed64();
        break;
      case 11:
        observed = reader.fixed64();
        break;
      case 2:
        severityNumber = reader.uint32();
        break;
      case 3:
        severityText = reader.string();
        break;
      case 5:
        body = textOf(readAnyValue(reader, reader.delimited()));
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
        eventName = reader.string();
        break;
      default:
        reader.skip(type);
    }
  }
  reader.position = end;
  if (traceId !== '' && traceId.length !== 32) {
    reject(batch, 'logs', `log record with a trace_id of ${traceId.length / 2} bytes (expected 16)`);
    return;
  }
  batch.logs.push({
    resource,
    // time_unix_nano may be 0 ("unknown"): the observed time is the next best, then now.
    timeUs: Math.round((time || observed || Date.now() * 1e6) / 1000),
    severityNumber: (severityNumber > 24 ? 0 : severityNumber) || severityOfText(severityText),
    severityText,
    body,
    traceId,
    spanId,
    attributes,
    scope,
    eventName,
  });
}

function readSpan(
  reader: ProtoReader,
  end: number,
  resource: ResourceIdentity,
  scope: string,
  batch: TelemetryBatch,
): void {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let start: [number, number] = [0, 0];
  let finish: [number, number] = [0, 0];
  let statusCode = 0;
  let statusMessage = '';
  const attributes: Attributes = {};
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
        name = reader.string();
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
        events.push(readSpanEvent(reader, eventEnd));
        reader.position = eventEnd;
        break;
      }
      case 15: {
        const statusEnd = reader.delimited();
        while (reader.position < statusEnd) {
          const [statusField, statusType] = reader.tag();
          if (statusField === 2 && statusType === wireType.lengthDelimited) statusMessage = reader.string();
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
  if (traceId.length !== 32 || spanId.length !== 16) {
    reject(
      batch,
      'spans',
      `span with a trace_id of ${traceId.length / 2} bytes or span_id of ${spanId.length / 2} bytes (expected 16 and 8)`,
    );
    return;
  }
  const startNs = start[0] * 4294967296 + start[1];
  const durationNs = (finish[0] - start[0]) * 4294967296 + (finish[1] - start[1]);
  batch.spans.push({
    resource,
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
    attributes,
    events,
    scope,
  });
}

/** Span.Event: time_unix_nano = 1, name = 2, attributes = 3. */
function readSpanEvent(reader: ProtoReader, end: number): SpanEvent {
  let time = 0;
  let name = '';
  const attributes: Attributes = {};
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.fixed64) time = reader.fixed64();
    else if (field === 2 && type === wireType.lengthDelimited) name = reader.string();
    else if (field === 3 && type === wireType.lengthDelimited) readKeyValue(reader, attributes);
    else reader.skip(type);
  }
  return { timeUs: Math.round(time / 1000), name, attributes };
}

interface MetricHeader {
  name: string;
  unit: string;
  type: MetricType;
  temporality: number;
  monotonic: boolean;
}

/** Metric: name 1, unit 3; gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11. */
function readMetric(
  reader: ProtoReader,
  end: number,
  resource: ResourceIdentity,
  batch: TelemetryBatch,
): void {
  const header: MetricHeader = { name: '', unit: '', type: 'gauge', temporality: 0, monotonic: false };
  let data: [number, number] | undefined;
  while (reader.position < end) {
    const [field, type] = reader.tag();
    if (field === 1 && type === wireType.lengthDelimited) header.name = reader.string();
    else if (field === 3 && type === wireType.lengthDelimited) header.unit = reader.string();
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
  for (const [start, pointEnd] of points) {
    reader.position = start;
    readDataPoint(reader, pointEnd, header, resource, batch);
  }
  reader.position = end;
}

function readDataPoint(
  reader: ProtoReader,
  end: number,
  header: MetricHeader,
  resource: ResourceIdentity,
  batch: TelemetryBatch,
): void {
  const attributes: Attributes = {};
  let time = 0;
  let start = 0;
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
      start = reader.fixed64();
      continue;
    }
    if (field === 3 && wire === wireType.fixed64) {
      time = reader.fixed64();
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
  batch.points.push({
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
    attributes,
  });
}

/** A log body as text: strings as they are, structured bodies as JSON. */
export function textOf(value: AttributeValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function reject(batch: TelemetryBatch, kind: 'logs' | 'spans' | 'points', reason: string): void {
  batch.rejected[kind] += 1;
  batch.rejected.reason ??= reason;
}
