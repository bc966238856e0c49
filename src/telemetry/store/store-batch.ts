// A telemetry batch in the form the store writes it: one array per column, with everything derived from the
// records (attributes as JSON, the masked template key of warnings and errors, HTTP status and peer of spans)
// already computed. Columns cross to the store thread far cheaper than records do (no property names to copy,
// numeric columns are transferred), and the store thread is left with nothing but appending.
import { httpStatus, peerOf } from '../span-attributes.js';
import { maskVariables } from '../../analysis/log-templates/mask.js';
import {
  metricTypes,
  severity,
  type Attributes,
  type ResourceIdentity,
  type TelemetryBatch,
} from '../model.js';

export interface StoreBatch {
  /** The distinct resources the rows reference by index. */
  readonly resources: ResourceIdentity[];
  readonly logs: {
    readonly count: number;
    readonly timeUs: Float64Array;
    readonly resource: Int32Array;
    readonly severityNumber: Uint8Array;
    readonly severityText: string[];
    readonly body: string[];
    readonly traceId: string[];
    readonly spanId: string[];
    readonly attributes: string[];
    readonly scope: string[];
    readonly eventName: string[];
    /** '' below WARN. */
    readonly templateKey: string[];
  };
  readonly spans: {
    readonly count: number;
    readonly startUs: Float64Array;
    readonly endUs: Float64Array;
    readonly durationUs: Float64Array;
    readonly resource: Int32Array;
    readonly traceId: string[];
    readonly spanId: string[];
    readonly parentSpanId: string[];
    readonly name: string[];
    readonly kind: Uint8Array;
    readonly statusCode: Uint8Array;
    readonly statusMessage: string[];
    /** -1 when the span has none. */
    readonly httpStatus: Int16Array;
    readonly peer: string[];
    readonly attributes: string[];
    readonly events: string[];
    readonly scope: string[];
  };
  readonly points: {
    readonly count: number;
    readonly timeUs: Float64Array;
    /** 0 when unknown. */
    readonly startUs: Float64Array;
    readonly resource: Int32Array;
    readonly name: string[];
    readonly unit: string[];
    /** Index into metricTypes. */
    readonly type: Uint8Array;
    readonly temporality: Uint8Array;
    readonly monotonic: Uint8Array;
    /** NaN when absent. */
    readonly value: Float64Array;
    readonly valueCount: Float64Array;
    readonly min: Float64Array;
    readonly max: Float64Array;
    readonly bounds: string[];
    readonly bucketCounts: string[];
    readonly attributes: string[];
  };
}

