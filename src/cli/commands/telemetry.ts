// `opspilot telemetry import FILE…`: replays OTLP JSON lines (the OpenTelemetry Collector file exporter's format:
// one Export{Trace,Metrics,Logs}ServiceRequest per line, signals mixed) into a running server, through its OTLP
// receiver: the same validation, back-pressure and durability as live telemetry.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { InvalidError, UnavailableError } from '../../core/errors.js';
import type { ApiClient } from '../api-client.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { registerTelemetryReads } from './telemetry-read.js';

type Signal = 'traces' | 'metrics' | 'logs';

const signals: readonly { signal: Signal; key: string; count: (request: unknown) => number }[] = [
  {
    signal: 'traces',
    key: 'resourceSpans',
    count: (request) => countNested(request, ['resourceSpans', 'scopeSpans', 'spans']),
  },
  {
    signal: 'logs',
    key: 'resourceLogs',
    count: (request) => countNested(request, ['resourceLogs', 'scopeLogs', 'logRecords']),
  },
  { signal: 'metrics', key: 'resourceMetrics', count: countDataPoints },
];

interface ImportOptions {
  otlpEndpoint?: string;
  concurrency: string;
  progress?: boolean;
}

export function registerTelemetry(program: Command, context: CliContext): void {
  const telemetry = program
    .command('telemetry')
    .description('Work with the telemetry store of a running server');
  registerTelemetryReads(telemetry, context);
  telemetry
    .command('import')
    .description('Replay OTLP JSON lines (OpenTelemetry Collector file exporter format) into the server')
    .argument('<files...>', 'files with one OTLP export request per line (.gz files are decompressed)')
    .option(
      '--otlp-endpoint <url>',
      "OTLP/HTTP base URL (default: the server's receiver, asked over --server)",
    )
    .option('--concurrency <n>', 'requests in flight', '4')
    .option('--no-progress', 'no progress bar (it is only drawn on a terminal anyway)')
    .addHelpText(
      'after',
      `
Each line is one ExportTraceServiceRequest, ExportMetricsServiceRequest or ExportLogsServiceRequest in OTLP
JSON; signals may be mixed in one file. Lines go to /v1/traces, /v1/metrics or /v1/logs of the receiver, which
validates them as it does live data; when it is busy (429/503) the import waits as told by Retry-After.
Lines that are not OTLP JSON are reported with their file and line number and skipped; the exit code is then 2.

Examples:
  opspilot telemetry import collector-export.jsonl
  opspilot telemetry import day1.jsonl.gz day2.jsonl.gz --server http://ops.internal:7400`,
    )
    .action(async (files: string[], options: ImportOptions) => {
      try {
        process.exitCode = await importFiles(files, options, context);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

interface Totals {
  traces: number;
  metrics: number;
  logs: number;
  lines: number;
  rejected: number;
  bytes: number;
}

async function importFiles(
  files: readonly string[],
  options: ImportOptions,
  context: CliContext,
): Promise<number> {
  const concurrency = Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new InvalidError(`--concurrency ${options.concurrency}: expected a whole number from 1 to 64`);
  }
  let totalBytes = 0;
  for (const file of files) {
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new InvalidError(`${file} is not a file`);
      totalBytes += stat.size;
    } catch (error) {
      if (error instanceof InvalidError) throw error;
      throw new InvalidError(`${file}: no such file`, [], { hint: 'Check the path; nothing was imported.' });
    }
  }
  const client = context.client();
  const endpoint = await resolveEndpoint(client, options.otlpEndpoint);
  const sender = new Sender(endpoint, client.token, concurrency);
  const totals: Totals = { traces: 0, metrics: 0, logs: 0, lines: 0, rejected: 0, bytes: 0 };
  const problems: string[] = [];
  const started = performance.now();
  const progress =
    options.progress !== false && process.stderr.isTTY
      ? new ProgressBar(totalBytes, (text) => {
          context.err(text);
        })
      : undefined;
  const report = (problem: string): void => {
    if (problems.length < 20) problems.push(problem);
    totals.rejected += 1;
  };

  for (const file of files) {
    const raw = createReadStream(file);
    raw.on('data', (chunk) => {
      totals.bytes += chunk.length;
      progress?.update(totals);
    });
    const input: Readable = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    raw.on('error', (error) => input.destroy(error));
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let lineNumber = 0;
    try {
      for await (const line of lines) {
        lineNumber += 1;
        if (line.trim() === '') continue;
        const where = `${file}:${lineNumber}`;
        let request: unknown;
        try {
          request = JSON.parse(line);
        } catch (error) {
          report(`${where}: not JSON (${(error as Error).message})`);
          continue;
        }
        const present = signals.filter(
          ({ key }) => typeof request === 'object' && request !== null && key in request,
        );
        if (present.length === 0) {
          report(`${where}: not an OTLP export request (no resourceSpans, resourceMetrics or resourceLogs)`);
          continue;
        }
        totals.lines += 1;
        for (const { signal, count } of present) {
          const records = count(request);
          await sender.send(signal, line, (outcome) => {
            if (outcome.error !== undefined) {
              report(`${where}: ${outcome.error}`);
              return;
            }
            totals[signal] += records - outcome.rejected;
            if (outcome.rejected > 0) {
              if (problems.length < 20)
                problems.push(
                  `${where}: ${outcome.rejected} ${signal} records rejected: ${outcome.message ?? ''}`,
                );
              totals.rejected += 1;
            }
            progress?.update(totals);
          });
        }
      }
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new InvalidError(`${file}: cannot read it (${code ?? (error as Error).message})`, [], {
        hint: code === 'Z_DATA_ERROR' ? 'The file ends in .gz but is not gzip data.' : undefined,
      });
    } finally {
      await sender.drain().catch(() => undefined);
    }
  }
  await sender.drain();
  progress?.finish(totals);

  const seconds = (performance.now() - started) / 1000;
  context.err(
    `imported ${totals.traces} spans, ${totals.logs} log records, ${totals.metrics} metric points from ${totals.lines} lines in ${seconds.toFixed(1)}s\n`,
  );
  for (const problem of problems) context.err(`  ${problem}\n`);
  if (totals.rejected > problems.length) context.err(`  … and ${totals.rejected - problems.length} more\n`);
  return totals.rejected > 0 ? exitCodes.invalid : exitCodes.ok;
}

async function resolveEndpoint(client: ApiClient, given: string | undefined): Promise<string> {
  let endpoint = given;
  if (endpoint === undefined) {
    const info = await client.get<{ otlpEndpoint: string | null }>('/api/v1/telemetry/receiver');
    if (info.otlpEndpoint === null) {
      throw new UnavailableError(
        `the server at ${client.server} does not receive OTLP (otlp.enabled is false)`,
        {
          hint: 'Enable it (OPSPILOT_OTLP_ENABLED=true) or pass --otlp-endpoint.',
        },
      );
    }
    endpoint = info.otlpEndpoint;
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidError(`--otlp-endpoint ${endpoint}: not a URL`, [], {
      hint: 'Example: http://127.0.0.1:4318',
    });
  }
  // A receiver bound to every interface reports 0.0.0.0: reach it where the server was reached.
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = new URL(client.server).hostname;
  return url.toString().replace(/\/$/, '');
}

interface Outcome {
  rejected: number;
  message?: string;
  error?: string;
}

/** Posts lines with a bounded number in flight, retrying when the receiver asks to (429, 502, 503, 504). */
class Sender {
  private readonly inflight = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly token: string | undefined,
    private readonly concurrency: number,
  ) {}

  async send(signal: Signal, body: string, done: (outcome: Outcome) => void): Promise<void> {
    this.rethrow();
    while (this.inflight.size >= this.concurrency) await Promise.race(this.inflight);
    this.rethrow(); // a request that just finished may have failed for good
    const task = this.post(signal, body)
      .then(done, (error: unknown) => {
        this.failure ??= error as Error;
      })
      .finally(() => this.inflight.delete(task));
    this.inflight.add(task);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inflight);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async post(signal: Signal, body: string): Promise<Outcome> {
    const url = `${this.endpoint}/v1/${signal}`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    for (let attempt = 1; ; attempt += 1) {
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, { method: 'POST', headers, body });
        text = await response.text();
      } catch (error) {
        // Connection refused or reset, before or while the answer was read: the line may be sent again.
        if (attempt < 5) {
          await sleep(250 * 2 ** attempt);
          continue;
        }
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new UnavailableError(`cannot reach the OTLP receiver at ${this.endpoint} (${cause})`, {
          hint: 'Is the server running? Lines before this point were imported; re-running imports them again.',
        });
      }
      if ([429, 502, 503, 504].includes(response.status) && attempt < 30) {
        const after = Number(response.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 200 * attempt);
        continue;
      }
      const parsed = safeJson(text) as
        { message?: string; partialSuccess?: Record<string, string | undefined> } | undefined;
      if (!response.ok) {
        const reason = parsed?.message ?? (text.slice(0, 200) || response.statusText);
        return { rejected: 0, error: `HTTP ${response.status} from ${url}: ${reason}` };
      }
      const partial = parsed?.partialSuccess;
      if (partial === undefined) return { rejected: 0 };
      const rejected = Number(
        partial.rejectedSpans ?? partial.rejectedLogRecords ?? partial.rejectedDataPoints ?? 0,
      );
      return { rejected, message: partial.errorMessage };
    }
  }
}

