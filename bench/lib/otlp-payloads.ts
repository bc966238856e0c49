// OTLP/HTTP protobuf request bodies built the way a real service builds them: records made by the OpenTelemetry
// JS SDK and serialised by the exporters' own serializer (@opentelemetry/otlp-transformer).
import { SeverityNumber } from '@opentelemetry/api-logs';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import {
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A deterministic pseudo-random source (mulberry32): the same payloads every run. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const services = ['frontend', 'cart', 'checkout', 'payment', 'inventory', 'shipping', 'email', 'ads'];

export function resourceOf(service: string, namespace = 'bench') {
  return resourceFromAttributes({
    'service.name': service,
    'opspilot.namespace': namespace,
    'opspilot.project': 'shop',
    'opspilot.component': service,
    'opspilot.environment': 'prod',
    'service.instance.id': `${service}-0`,
  });
}

/** Message shapes of a web shop; numbers, ids and names vary per record. */
const infoMessages = [
  (r: () => number) => `GET /api/products/${Math.floor(r() * 5000)} 200 ${Math.floor(r() * 80)}ms`,
  (r: () => number) =>
    `cart ${hex(r, 8)} updated: ${Math.floor(r() * 9) + 1} items, total ${(r() * 300).toFixed(2)} EUR`,
  (r: () => number) => `order ${Math.floor(r() * 1e6)} placed by user ${Math.floor(r() * 1e5)}`,
  (r: () => number) => `cache hit ratio ${(r() * 100).toFixed(1)}% over ${Math.floor(r() * 1000)} lookups`,
  (r: () => number) => `shipment ${hex(r, 12)} handed to carrier dhl`,
  (r: () => number) => `email sent to customer ${Math.floor(r() * 1e5)} template order_confirmation`,
];
const warnMessages = [
  (r: () => number) => `slow query on table orders took ${Math.floor(r() * 900) + 500}ms`,
  (r: () => number) => `retrying call to payment after ${Math.floor(r() * 3) + 1} attempts`,
];
const errorMessages = [
  (r: () => number) => `payment declined for order ${Math.floor(r() * 1e6)}: card expired`,
  (r: () => number) => `connection to inventory-db:5432 refused after ${Math.floor(r() * 30)}s`,
  (r: () => number) => `timeout calling shipping quote service for cart ${hex(r, 8)}`,
];

function hex(r: () => number, length: number): string {
  let text = '';
  while (text.length < length) text += Math.floor(r() * 16).toString(16);
  return text;
}

/** Which stretch of time a request covers, the seed of its randomness, and the namespace it reports under. */
interface Slice {
  fromMs: number;
  toMs: number;
  seed: number;
  namespace?: string;
}

/** One request of `count` log records of one service, spread over [fromMs, toMs). 90% INFO, 7% WARN, 3% ERROR. */
export function logsRequest(options: Slice & { service: string; count: number }): Uint8Array {
  const r = random(options.seed);
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceOf(options.service, options.namespace),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('bench');
  for (let index = 0; index < options.count; index += 1) {
    const roll = r();
    const [severityNumber, severityText, shapes] =
      roll < 0.03
        ? [SeverityNumber.ERROR, 'ERROR', errorMessages]
        : roll < 0.1
          ? [SeverityNumber.WARN, 'WARN', warnMessages]
          : [SeverityNumber.INFO, 'INFO', infoMessages];
    const shape = shapes[Math.floor(r() * shapes.length)] ?? shapes[0];
    const time = options.fromMs + ((options.toMs - options.fromMs) * index) / options.count;
    const traced = r() < 0.5;
    const spanContext = { traceId: hex(r, 32), spanId: hex(r, 16), traceFlags: 1 };
    logger.emit({
      timestamp: time,
      severityNumber,
      severityText,
      body: shape?.(r) ?? '',
      attributes: { 'code.function': 'handle', 'thread.id': Math.floor(r() * 16), route: '/api' },
      ...(traced ? { context: trace.setSpanContext(context.active(), spanContext) } : {}),
    });
  }
  const bytes = ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords());
  if (bytes === undefined) throw new Error('the logs serializer returned nothing');
  return bytes;
}

/**
 * One request of `traces` traces started in [fromMs, toMs): frontend → checkout → (payment, inventory,
 * shipping) with client spans, 9 spans each; 2% of payment calls fail with HTTP 500.
 */
