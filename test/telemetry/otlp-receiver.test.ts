// The OTLP/HTTP receiver against the real OpenTelemetry JS exporters, protobuf and JSON: what the SDK sends is
// what the decoders produce. Also the receiver's answers to malformed, oversized, compressed and refused requests.
import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPLogExporter as LogsOverJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsOverProtobuf } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsOverJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsOverProtobuf } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TracesOverJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesOverProtobuf } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OverloadedError } from '../../src/telemetry/ingest/ingest-pipeline.js';
import { createOtlpReceiver } from '../../src/telemetry/ingest/otlp-receiver.js';
import { ProtoWriter, wireType } from '../../src/telemetry/ingest/proto-reader.js';
import { defaultRecordLimits } from '../../src/telemetry/ingest/record-limits.js';
import { ResourceIdentities } from '../../src/telemetry/ingest/resource-identity.js';
import type { TelemetryBatch } from '../../src/telemetry/model.js';

let receiver: FastifyInstance;
let base: string;
let received: TelemetryBatch[];
let refuse: Error | undefined;

const resource = resourceFromAttributes({
  'service.name': 'checkout',
  'service.instance.id': 'checkout-prod-abcde',
  'opspilot.namespace': 'shop',
  'opspilot.project': 'web',
  'opspilot.environment': 'prod',
});

beforeAll(async () => {
  ({ app: receiver } = createOtlpReceiver({
    ingest: (batch) => {
      if (refuse !== undefined) return Promise.reject(refuse);
      received.push(batch);
      return Promise.resolve();
    },
    identities: new ResourceIdentities(),
    logger: pino({ level: 'silent' }),
    maxBodyBytes: 64 * 1024,
    maxDecompressedBytes: 256 * 1024,
    maxInflightBytes: 1024 * 1024,
    limits: defaultRecordLimits,
  }));
  await receiver.listen({ host: '127.0.0.1', port: 0 });
  const address = receiver.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});

afterAll(async () => {
  await receiver.close();
});

beforeEach(() => {
  received = [];
  refuse = undefined;
});

const encodings = [
  ['protobuf', { traces: TracesOverProtobuf, logs: LogsOverProtobuf, metrics: MetricsOverProtobuf }],
  ['JSON', { traces: TracesOverJson, logs: LogsOverJson, metrics: MetricsOverJson }],
] as const;

describe.each(encodings)('OTLP/HTTP %s from the OpenTelemetry JS SDK', (_name, exporters) => {
  it('decodes spans: ids, parentage, kind, status, attributes, events and timing', async () => {
    const provider = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(new exporters.traces({ url: `${base}/v1/traces` }))],
    });
    const tracer = provider.getTracer('checkout-tracer');
    const parent = tracer.startSpan('POST /checkout', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.route': '/checkout',
        'http.response.status_code': 502,
        retries: 2,
        flags: [true, false],
      },
    });
    const parentContext = trace.setSpan(context.active(), parent);
    const child = tracer.startSpan(
      'charge card',
      { kind: SpanKind.CLIENT, attributes: { 'peer.service': 'payment' } },
      parentContext,
    );
    child.addEvent('retry', { attempt: 1 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
    await new Promise((resolve) => setTimeout(resolve, 15));
    child.end();
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();

    const spans = received.flatMap((batch) => batch.spans);
    expect(spans).toHaveLength(2);
    const server = spans.find((span) => span.name === 'POST /checkout');
    const client = spans.find((span) => span.name === 'charge card');
    expect(server).toMatchObject({
      kind: 2,
      parentSpanId: '',
      attributes: {
        'http.route': '/checkout',
        'http.response.status_code': 502,
        retries: 2,
        flags: [true, false],
      },
      scope: 'checkout-tracer',
    });
    expect(server?.resource).toMatchObject({
      service: 'checkout',
      namespace: 'shop',
      project: 'web',
      component: 'checkout',
      environment: 'prod',
      instance: 'checkout-prod-abcde',
    });
    expect(client).toMatchObject({
      kind: 3,
      traceId: server?.traceId,
      parentSpanId: server?.spanId,
      statusCode: 2,
      statusMessage: 'card declined',
      events: [expect.objectContaining({ name: 'retry', attributes: { attempt: 1 } })],
    });
    expect(client?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(client?.durationUs).toBeGreaterThanOrEqual(14_000);
    expect(Math.abs((client?.startUs ?? 0) / 1000 - Date.now())).toBeLessThan(60_000);
  });

  it('decodes log records: severity, text and structured bodies, attributes, trace context', async () => {
    const provider = new LoggerProvider({
      resource,
      processors: [
        new SimpleLogRecordProcessor({ exporter: new exporters.logs({ url: `${base}/v1/logs` }) }),
      ],
    });
    const logger = provider.getLogger('payments');
    logger.emit({
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: 'card declined for order 42',
      attributes: { order: 42 },
    });
    logger.emit({ severityNumber: SeverityNumber.INFO2, body: { event: 'paid', amount: 9.5 } });
    await provider.forceFlush();
    await provider.shutdown();

    const logs = received.flatMap((batch) => batch.logs);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatchObject({
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'card declined for order 42',
      attributes: { order: 42 },
      scope: 'payments',
    });
    expect(JSON.parse(logs[1]?.body ?? '{}')).toEqual({ event: 'paid', amount: 9.5 });
    expect(logs[1]?.severityNumber).toBe(10);
    expect(Math.abs((logs[0]?.timeUs ?? 0) / 1000 - Date.now())).toBeLessThan(60_000);
  });

  it('decodes metrics: counters, up-down counters, gauges and histograms with buckets', async () => {
    const reader = new PeriodicExportingMetricReader({
      exporter: new exporters.metrics({ url: `${base}/v1/metrics` }),
      exportIntervalMillis: 60_000,
    });
    const provider = new MeterProvider({ resource, readers: [reader] });
    const meter = provider.getMeter('payments');
    meter.createCounter('payments.charged').add(3, { currency: 'EUR' });
    meter.createUpDownCounter('payments.inflight').add(-2);
    meter.createObservableGauge('payments.queue').addCallback((result) => {
      result.observe(7.5);
    });
    const latency = meter.createHistogram('payments.latency', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100] },
    });
    for (const value of [5, 50, 50, 500]) latency.record(value);
    await provider.forceFlush();
    await provider.shutdown();

    const points = received.flatMap((batch) => batch.points);
    const byName = (name: string) => points.find((point) => point.name === name);
    expect(byName('payments.charged')).toMatchObject({
      type: 'sum',
      monotonic: true,
      temporality: 2,
      value: 3,
      attributes: { currency: 'EUR' },
    });
    expect(byName('payments.inflight')).toMatchObject({ type: 'sum', monotonic: false, value: -2 });
    expect(byName('payments.queue')).toMatchObject({ type: 'gauge', value: 7.5 });
    expect(byName('payments.latency')).toMatchObject({
      type: 'histogram',
      unit: 'ms',
      count: 4,
      value: 605,
      min: 5,
      max: 500,
      bounds: [10, 100],
      bucketCounts: [1, 2, 1],
    });
    expect(byName('payments.charged')?.startUs).toBeGreaterThan(0);
  });
});