export function toStoreBatch(batch: TelemetryBatch): StoreBatch {
  const resources: ResourceIdentity[] = [];
  const indexes = new Map<ResourceIdentity, number>();
  const resourceIndex = (resource: ResourceIdentity): number => {
    let index = indexes.get(resource);
    if (index === undefined) {
      index = resources.length;
      resources.push(resource);
      indexes.set(resource, index);
    }
    return index;
  };

  const logCount = batch.logs.length;
  const logs = {
    count: logCount,
    timeUs: new Float64Array(logCount),
    resource: new Int32Array(logCount),
    severityNumber: new Uint8Array(logCount),
    severityText: new Array<string>(logCount),
    body: new Array<string>(logCount),
    traceId: new Array<string>(logCount),
    spanId: new Array<string>(logCount),
    attributes: new Array<string>(logCount),
    scope: new Array<string>(logCount),
    eventName: new Array<string>(logCount),
    templateKey: new Array<string>(logCount),
  };
  batch.logs.forEach((log, index) => {
    logs.timeUs[index] = log.timeUs;
    logs.resource[index] = resourceIndex(log.resource);
    logs.severityNumber[index] = log.severityNumber;
    logs.severityText[index] = log.severityText;
    logs.body[index] = log.body;
    logs.traceId[index] = log.traceId;
    logs.spanId[index] = log.spanId;
    logs.attributes[index] = attributesJson(log.attributes);
    logs.scope[index] = log.scope;
    logs.eventName[index] = log.eventName;
    logs.templateKey[index] = log.severityNumber >= severity.warn ? maskVariables(log.body) : '';
  });

  const spanCount = batch.spans.length;
  const spans = {
    count: spanCount,
    startUs: new Float64Array(spanCount),
    endUs: new Float64Array(spanCount),
    durationUs: new Float64Array(spanCount),
    resource: new Int32Array(spanCount),
    traceId: new Array<string>(spanCount),
    spanId: new Array<string>(spanCount),
    parentSpanId: new Array<string>(spanCount),
    name: new Array<string>(spanCount),
    kind: new Uint8Array(spanCount),
    statusCode: new Uint8Array(spanCount),
    statusMessage: new Array<string>(spanCount),
    httpStatus: new Int16Array(spanCount),
    peer: new Array<string>(spanCount),
    attributes: new Array<string>(spanCount),
    events: new Array<string>(spanCount),
    scope: new Array<string>(spanCount),
  };
  batch.spans.forEach((span, index) => {
    spans.startUs[index] = span.startUs;
    spans.endUs[index] = span.endUs;
    spans.durationUs[index] = span.durationUs;
    spans.resource[index] = resourceIndex(span.resource);
    spans.traceId[index] = span.traceId;
    spans.spanId[index] = span.spanId;
    spans.parentSpanId[index] = span.parentSpanId;
    spans.name[index] = span.name;
    spans.kind[index] = span.kind;
    spans.statusCode[index] = span.statusCode;
    spans.statusMessage[index] = span.statusMessage;
    spans.httpStatus[index] = httpStatus(span.attributes) ?? -1;
    spans.peer[index] = peerOf(span.attributes);
    spans.attributes[index] = attributesJson(span.attributes);
    spans.events[index] = span.events.length === 0 ? '' : JSON.stringify(span.events);
    spans.scope[index] = span.scope;
  });

  const pointCount = batch.points.length;
  const points = {
    count: pointCount,
    timeUs: new Float64Array(pointCount),
    startUs: new Float64Array(pointCount),
    resource: new Int32Array(pointCount),
    name: new Array<string>(pointCount),
    unit: new Array<string>(pointCount),
    type: new Uint8Array(pointCount),
    temporality: new Uint8Array(pointCount),
    monotonic: new Uint8Array(pointCount),
    value: new Float64Array(pointCount),
    valueCount: new Float64Array(pointCount),
    min: new Float64Array(pointCount),
    max: new Float64Array(pointCount),
    bounds: new Array<string>(pointCount),
    bucketCounts: new Array<string>(pointCount),
    attributes: new Array<string>(pointCount),
  };
  batch.points.forEach((point, index) => {
    points.timeUs[index] = point.timeUs;
    points.startUs[index] = point.startUs;
    points.resource[index] = resourceIndex(point.resource);
    points.name[index] = point.name;
    points.unit[index] = point.unit;
    points.type[index] = metricTypes.indexOf(point.type);
    points.temporality[index] = point.temporality;
    points.monotonic[index] = point.monotonic ? 1 : 0;
    points.value[index] = point.value;
    points.valueCount[index] = point.count;
    points.min[index] = point.min;
    points.max[index] = point.max;
    points.bounds[index] = point.bounds.length === 0 ? '' : JSON.stringify(point.bounds);
    points.bucketCounts[index] = point.bucketCounts.length === 0 ? '' : JSON.stringify(point.bucketCounts);
    points.attributes[index] = attributesJson(point.attributes);
  });

  return { resources, logs, spans, points };
}

/** The buffers of the numeric columns, to transfer rather than copy to the store thread. */
export function transferables(batch: StoreBatch): ArrayBuffer[] {
  const { logs, spans, points } = batch;
  return [
    logs.timeUs,
    logs.resource,
    logs.severityNumber,
    spans.startUs,
    spans.endUs,
    spans.durationUs,
    spans.resource,
    spans.kind,
    spans.statusCode,
    spans.httpStatus,
    points.timeUs,
    points.startUs,
    points.resource,
    points.type,
    points.temporality,
    points.monotonic,
    points.value,
    points.valueCount,
    points.min,
    points.max,
  ].map((column) => column.buffer as ArrayBuffer);
}

function attributesJson(attributes: Attributes): string {
  for (const _ in attributes) return JSON.stringify(attributes);
  return '';
}