export function tracesRequest(options: Slice & { traces: number }): Uint8Array {
  const r = random(options.seed);
  const exporter = new InMemorySpanExporter();
  const providers = new Map(
    services.map((service) => [
      service,
      new BasicTracerProvider({
        resource: resourceOf(service, options.namespace),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }),
    ]),
  );
  const tracer = (service: string) =>
    (providers.get(service) ?? [...providers.values()][0])?.getTracer('bench') ?? trace.getTracer('none');
  for (let index = 0; index < options.traces; index += 1) {
    const start = options.fromMs + ((options.toMs - options.fromMs) * index) / options.traces;
    const failing = r() < 0.02;
    const slow = r() < 0.01 ? 800 : 0;
    const root = tracer('frontend').startSpan('GET /checkout', {
      kind: SpanKind.SERVER,
      startTime: start,
      attributes: { 'http.request.method': 'GET', 'http.route': '/checkout' },
    });
    const rootContext = trace.setSpan(context.active(), root);
    let cursor = start + 1;
    /** A client span in `from` around a server span in `to`; `work` runs inside the server span. */
    const call = (
      from: string,
      to: string,
      route: string,
      parent: typeof rootContext,
      work: (inside: typeof rootContext) => void,
      error = false,
    ) => {
      const client = tracer(from).startSpan(
        `POST ${route}`,
        {
          kind: SpanKind.CLIENT,
          startTime: cursor,
          attributes: { 'server.address': to, 'http.request.method': 'POST' },
        },
        parent,
      );
      const server = tracer(to).startSpan(
        `POST ${route}`,
        {
          kind: SpanKind.SERVER,
          startTime: cursor + 0.5,
          attributes: { 'http.route': route, 'http.response.status_code': error ? 500 : 200 },
        },
        trace.setSpan(parent, client),
      );
      cursor += 1;
      work(trace.setSpan(parent, server));
      if (error) server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment provider unavailable' });
      server.end(cursor);
      client.setAttribute('http.response.status_code', error ? 500 : 200);
      if (error) client.setStatus({ code: SpanStatusCode.ERROR });
      client.end(cursor + 0.5);
      cursor += 1;
    };
    const busy = (ms: number) => () => {
      cursor += ms;
    };
    call(
      'frontend',
      'checkout',
      '/api/checkout',
      rootContext,
      (inside) => {
        call('checkout', 'inventory', '/api/reserve', inside, busy(5 + r() * 20));
        call('checkout', 'payment', '/api/charge', inside, busy(20 + r() * 60 + slow), failing);
        call('checkout', 'shipping', '/api/quote', inside, busy(5 + r() * 30));
      },
      failing,
    );
    root.setAttribute('http.response.status_code', failing ? 500 : 200);
    if (failing) root.setStatus({ code: SpanStatusCode.ERROR });
    root.end(cursor + 2);
  }
  const bytes = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans());
  if (bytes === undefined) throw new Error('the trace serializer returned nothing');
  return bytes;
}

class CollectingReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One request of metric points: counters, gauges and histograms over `series` attribute sets. */
export async function metricsRequest(options: {
  series: number;
  seed: number;
  namespace?: string;
}): Promise<Uint8Array> {
  const r = random(options.seed);
  const reader = new CollectingReader({
    aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
  });
  const provider = new MeterProvider({
    resource: resourceOf('checkout', options.namespace),
    readers: [reader],
  });
  const meter = provider.getMeter('bench');
  const requests = meter.createCounter('http.server.requests');
  const inflight = meter.createUpDownCounter('http.server.active_requests');
  const duration = meter.createHistogram('http.server.request.duration', { unit: 's' });
  const queue = meter.createGauge('queue.depth');
  for (let index = 0; index < options.series; index += 1) {
    const attributes = {
      route: `/api/r${index % 50}`,
      status: String(200 + (index % 4)),
      pod: `p${Math.floor(index / 50)}`,
    };
    requests.add(Math.floor(r() * 100), attributes);
    inflight.add(Math.floor(r() * 5), attributes);
    duration.record(r(), attributes);
    queue.record(Math.floor(r() * 100), attributes);
  }
  const { resourceMetrics } = await reader.collect();
  const bytes = ProtobufMetricsSerializer.serializeRequest(resourceMetrics);
  if (bytes === undefined) throw new Error('the metrics serializer returned nothing');
  return bytes;
}