/** A one-line bar on stderr, redrawn at most ten times a second. */
class ProgressBar {
  private last = 0;

  constructor(
    private readonly totalBytes: number,
    private readonly write: (text: string) => void,
  ) {}

  update(totals: Totals): void {
    const now = performance.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.draw(totals);
  }

  finish(totals: Totals): void {
    this.draw(totals);
    this.write('\n');
  }

  private draw(totals: Totals): void {
    const share = this.totalBytes === 0 ? 1 : Math.min(1, totals.bytes / this.totalBytes);
    const width = 24;
    const filled = Math.round(share * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.write(
      `\r${bar} ${(share * 100).toFixed(0).padStart(3)}%  ${megabytes(totals.bytes)}/${megabytes(this.totalBytes)}  ` +
        `${totals.traces} spans  ${totals.logs} logs  ${totals.metrics} points  ${totals.rejected} rejected\u001b[K`,
    );
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function countNested(value: unknown, path: readonly string[]): number {
  const [head, ...rest] = path;
  if (head === undefined) return 1;
  const list = (value as Record<string, unknown> | null)?.[head];
  if (!Array.isArray(list)) return 0;
  return rest.length === 0
    ? list.length
    : list.reduce((sum: number, item: unknown) => sum + countNested(item, rest), 0);
}

function countDataPoints(request: unknown): number {
  let points = 0;
  const resources = (request as { resourceMetrics?: unknown }).resourceMetrics;
  for (const resource of Array.isArray(resources) ? resources : []) {
    const scopes = (resource as { scopeMetrics?: unknown }).scopeMetrics;
    for (const scope of Array.isArray(scopes) ? scopes : []) {
      const metrics = (scope as { metrics?: unknown }).metrics;
      for (const metric of Array.isArray(metrics) ? metrics : []) {
        for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
          const data = (metric as Record<string, { dataPoints?: unknown } | undefined>)[kind];
          if (Array.isArray(data?.dataPoints)) points += data.dataPoints.length;
        }
      }
    }
  }
  return points;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
