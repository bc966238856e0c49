// `opspilot analyze rca` as users run it: the built CLI on OTLP JSON lines files written like the OpenTelemetry
// Collector's file exporter writes them (traces, metrics and logs in separate files), no server.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RcaReport } from '../../src/analysis/rca/model.js';
import { runCli } from '../helpers/opspilot-process.js';

let workspace: string;
const start = Date.UTC(2026, 10, 21, 9, 0) / 1000;
const onset = start + 40 * 60;
const nanos = (seconds: number) => `${BigInt(Math.round(seconds * 1e6)) * 1000n}`;
const resource = (service: string) => ({
  attributes: [{ key: 'service.name', value: { stringValue: service } }],
});

/**
 * frontend → cart → redis, 20 requests a minute for 50 minutes. From onset redis answers 300 ms slower and
 * cart logs errors; frontend and cart are slower only because they wait for redis.
 */
function writeTelemetry(): { traces: string; logs: string; metrics: string } {
  const traces: string[] = [];
  const logs: string[] = [];
  const metrics: string[] = [];
  let id = 0;
  const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');
  for (let second = start; second < start + 50 * 60; second += 3) {
    const slow = second >= onset;
    const jitter = ((id * 7919) % 17) / 1000;
    const redisMs = 2 + jitter * 100 + (slow ? 300 : 0);
    const cartMs = redisMs + 8 + jitter * 50;
    const frontendMs = cartMs + 20 + jitter * 80;
    id += 1;
    const traceId = hex(id, 32);
    const span = (spanId: string, parent: string, name: string, ms: number, offsetMs: number) => ({
      traceId,
      spanId,
      parentSpanId: parent,
      name,
      kind: 2,
      startTimeUnixNano: nanos(second + offsetMs / 1000),
      endTimeUnixNano: nanos(second + (offsetMs + ms) / 1000),
      status: {},
    });
    const [f, c, r] = [hex(id * 3, 16), hex(id * 3 + 1, 16), hex(id * 3 + 2, 16)];
    traces.push(
      JSON.stringify({
        resourceSpans: [
          {
            resource: resource('frontend'),
            scopeSpans: [{ spans: [span(f, '', 'GET /cart', frontendMs, 0)] }],
          },
          { resource: resource('cart'), scopeSpans: [{ spans: [span(c, f, 'GetCart', cartMs, 10)] }] },
          { resource: resource('redis'), scopeSpans: [{ spans: [span(r, c, 'HGETALL', redisMs, 14)] }] },
        ],
      }),
    );
    if (slow && id % 2 === 0) {
      logs.push(
        JSON.stringify({
          resourceLogs: [
            {
              resource: resource('cart'),
              scopeLogs: [
                {
                  logRecords: [
                    {
                      timeUnixNano: nanos(second),
                      severityNumber: 17,
                      severityText: 'ERROR',
                      body: { stringValue: `timeout reading cart ${id} from redis` },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
    }
  }
  // A gauge that merely wobbles: judged, not anomalous.
  for (let minute = 0; minute < 50; minute += 1) {
    metrics.push(
      JSON.stringify({
        resourceMetrics: [
          {
            resource: resource('frontend'),
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'process.cpu.utilization',
                    unit: '1',
                    gauge: {
                      dataPoints: [
                        { timeUnixNano: nanos(start + minute * 60), asDouble: 0.2 + (minute % 5) / 100 },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
  }
  const folder = join(workspace, 'otel');
  mkdirSync(folder);
  const files = {
    traces: join(folder, 'traces.jsonl'),
    logs: join(folder, 'logs.jsonl'),
    metrics: join(folder, 'metrics.jsonl'),
  };
  writeFileSync(files.traces, `${traces.join('\n')}\n`);
  writeFileSync(files.logs, `${logs.join('\n')}\n`);
  writeFileSync(files.metrics, `${metrics.join('\n')}\n`);
  return files;
}

let files: { traces: string; logs: string; metrics: string };

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-rca-'));
  files = writeTelemetry();
});

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
});

describe('opspilot analyze rca', () => {
  it('names redis from traces, logs and metrics, with the call graph and the evidence', async () => {
    const output = join(workspace, 'report.json');
    const result = await runCli([
      'analyze',
      'rca',
      '--input',
      files.traces,
      files.logs,
      files.metrics,
      '--onset',
      new Date(onset * 1000).toISOString(),
      '--output',
      output,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^1\. redis \(\d\.\d\d, latency\): span\.duration\.mean rose/);
    const report = JSON.parse(readFileSync(output, 'utf8')) as RcaReport;
    expect(report.rootCauses[0]).toMatchObject({ service: 'redis', kind: 'latency' });
    expect(report.rootCauses[0]?.explains).toEqual(['cart', 'frontend']);
    expect(report.rootCauses[0]?.evidence[0]).toMatchObject({
      source: 'trace',
      metric: 'span.duration.mean',
    });
    // The traces agree: the added latency is spent in redis, on the critical path.
    const added = report.rootCauses[0]?.evidence.find(
      (item) => item.metric === 'trace.critical_path_self_time',
    );
    expect(added?.summary).toMatch(
      /^adds (29\d|30\d) ms to the mean request on the critical path .*\b(9\d|100)% of the added latency\), most in HGETALL/,
    );
    expect(report.analyzed.edges).toBe(2);
    // frontend is slower only by what it waits for: a victim.
    expect(report.excluded.map((entry) => entry.service)).toContain('frontend');
    // cart's error logs surged at onset: they are evidence, ranked below the latency that explains them.
    const cart = report.rootCauses.find((cause) => cause.service === 'cart');
    expect(cart?.evidence.some((item) => item.source === 'log' && item.metric === 'log.errors.rate')).toBe(
      true,
    );
    expect(report.window.onset).toBe(new Date(onset * 1000).toISOString());
  });

  it('accepts unix seconds and a folder, and writes to stdout', async () => {
    const result = await runCli([
      'analyze',
      'rca',
      '-i',
      join(workspace, 'otel'),
      '--onset',
      String(onset),
      '--end',
      String(onset + 600),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as RcaReport;
    expect(report.rootCauses[0]?.service).toBe('redis');
    expect(report.window.end).toBe(new Date((onset + 600) * 1000).toISOString());
  });

  it('reads gzipped OTLP files, by name or by their magic bytes, and names a corrupt one', async () => {
    const zipped = join(workspace, 'zipped');
    mkdirSync(zipped, { recursive: true });
    const all = [files.traces, files.logs, files.metrics].map((file) => readFileSync(file, 'utf8')).join('');
    writeFileSync(join(zipped, 'case.jsonl.gz'), gzipSync(all));
    const byName = await runCli(['analyze', 'rca', '-i', zipped, '--onset', String(onset)]);
    expect(byName.code, byName.stderr).toBe(0);
    expect((JSON.parse(byName.stdout) as RcaReport).rootCauses[0]?.service).toBe('redis');
    const unnamed = join(workspace, 'export.jsonl'); // gzip content under a plain name
    writeFileSync(unnamed, gzipSync(all));
    const byMagic = await runCli(['analyze', 'rca', '-i', unnamed, '--onset', String(onset)]);
    expect(byMagic.code, byMagic.stderr).toBe(0);
    expect((JSON.parse(byMagic.stdout) as RcaReport).rootCauses[0]?.service).toBe('redis');
    const truncated = join(workspace, 'truncated.jsonl.gz');
    const whole = gzipSync(all);
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const broken = await runCli(['analyze', 'rca', '-i', truncated, '--onset', String(onset)]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`${truncated}: not readable gzip`);
    rmSync(unnamed);
    rmSync(truncated);
  });

  it('explains bad input with the file and line, and bad times with the option', async () => {
    const bad = join(workspace, 'bad.ndjson'); // outside the otel folder
    writeFileSync(bad, `${readFileSync(files.metrics, 'utf8').split('\n')[0] ?? ''}\n{"resourceSpans": 3}\n`);
    const broken = await runCli(['analyze', 'rca', '-i', bad, '--onset', String(onset)]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`${bad}:2: resourceSpans must be an array`);
    rmSync(bad);
    const time = await runCli(['analyze', 'rca', '-i', files.traces, '--onset', 'yesterday']);
    expect(time.code).toBe(2);
    expect(time.stderr).toContain('--onset "yesterday" is not a time');
    const service = await runCli([
      'analyze',
      'rca',
      '-i',
      files.traces,
      '--onset',
      String(onset),
      '--service',
      'nope',
    ]);
    expect(service.code).toBe(2);
    expect(service.stderr).toContain('no telemetry of service nope in the input');
  });
});
