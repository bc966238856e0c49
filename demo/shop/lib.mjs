// What every demo shop service shares: the OpenTelemetry SDK (traces, metrics and logs over OTLP to opspilot,
// configured by the OTEL_* variables opspilot's runtime injects), an HTTP server whose requests are SERVER
// spans, calls to other services as CLIENT spans carrying W3C trace context, and JSON log lines with trace ids.
// Faults are switched on by environment variables, so that turning one on is a release or a binding change
// that opspilot can see.
import { createServer } from 'node:http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';

const telemetry = process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
const sdk = telemetry
  ? new NodeSDK({
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
      metricReaders: [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          exportIntervalMillis: Number(process.env.OTEL_METRIC_EXPORT_INTERVAL ?? 10_000),
        }),
      ],
      logRecordProcessors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() })],
    })
  : undefined;
sdk?.start();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const env = (name, fallback) => process.env[name] ?? fallback;
export const number = (name, fallback) => Number(process.env[name] ?? fallback);

/** Runs a small HTTP service. `routes` maps 'GET /path' to async (request) => ({ status?, body }). */
export function service(name, routes) {
  const tracer = trace.getTracer(name);
  const meter = metrics.getMeter(name);
  const logger = logs.getLogger(name);
  const duration = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP server requests',
  });

  const log = (level, message, attributes = {}) => {
    const span = trace.getActiveSpan()?.spanContext();
    const severity = { info: SeverityNumber.INFO, warn: SeverityNumber.WARN, error: SeverityNumber.ERROR }[
      level
    ];
    logger.emit({
      severityNumber: severity,
      severityText: level.toUpperCase(),
      body: message,
      attributes,
      context: context.active(),
    });
    console.log(
      JSON.stringify({ level, msg: message, service: name, trace_id: span?.traceId, ...attributes }),
    );
  };

  /** Calls another service: a CLIENT span with trace context in the headers; non-2xx answers throw. */
  const call = (target, path, init = {}) => {
    const base = process.env[`${target.toUpperCase().replaceAll('-', '_')}_URL`];
    const method = init.method ?? 'GET';
    return tracer.startActiveSpan(
      method,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'peer.service': target, 'http.request.method': method, 'url.path': path },
      },
      async (span) => {
        try {
          if (base === undefined) throw new Error(`${target} has no address (${target.toUpperCase()}_URL)`);
          const headers = { 'content-type': 'application/json' };
          propagation.inject(context.active(), headers);
          const response = await fetch(`${base}${path}`, {
            method,
            headers,
            ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
            signal: AbortSignal.timeout(number('CALL_TIMEOUT_MS', 3000)),
          });
          span.setAttribute('http.response.status_code', response.status);
          const text = await response.text();
          if (!response.ok) throw new Error(`${target} answered ${response.status}: ${text.slice(0, 120)}`);
          return text === '' ? null : JSON.parse(text);
        } catch (error) {
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      response.writeHead(200).end('ok');
      return;
    }
    const route = `${request.method} ${url.pathname}`;
    const handler = routes[route];
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      context.with(parent, () =>
        tracer.startActiveSpan(
          route,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'http.request.method': request.method,
              'http.route': url.pathname,
              'url.path': url.pathname,
            },
          },
          async (span) => {
            const started = performance.now();
            let status;
            let payload;
            try {
              if (handler === undefined) {
                status = 404;
                payload = { error: `no route ${route}` };
              } else {
                const result = await handler({ url, body: body === '' ? {} : JSON.parse(body), call, log });
                status = result?.status ?? 200;
                payload = result?.body ?? result;
              }
            } catch (error) {
              status = 500;
              payload = { error: error.message };
              span.recordException(error);
              log('error', `${route} failed: ${error.message}`, { route: url.pathname });
            }
            if (status >= 500)
              span.setStatus({ code: SpanStatusCode.ERROR, message: payload?.error ?? `HTTP ${status}` });
            span.setAttribute('http.response.status_code', status);
            duration.record((performance.now() - started) / 1000, {
              'http.route': url.pathname,
              'http.response.status_code': status,
            });
            span.end();
            response
              .writeHead(status, { 'content-type': 'application/json' })
              .end(JSON.stringify(payload ?? null));
          },
        ),
      );
    });
  });

  server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
    console.log(
      JSON.stringify({ level: 'info', msg: `${name} listening on ${process.env.PORT}`, service: name }),
    );
  });
  const stop = () => {
    server.close();
    void Promise.resolve(sdk?.shutdown()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return { call, log, meter, tracer };
}
