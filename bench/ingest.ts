// Ingest throughput over OTLP/HTTP protobuf: log records/s, spans/s and metric points/s acknowledged by a real
// `opspilot up` (acknowledged = committed to the DuckDB store). Bodies are made by the OpenTelemetry JS SDK and
// its exporters' serializer, 1000 records each, sent by concurrent keep-alive clients from this process.
// Each signal: a fresh server, a warm-up, then RUNS timed runs; the median is reported. After the runs the
// server is stopped and the store's row count is checked against what was acknowledged.
//
//   npm run build && node --import tsx bench/ingest.ts        (RUNS=3 SECONDS=8 WORKERS=8)
import { drive, freshServer, machine, median, print, storedCounts } from './lib/harness.js';
import { logsRequest, metricsRequest, services, tracesRequest } from './lib/otlp-payloads.js';

const runs = Number(process.env.RUNS ?? 3);
const seconds = Number(process.env.SECONDS ?? 8);
const workers = Number(process.env.WORKERS ?? 8);

interface SignalResult {
  perSecond: number;
  runs: number[];
  refusedRequests: number;
  failedRequests: number;
  acknowledged: number;
  stored: number;
  bodyBytes: number;
}

async function measure(
  signal: 'logs' | 'traces' | 'metrics',
  bodies: readonly Uint8Array[],
  recordsPerBody: number,
): Promise<SignalResult> {
  const { server, dataDir, stop } = await freshServer();
  const url = `${server.otlp}/v1/${signal}`;
  let acknowledged = 0;
  let refused = 0;
  let failed = 0;
  const rates: number[] = [];
  try {
    const warm = await drive({ url, bodies, recordsPerBody, workers, seconds: 2 });
    acknowledged += warm.acknowledged;
    for (let run = 0; run < runs; run += 1) {
      const result = await drive({ url, bodies, recordsPerBody, workers, seconds });
      acknowledged += result.acknowledged;
      refused += result.refused;
      failed += result.failed;
      rates.push(result.acknowledged / result.seconds);
    }
  } finally {
    await server.stop();
  }
  const counts = await storedCounts(dataDir);
  await stop();
  const stored = signal === 'logs' ? counts.logs : signal === 'traces' ? counts.spans : counts.points;
  return {
    perSecond: Math.round(median(rates)),
    runs: rates.map((rate) => Math.round(rate)),
    refusedRequests: refused,
    failedRequests: failed,
    acknowledged,
    stored,
    bodyBytes: Math.round(bodies.reduce((sum, body) => sum + body.length, 0) / bodies.length),
  };
}

const now = Date.now();
const logBodies = Array.from({ length: 40 }, (_, index) =>
  logsRequest({
    service: services[index % services.length] ?? 'cart',
    count: 1000,
    fromMs: now - 60_000,
    toMs: now,
    seed: index + 1,
  }),
);
const traceBodies = Array.from({ length: 40 }, (_, index) =>
  tracesRequest({ traces: 111, fromMs: now - 60_000, toMs: now, seed: index + 1 }),
);
const metricBodies = await Promise.all(
  Array.from({ length: 40 }, (_, index) => metricsRequest({ series: 250, seed: index + 1 })),
);

const logs = await measure('logs', logBodies, 1000);
const spans = await measure('traces', traceBodies, 999);
const points = await measure('metrics', metricBodies, 1000);

print({
  benchmark: 'OTLP/HTTP protobuf ingest',
  machine: machine(),
  method: `median of ${runs} runs of ${seconds} s after a 2 s warm-up; ${workers} concurrent clients in the bench process; 1000 records per request`,
  logRecordsPerSecond: logs.perSecond,
  spansPerSecond: spans.perSecond,
  metricPointsPerSecond: points.perSecond,
  targets: { logRecordsPerSecond: 200_000, spansPerSecond: 100_000 },
  details: { logs, spans, metricPoints: points },
  lokiRatio: {
    status: 'not run',
    reason:
      'Grafana Loki cannot be installed here: Debian has no Grafana Loki package (the package named `loki` is an MCMC linkage-analysis program for pedigrees) and only the npm registry and Debian packages are reachable.',
  },
  storedMatchesAcknowledged: [logs, spans, points].every((result) => result.stored === result.acknowledged),
});
