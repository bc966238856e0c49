// `opspilot telemetry import`: OTLP JSON lines in the OpenTelemetry Collector file exporter's format (one export
// request per line, signals mixed, optionally gzip) replayed into a real server, then found by the queries.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogResult, MetricResult, TraceSearchResult } from '../../src/telemetry/query/contracts.js';
import { runCli, startServer, type RunningServer } from '../helpers/opspilot-process.js';

let workspace: string;
let server: RunningServer;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-import-'));
  server = await startServer({ dataDir: join(workspace, 'data') });
});

afterAll(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

const resource = {
  attributes: [
    { key: 'service.name', value: { stringValue: 'checkout' } },
    { key: 'opspilot.namespace', value: { stringValue: 'shop' } },
    { key: 'deployment.environment.name', value: { stringValue: 'prod' } },
  ],
};
const nowNs = BigInt(Date.now() - 60_000) * 1_000_000n;
const at = (offsetMs: number): string => String(nowNs + BigInt(offsetMs) * 1_000_000n);
const traceId = '5b8efff798038103d269b633813fc60c';

// Shaped as the Collector's file exporter writes them: the JSON encoding of the OTLP protobuf messages.
const traces = {
  resourceSpans: [
    {
      resource,
      scopeSpans: [
        {
          scope: { name: 'checkout-http' },
          spans: [
            {
              traceId,
              spanId: 'eee19b7ec3c1b174',
              name: 'POST /checkout',
              kind: 2,
              startTimeUnixNano: at(0),
              endTimeUnixNano: at(120),
              attributes: [{ key: 'http.response.status_code', value: { intValue: '500' } }],
              status: { code: 2, message: 'payment declined' },
            },
            {
              traceId,
              spanId: 'eee19b7ec3c1b175',
              parentSpanId: 'eee19b7ec3c1b174',
              name: 'charge card',
              kind: 3,
              startTimeUnixNano: at(10),
              endTimeUnixNano: at(100),
            },
          ],
        },
      ],
    },
  ],
};
const logs = {
  resourceLogs: [
    {
      resource,
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: at(50),
              severityNumber: 17,
              severityText: 'ERROR',
              body: { stringValue: 'payment declined for order 4711' },
              traceId,
              spanId: 'eee19b7ec3c1b174',
            },
            { timeUnixNano: at(60), severityNumber: 9, body: { stringValue: 'order 4711 closed' } },
          ],
        },
      ],
    },
  ],
};
const metrics = {
  resourceMetrics: [
    {
      resource,
      scopeMetrics: [
        {
          metrics: [
            {
              name: 'queue.depth',
              unit: '{item}',
              gauge: {
                dataPoints: [
                  { timeUnixNano: at(0), asInt: '7' },
                  { timeUnixNano: at(1000), asDouble: 9.5 },
                ],
              },
            },
          ],
        },
      ],
    },
  ],
};

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${server.url}${path}`, { headers: server.headers });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as T;
}

describe('opspilot telemetry import', () => {
  it('replays mixed signals from plain and gzip files into the store', async () => {
    const plain = join(workspace, 'export.jsonl');
    const zipped = join(workspace, 'export-2.jsonl.gz');
    writeFileSync(plain, `${JSON.stringify(traces)}\n${JSON.stringify(logs)}\n\n`);
    writeFileSync(zipped, gzipSync(`${JSON.stringify(metrics)}\n`));
    const result = await runCli(['telemetry', 'import', plain, zipped], { server: server.url });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('imported 2 spans, 2 log records, 2 metric points from 3 lines');

    const found = await api<LogResult>(
      `/api/v1/telemetry/logs?namespace=shop&traceId=${traceId}&period=last_1h`,
    );
    expect(found.entries.map((line) => line.body)).toEqual(['payment declined for order 4711']);
    const search = await api<TraceSearchResult>(
      '/api/v1/telemetry/traces?namespace=shop&status=error&period=last_1h',
    );
    expect(search.traces.map((trace) => [trace.traceId, trace.spanCount])).toEqual([[traceId, 2]]);
    const gauge = await api<MetricResult>(
      '/api/v1/telemetry/metrics?namespace=shop&metric=queue.depth&aggregation=max&period=last_1h&step=1h',
    );
    expect(
      Math.max(...gauge.series.flatMap((series) => series.points.map((point) => point.value ?? 0))),
    ).toBe(9.5);
  });

  it('reports bad lines with file and line number, imports the rest and exits 2', async () => {
    const file = join(workspace, 'mixed.jsonl');
    const badSpan = {
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz', spanId: '00', name: 'x' }] }] }],
    };
    writeFileSync(
      file,
      [
        JSON.stringify(logs),
        '{"resourceLogs": [',
        '{"hello": 1}',
        JSON.stringify(badSpan),
        JSON.stringify(logs),
      ].join('\n'),
    );
    const result = await runCli(['telemetry', 'import', file], { server: server.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('imported 0 spans, 4 log records');
    expect(result.stderr).toContain(`${file}:2: not JSON`);
    expect(result.stderr).toContain(`${file}:3: not an OTLP export request`);
    expect(result.stderr).toMatch(
      new RegExp(`${file}:4: 1 traces records rejected: .*traceId must be 32 hex characters`),
    );
  });

  it('refuses missing files before sending anything, and says when the server is down', async () => {
    const missing = await runCli(['telemetry', 'import', join(workspace, 'nope.jsonl')], {
      server: server.url,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.jsonl: no such file');

    const file = join(workspace, 'one.jsonl');
    writeFileSync(file, `${JSON.stringify(logs)}\n`);
    const down = await runCli(['telemetry', 'import', file], { server: 'http://127.0.0.1:9' });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('cannot reach the opspilot server');
  });
});
