// `opspilot analyze rca`: root-cause analysis offline, on OTLP files from anywhere (the Collector's file
// exporter format), with the same engine and configuration the RCA agent uses.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { RcaReport } from '../../analysis/rca/model.js';
import { templateLocalisation, withErrorTemplates } from '../../analysis/rca/error-templates.js';
import { errorTemplatesOf } from '../../analysis/rca/log-error-templates.js';
import { analyzeRootCauses } from '../../analysis/rca/rank-root-causes.js';
import { bucketWidthUs, seriesFromTelemetry } from '../../analysis/rca/series-from-telemetry.js';
import {
  findTraceOrigins,
  sampleTraces,
  traceLocalisations,
  withTraceOrigins,
  type LooseSpan,
} from '../../analysis/rca/trace-origins.js';
import { InvalidError } from '../../core/errors.js';
import { readOtlpFiles } from '../../telemetry/ingest/otlp-files.js';
import { spanKinds, type SpanEntry, type TelemetryBatch } from '../../telemetry/model.js';
import { httpStatus, peerOf } from '../../telemetry/span-attributes.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';

interface RcaOptions {
  input: string[];
  onset: string;
  end?: string;
  baselineStart?: string;
  baselineEnd?: string;
  service?: string;
  output?: string;
}

export function registerAnalyzeRca(analyze: Command, context: CliContext): void {
  analyze
    .command('rca')
    .description('Rank the services most likely to have caused an incident, from OTLP telemetry files')
    .requiredOption(
      '-i, --input <path...>',
      'OTLP JSON lines files or folders (metrics, logs, traces, any mix; gzipped or not)',
    )
    .requiredOption('--onset <time>', 'when the incident began: RFC 3339 or unix seconds')
    .option('--end <time>', 'end of the incident window (default: the last record)')
    .option('--baseline-start <time>', 'start of the normal period (default: the first record)')
    .option('--baseline-end <time>', 'end of the normal period (default: the onset)')
    .option(
      '--service <name>',
      'where the incident was seen (the alerted service): look for causes in it and what it calls',
    )
    .option('-o, --output <file>', 'where to write the JSON report (default stdout)')
    .addHelpText(
      'after',
      `
Input: lines as the OpenTelemetry Collector's file exporter writes them, each one ExportMetricsServiceRequest,
ExportLogsServiceRequest or ExportTraceServiceRequest in OTLP/JSON; gzipped files (.gz) are read as they are.
Services are told apart by service.name.
Spans give the call graph (a parent in one service, a child in another), per-service latency, error ratio
and request rate; logs give error rates; every metric series (name + attributes) is judged on its own.

The report ranks services best first:
  {"rootCauses":[{"service":"…","score":0.62,"kind":"latency","evidence":[…],"explains":[…]}, …],
   "excluded":[…], "timeline":[…], "noRootCause":null}
A service ranks high when its telemetry changed at onset (against the baseline and against the minutes just
before onset), when its callees do not explain the change, and when anomalous callers depend on it; the traces
(where the added latency is spent, where failures begin) and the error logs (new or surging templates) each
vote too. The incident window is never part of the baseline. One configuration for all data: nothing to tune.
Method and figures: docs/rca.md.

Examples:
  opspilot analyze rca --input otel-export/ --onset 2026-11-21T10:05:00Z --output report.json
  opspilot analyze rca --input case-00.jsonl.gz --onset 1675079506 --end 1675079686
  opspilot analyze rca -i metrics.jsonl traces.jsonl --onset 1700000000 --end 1700000900 \\
    --baseline-start 1699990000 --baseline-end 1699999000`,
    )
    .action(async (options: RcaOptions) => {
      try {
        const report = await analyzeFiles(options);
        const text = `${JSON.stringify(report, null, 2)}\n`;
        if (options.output === undefined || options.output === '-') context.out(text);
        else writeFileSync(options.output, text);
        context.err(summary(report));
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

export async function analyzeFiles(options: RcaOptions): Promise<RcaReport> {
  const onsetUs = parseTime(options.onset, '--onset');
  const batch = await readOtlpFiles(options.input);
  const [firstUs, lastUs] = extent(batch);
  if (firstUs === undefined || lastUs === undefined) {
    throw new InvalidError('the input holds no telemetry records', [], {
      hint: 'Pass files with metrics, logs or spans in OTLP/JSON.',
    });
  }
  const endUs = options.end === undefined ? Math.max(lastUs, onsetUs) : parseTime(options.end, '--end');
  const baselineStartUs =
    options.baselineStart === undefined ? firstUs : parseTime(options.baselineStart, '--baseline-start');
  const baselineEndUs =
    options.baselineEnd === undefined ? onsetUs : parseTime(options.baselineEnd, '--baseline-end');
  if (endUs < onsetUs) {
    throw new InvalidError('--end is before --onset', [], { hint: 'The incident window is [onset, end].' });
  }
  if (baselineEndUs <= baselineStartUs) {
    throw new InvalidError('the baseline window is empty', [], {
      hint: 'Give --baseline-start before --baseline-end, or leave both out to use everything before onset.',
    });
  }
  const { series, edges } = seriesFromTelemetry(batch, bucketWidthUs(onsetUs, endUs));
  if (options.service !== undefined && !series.some((item) => item.service === options.service)) {
    throw new InvalidError(`no telemetry of service ${options.service} in the input`, [], {
      hint: `Services are named by service.name; the input has ${[...new Set(series.map((item) => item.service))].slice(0, 10).join(', ')}.`,
    });
  }
  const window = { onsetUs, endUs, baselineStartUs, baselineEndUs };
  // Where the traces say failures begin and latency is added, and who began logging new errors: votes in the
  // ranking beside the series, and evidence of the root causes.
  const origins = findTraceOrigins(sampleTraces(batch.spans.map(looseSpan), window));
  const bucketUs = bucketWidthUs(onsetUs, endUs);
  const templates = errorTemplatesOf(
    batch.logs.map((log) => ({
      service: log.resource.service,
      timeUs: log.timeUs,
      severityNumber: log.severityNumber,
      body: log.body,
      traceId: log.traceId,
    })),
    baselineStartUs,
    bucketUs,
  );
  const report = analyzeRootCauses({
    series,
    edges,
    window,
    focus: options.service,
    localisations: [...traceLocalisations(origins), templateLocalisation(templates, window)],
    callChanges: origins.callChanges,
  });
  return withTraceOrigins(
    withErrorTemplates(report, templates, window, (template) => `logs with "${template.template}"`),
    origins,
    (origin) => `trace ${origin.exampleTraceId}`,
  );
}

function looseSpan(span: SpanEntry): LooseSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId === '' ? null : span.parentSpanId,
    service: span.resource.service,
    name: span.name,
    kind: spanKinds[span.kind] ?? 'UNSPECIFIED',
    startUs: span.startUs,
    endUs: span.endUs,
    error: span.statusCode === 2 || (httpStatus(span.attributes) ?? 0) >= 500,
    statusMessage: span.statusMessage === '' ? null : span.statusMessage,
    peer: peerOf(span.attributes) || null,
  };
}

/** RFC 3339 or unix seconds (fractions allowed) → µs. */
export function parseTime(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1e6);
  const ms = Date.parse(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(trimmed) || Number.isNaN(ms)) {
    throw new InvalidError(`${option} ${JSON.stringify(text)} is not a time`, [], {
      hint: 'Use RFC 3339 (2026-11-21T10:05:00Z) or unix seconds (1763719500).',
    });
  }
  return ms * 1000;
}

function extent(batch: TelemetryBatch): [number | undefined, number | undefined] {
  let first: number | undefined;
  let last: number | undefined;
  const see = (time: number) => {
    if (time <= 0) return;
    first = first === undefined || time < first ? time : first;
    last = last === undefined || time > last ? time : last;
  };
  for (const point of batch.points) see(point.timeUs);
  for (const span of batch.spans) see(span.startUs);
  for (const log of batch.logs) see(log.timeUs);
  return [first, last];
}

function summary(report: RcaReport): string {
  if (report.rootCauses.length === 0) return `no root cause found: ${report.noRootCause ?? ''}\n`;
  return (
    report.rootCauses
      .slice(0, 3)
      .map(
        (cause, index) =>
          `${index + 1}. ${cause.service} (${cause.score.toFixed(2)}, ${cause.kind}): ${cause.evidence[0]?.summary ?? ''}`,
      )
      .join('\n') + '\n'
  );
}
