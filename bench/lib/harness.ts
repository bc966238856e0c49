// What every benchmark shares: a real `opspilot up` process on a fresh data dir, medians, JSON output, and
// what the machine was.
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { startServer, type RunningServer } from '../../test/helpers/opspilot-process.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 2 ** 30),
  };
}

export function print(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/** A fresh `opspilot up` (built CLI, no demo) in a temporary data dir. */
export async function freshServer(env: Record<string, string> = {}): Promise<{
  server: RunningServer;
  dataDir: string;
  stop: () => Promise<void>;
}> {
  const workspace = mkdtempSync(join(tmpdir(), 'opspilot-bench-'));
  const dataDir = join(workspace, 'data');
  const server = await startServer({ dataDir, env: { OPSPILOT_LOG_LEVEL: 'warn', ...env } });
  return {
    server,
    dataDir,
    stop: async () => {
      await server.stop();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}

/** Row counts of the telemetry store of a stopped server: what was really stored, not what was sent. */
export async function storedCounts(
  dataDir: string,
): Promise<{ logs: number; spans: number; points: number }> {
  const instance = await DuckDBInstance.create(join(dataDir, 'telemetry.duckdb'));
  const connection = await instance.connect();
  const count = async (table: string): Promise<number> =>
    Number(
      (await connection.runAndReadAll(`SELECT count(*) AS n FROM ${table}`)).getRowObjectsJS()[0]?.n ?? 0,
    );
  const counts = {
    logs: await count('logs'),
    spans: await count('spans'),
    points: await count('metric_points'),
  };
  connection.closeSync();
  instance.closeSync();
  return counts;
}

/**
 * Posts OTLP bodies from `workers` concurrent loops, for `seconds` (cycling through the bodies) or until
 * `requests` were sent; counts what the receiver acknowledged.
 */
export async function drive(options: {
  url: string;
  bodies: readonly Uint8Array[];
  recordsPerBody: number;
  workers: number;
  seconds?: number;
  requests?: number;
  contentType?: string;
}): Promise<{ acknowledged: number; refused: number; failed: number; seconds: number; requests: number }> {
  let acknowledged = 0;
  let refused = 0;
  let failed = 0;
  let requests = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + (options.seconds ?? Number.POSITIVE_INFINITY) * 1000;
  const more = (): boolean =>
    options.requests === undefined ? performance.now() < deadline : next < options.requests;
  // node:http with keep-alive: a lighter load generator than fetch, so that more of the machine is left to
  // the server under test.
  const agent = new Agent({ keepAlive: true, maxSockets: options.workers });
  const target = new URL(options.url);
  const post = (body: Uint8Array): Promise<{ status: number; retryAfter: string | undefined }> =>
    new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': options.contentType ?? 'application/x-protobuf',
            'content-length': body.length,
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const retryAfter = response.headers['retry-after'];
            resolve({
              status: response.statusCode ?? 0,
              retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
            });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  const worker = async (): Promise<void> => {
    while (more()) {
      const body = options.bodies[next % options.bodies.length] ?? new Uint8Array();
      next += 1;
      for (;;) {
        const response = await post(body);
        requests += 1;
        if (response.status === 200) acknowledged += options.recordsPerBody;
        else if (response.status === 429 || response.status === 503) {
          refused += 1;
          const after = Number(response.retryAfter ?? '1');
          await new Promise((resolve) => setTimeout(resolve, Math.min(after, 1) * 100));
          if (options.requests !== undefined) continue; // a fixed set of bodies: send this one again
        } else failed += 1;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  agent.destroy();
  return { acknowledged, refused, failed, requests, seconds: (performance.now() - started) / 1000 };
}