describe('OTLP/HTTP receiver answers', () => {
  it('accepts gzip and reports partial success for records it had to drop', async () => {
    // Two LogRecords (body = 5 { string_value = 1 }); the second has a 3-byte trace_id (field 9), which is invalid.
    const bad = new ProtoWriter().message(5, new ProtoWriter().string(1, 'bad'));
    const badBytes = Buffer.concat([bad.finish(), frame(9, Buffer.from([1, 2, 3]))]);
    const good = new ProtoWriter().message(5, new ProtoWriter().string(1, 'hello')).finish();
    const scopeLogs = Buffer.concat([frame(2, good), frame(2, badBytes)]);
    const request = frame(1, frame(2, scopeLogs));
    const response = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: gzipSync(request),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-protobuf');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.toString('utf8')).toContain('1 of 2 records were rejected');
    expect(received.flatMap((batch) => batch.logs).map((log) => log.body)).toEqual(['hello']);
  });

  it('answers 400 with a reason for malformed protobuf and JSON, and for a JSON request of the wrong shape', async () => {
    const protobuf = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0xff, 0xff, 0x01]),
    });
    expect(protobuf.status).toBe(400);
    expect(Buffer.from(await protobuf.arrayBuffer()).toString('utf8')).toContain(
      'malformed protobuf traces request',
    );
    const json = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceLogs": [',
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({
      code: 3,
      message: expect.stringContaining('malformed JSON logs request') as string,
    });
    const shape = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ scopeSpans: ['not a scope'] }] }),
    });
    expect(shape.status).toBe(400);
    expect(((await shape.json()) as { message: string }).message).toContain(
      'resourceSpans[0].scopeSpans[0] must be an object',
    );
    expect(received).toEqual([]);
  });

  it('answers 413 for bodies over the limit, compressed or not, and 415 for other content types', async () => {
    const big = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.alloc(100 * 1024),
    });
    expect(big.status).toBe(413);
    const bomb = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(1024 * 1024)),
    });
    expect(bomb.status).toBe(413);
    expect(Buffer.from(await bomb.arrayBuffer()).toString('utf8')).toContain('decompressed body is larger');
    const text = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(text.status).toBe(415);
  });

  it('answers 429 with Retry-After when ingest is at capacity, 503 when the store fails', async () => {
    const body = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }],
    });
    refuse = new OverloadedError(2);
    const busy = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('2');
    refuse = new Error('disk full');
    const down = await fetch(`${base}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
  });

  it('answers an empty request with an empty success', async () => {
    const response = await fetch(`${base}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(received.flatMap((batch) => batch.points)).toEqual([]);
  });
});

/** A length-delimited field. */
function frame(field: number, bytes: Buffer): Buffer {
  const header = new ProtoWriter().tag(field, wireType.lengthDelimited).varint(bytes.length).finish();
  return Buffer.concat([header, bytes]);
}
