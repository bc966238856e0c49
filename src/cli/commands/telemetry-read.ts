// `opspilot telemetry metrics|errors|trace`: read the telemetry store from a terminal — the commands RCA reports
// print as "see:" next to their evidence, over the same REST routes (and authorization) as the dashboard.
import type { Command } from 'commander';
import type { ErrorSummary, MetricResult, SpanNode, TraceView } from '../../telemetry/query/contracts.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { parseOutputFormat, renderData, table } from '../output.js';

interface ScopeOptions {
  namespace: string;
  component?: string;
  environment?: string;
  from?: string;
  to?: string;
  period?: string;
  output: string;
}

function scopeOptions(command: Command): Command {
  return command
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('--component <name>', 'only this component')
    .option('-e, --environment <name>', 'only this environment')
    .option('--from <time>', 'window start (ISO-8601)')
    .option('--to <time>', 'window end (ISO-8601)')
    .option('--period <last_n>', 'relative window ending now, e.g. last_15m, last_1h')
    .option('-o, --output <format>', 'table, json or yaml', 'table');
}

function scopeQuery(options: ScopeOptions): Record<string, string | undefined> {
  return {
    namespace: options.namespace,
    component: options.component,
    environment: options.environment,
    from: options.from,
    to: options.to,
    period: options.period,
  };
}

export function registerTelemetryReads(telemetry: Command, context: CliContext): void {
  scopeOptions(
    telemetry
      .command('metrics <metric>')
      .description(
        'A metric per component: request_rate, error_rate, latency_p50|p95|p99, cpu, memory, or a stored metric',
      ),
  )
    .option('--step <n>', 'bucket width, e.g. 30s, 1m')
    .addHelpText(
      'after',
      `
Examples:
  opspilot telemetry metrics latency_p95 -n shop -e prod --period last_1h
  opspilot telemetry metrics error_rate -n shop --component checkout --from 2026-11-21T10:00:00Z`,
    )
    .action(async (metric: string, options: ScopeOptions & { step?: string }) => {
      try {
        const format = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
        const result = await context.client().get<MetricResult>('/api/v1/telemetry/metrics', {
          ...scopeQuery(options),
          metric,
          step: options.step,
        });
        if (format !== 'table') {
          context.out(renderData(result, format));
          return;
        }
        if (result.series.length === 0) {
          context.err(`No ${metric} data in ${result.window.from} – ${result.window.to}.\n`);
          return;
        }
        const names = result.series.map((series) =>
          Object.entries(series.labels)
            .map(([key, value]) => (key === 'component' ? value : `${key}=${value}`))
            .join(' '),
        );
        const times = [
          ...new Set(result.series.flatMap((series) => series.points.map((point) => point.time))),
        ].sort();
        const value = (index: number, time: string): string => {
          const point = result.series[index]?.points.find((candidate) => candidate.time === time);
          return point === undefined || point.value === null
            ? '-'
            : String(Number(point.value.toPrecision(4)));
        };
        context.out(
          `${result.metric} (${result.unit === '' ? 'no unit' : result.unit}, ${result.aggregation} per ${result.step})\n` +
            table(
              ['TIME', ...names.map((name) => name.toUpperCase())],
              times.map((time) => [time, ...names.map((_, index) => value(index, time))]),
            ),
        );
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  scopeOptions(
    telemetry
      .command('errors')
      .description('Top error log templates: count, first and last seen, a sample line, trace ids'),
  )
    .option('--limit <n>', 'templates at most', '10')
    .addHelpText(
      'after',
      `
Examples:
  opspilot telemetry errors -n shop -e prod --period last_1h
  opspilot telemetry errors -n shop --component cart --from 2026-11-21T10:00:00Z`,
    )
    .action(async (options: ScopeOptions & { limit: string }) => {
      try {
        const format = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
        const result = await context
          .client()
          .get<ErrorSummary>('/api/v1/telemetry/errors', { ...scopeQuery(options), limit: options.limit });
        if (format !== 'table') {
          context.out(renderData(result, format));
          return;
        }
        if (result.templates.length === 0) {
          context.err(`No error lines in ${result.window.from} – ${result.window.to}.\n`);
          return;
        }
        context.out(
          table(
            ['COUNT', 'COMPONENTS', 'FIRST SEEN', 'LAST SEEN', 'TEMPLATE'],
            result.templates.map((template) => [
              `${template.count}${template.new ? ' new' : ''}`,
              template.components.join(','),
              template.firstSeen,
              template.lastSeen,
              template.template,
            ]),
          ),
        );
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  telemetry
    .command('trace <traceId>')
    .description('One trace as a span tree: self times, failing spans, the critical path (*)')
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (traceId: string, options: { namespace: string; output: string }) => {
      try {
        const format = parseOutputFormat(options.output, ['text', 'json', 'yaml']);
        const trace = await context
          .client()
          .get<TraceView>(`/api/v1/telemetry/traces/${encodeURIComponent(traceId)}`, {
            namespace: options.namespace,
          });
        if (format !== 'text') {
          context.out(renderData(trace, format));
          return;
        }
        const lines = [
          `trace ${trace.traceId}: ${trace.durationMs} ms, ${trace.spanCount} spans, ${trace.services.join(', ')}`,
        ];
        const walk = (span: SpanNode, depth: number): void => {
          lines.push(
            `${'  '.repeat(depth)}${span.onCriticalPath ? '*' : '-'} ${span.service} ${span.name} ${span.durationMs} ms (self ${span.selfTimeMs} ms)${span.status === 'ERROR' ? ` ERROR${span.statusMessage === null ? '' : `: ${span.statusMessage}`}` : ''}`,
          );
          for (const child of span.children) walk(child, depth + 1);
        };
        for (const root of trace.roots) walk(root, 0);
        context.out(`${lines.join('\n')}\n`);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}
