// Query latency with 1 M log records and 1 M spans stored, through the REST API of a real `opspilot up` (what
// the dashboard, the CLI and the MCP servers call). Data: eight services of a web shop over the last hour,
// ingested over OTLP/HTTP protobuf (bodies made by the OpenTelemetry SDK); 3% of log lines are errors, 2% of
// traces fail in the payment service. Each query: one warm-up, then RUNS timed calls; median and worst reported.
//
//   npm run build && node --import tsx bench/query.ts        (RUNS=7 LOGS=1000000 SPANS=1000000)
import { drive, freshServer, machine, median, print, round } from './lib/harness.js';
import { logsRequest, services, tracesRequest } from './lib/otlp-payloads.js';

const runs = Number(process.env.RUNS ?? 7);
const logCount = Number(process.env.LOGS ?? 1_000_000);
const spanCount = Number(process.env.SPANS ?? 1_000_000);
const namespace = 'bench';

const { server, stop } = await freshServer();
try {
  const now = Date.now();
  // The data spans 55 minutes before the load starts, so that `last_1h` still covers all of it if loading takes
  // up to five minutes (it is checked below).
  const hourAgo = now - 3_600_000 + 300_000;
  const loadStarted = performance.now();
  // Requests of 1000 records, each covering its own slice of the hour, generated while earlier ones are sent.
  const logRequests = Math.ceil(logCount / 1000);
  const traceRequests = Math.ceil(spanCount / 999);
  const slice = (index: number, of: number): { fromMs: number; toMs: number } => ({
    fromMs: hourAgo + ((now - hourAgo) * index) / of,
    toMs: hourAgo + ((now - hourAgo) * (index + 1)) / of,
  });
  let sentLogs = 0;
  let sentSpans = 0;
  for (let start = 0; start < Math.max(logRequests, traceRequests); start += 20) {
    const bodies: { signal: 'logs' | 'traces'; body: Uint8Array; records: number }[] = [];
    for (let index = start; index < start + 20; index += 1) {
      if (index < logRequests) {
        const service = services[index % services.length] ?? 'cart';
        bodies.push({
          signal: 'logs',
          body: logsRequest({
            service,
            count: 1000,
            ...slice(index, logRequests),
            seed: index + 1,
            namespace,
          }),
          records: 1000,
        });
      }
      if (index < traceRequests) {
        bodies.push({
          signal: 'traces',
          body: tracesRequest({ traces: 111, ...slice(index, traceRequests), seed: index + 1, namespace }),
          records: 999,
        });
      }
    }
    for (const signal of ['logs', 'traces'] as const) {
      const group = bodies.filter((body) => body.signal === signal);
      if (group.length === 0) continue;
      const result = await drive({
        url: `${server.otlp}/v1/${signal}`,
        bodies: group.map((body) => body.body),
        recordsPerBody: group[0]?.records ?? 0,
        workers: 4,
        requests: group.length,
      });
      if (result.failed > 0) throw new Error(`${result.failed} ${signal} requests failed while loading`);
      if (signal === 'logs') sentLogs += result.acknowledged;
      else sentSpans += result.acknowledged;
    }
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  if (loadSeconds > 280)
    throw new Error(`loading took ${Math.round(loadSeconds)} s: the oldest data left the last hour`);

  const get = async (
    path: string,
    query: Record<string, string | number>,
  ): Promise<{ ms: number; body: unknown }> => {
    const url = new URL(path, server.url);
    url.searchParams.set('namespace', namespace);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${server.token}` } });
    const body: unknown = await response.json();
    const ms = performance.now() - started;
    if (!response.ok) throw new Error(`${url.pathname} answered ${response.status}: ${JSON.stringify(body)}`);
    return { ms, body };
  };

  // A trace id and an error line to look up, taken from the data itself.
  const sample = await get('/api/v1/telemetry/traces', { period: 'last_1h', status: 'error', limit: 1 });
  const traceId = (sample.body as { traces: { traceId: string }[] }).traces[0]?.traceId ?? '';

  const queries: Record<
    string,
    { path: string; query: Record<string, string | number>; count: (body: never) => number }
  > = {
    errorSummary: {
      path: '/api/v1/telemetry/errors',
      query: { period: 'last_1h' },
      count: (body: { totalLines: number }) => body.totalLines,
    },
    errorSummaryFromWarn: {
      path: '/api/v1/telemetry/errors',
      query: { period: 'last_1h', minSeverity: 'WARN' },
      count: (body: { totalLines: number }) => body.totalLines,
    },
    templatesOfAllLines: {
      path: '/api/v1/telemetry/errors',
      query: { period: 'last_1h', minSeverity: 'TRACE' },
      count: (body: { totalLines: number }) => body.totalLines,
    },
    logSearchText: {
      path: '/api/v1/telemetry/logs',
      query: { period: 'last_1h', text: 'timeout calling shipping', limit: 100 },
      count: (body: { entries: unknown[] }) => body.entries.length,
    },
    logSearchRegex: {
      path: '/api/v1/telemetry/logs',
      query: { period: 'last_1h', regex: 'order 9\\d{5} placed', limit: 100 },
      count: (body: { entries: unknown[] }) => body.entries.length,
    },
    logSearchWithContext: {
      path: '/api/v1/telemetry/logs',
      query: { period: 'last_1h', component: 'payment', minSeverity: 'ERROR', limit: 20, context: 3 },
      count: (body: { entries: unknown[] }) => body.entries.length,
    },
    traceSearch: {
      path: '/api/v1/telemetry/traces',
      query: { period: 'last_1h', component: 'payment', status: 'error', minDurationMs: 50, limit: 20 },
      count: (body: { traces: unknown[] }) => body.traces.length,
    },
    traceById: {
      path: `/api/v1/telemetry/traces/${traceId}`,
      query: {},
      count: (body: { spanCount: number }) => body.spanCount,
    },
    p95Series: {
      path: '/api/v1/telemetry/metrics',
      query: { period: 'last_1h', metric: 'latency_p95', step: '1m' },
      count: (body: { series: unknown[] }) => body.series.length,
    },
    dependencyGraph: {
      path: '/api/v1/telemetry/dependencies',
      query: { period: 'last_1h' },
      count: (body: { edges: unknown[] }) => body.edges.length,
    },
  };

  const results: Record<string, { medianMs: number; worstMs: number; rows: number }> = {};
  for (const [name, { path, query, count }] of Object.entries(queries)) {
    await get(path, query); // warm-up
    const timings: number[] = [];
    let rows = 0;
    for (let run = 0; run < runs; run += 1) {
      const { ms, body } = await get(path, query);
      timings.push(ms);
      rows = count(body as never);
    }
    results[name] = { medianMs: round(median(timings), 1), worstMs: round(Math.max(...timings), 1), rows };
  }

  print({
    benchmark: 'telemetry query latency over REST',
    machine: machine(),
    stored: { logRecords: sentLogs, spans: sentSpans, loadSeconds: round(loadSeconds, 1) },
    method: `one warm-up, then the median of ${runs} calls; rows = what the answer held (lines, traces, series, edges)`,
    queries: results,
    target: { errorSummaryMedianMs: 200 },
  });
} finally {
  await stop();
}
