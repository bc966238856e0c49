// The reads an LLM may make while answering questions about a report: logs, error templates, metrics, traces,
// a component's status and its events, in the report's namespace, as the person asking. They go through the
// governed services, so each is authorized and audited as that person's own read; none can change anything.
import { z } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { RcaReportView } from '../rca/contracts.js';
import type { ChatTool } from '../rca/writer.js';
import {
  errorSummaryQuerySchema,
  logQuerySchema,
  metricQuerySchema,
  traceQuerySchema,
} from '../telemetry/query/contracts.js';

/** Tool results longer than this are cut (the model's context is not the place for a whole log). */
export const chatToolOutputChars = 12_000;

export function rcaChatTools(services: GovernedServices, report: RcaReportView): ChatTool[] {
  const namespace = report.namespace;
  // The model never picks the namespace: the report's is the only one it may read.
  const scoped = (schema: z.ZodObject): z.ZodObject => schema.omit({ namespace: true } as never);
  const tool = (
    name: string,
    description: string,
    input: z.ZodObject,
    run: (args: Record<string, unknown>) => Promise<unknown>,
  ): ChatTool => ({
    name,
    description,
    input,
    run: async (args) => {
      try {
        return truncated(await run({ ...args, namespace }));
      } catch (error) {
        return { error: errorMessage(error) };
      }
    },
  });
  return [
    tool(
      'query_logs',
      `Log lines of namespace ${namespace}: by component, environment, minimum severity, text or regex, trace id and window (period like last_1h, or from/to).`,
      scoped(logQuerySchema.omit({ cursor: true })),
      (args) => services.queryLogs(logQuerySchema.parse(args)),
    ),
    tool(
      'get_error_summary',
      'Top error log templates with counts, first/last seen, trend, samples and trace ids.',
      scoped(errorSummaryQuerySchema),
      (args) => services.errorSummary(errorSummaryQuerySchema.parse(args)),
    ),
    tool(
      'query_metrics',
      'A metric over time: error_rate, latency_p95, request_rate, cpu, memory or any stored metric name, per component.',
      scoped(metricQuerySchema),
      (args) => services.metrics(metricQuerySchema.parse(args)),
    ),
    tool(
      'query_traces',
      'Traces by component, operation, minimum duration, status (ok|error) and window.',
      scoped(traceQuerySchema),
      (args) => services.traces(traceQuerySchema.parse(args)),
    ),
    tool(
      'query_trace_spans',
      'One trace as a span tree with self times and its critical path.',
      z.object({ traceId: z.string().regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex characters') }),
      (args) => services.trace(String(args.traceId), namespace),
    ),
    tool(
      'get_component_status',
      'A component per environment: release, desired and ready replicas, replica states, restarts.',
      z.object({ component: z.string().min(1) }),
      (args) => services.componentStatus(namespace, String(args.component)),
    ),
    tool(
      'get_events',
      'Lifecycle events newest first: Started, Ready, Unhealthy, BackOff, OOMKilled, Scaled, RolledOut, ReleaseCreated, BindingChanged.',
      z.object({
        component: z.string().min(1).optional(),
        environment: z.string().min(1).optional(),
        reason: z.string().min(1).optional(),
        since: z.iso.datetime({ offset: true }).optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
      (args) => services.events(args),
    ),
  ];
}

function truncated(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text.length <= chatToolOutputChars) return value;
  return {
    truncated: `${text.length} characters, cut to ${chatToolOutputChars}: narrow the query (component, window, limit)`,
    json: text.slice(0, chatToolOutputChars),
  };
}
