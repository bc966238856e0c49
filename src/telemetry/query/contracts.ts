// Input and output contracts of the telemetry queries. One zod schema per contract: it validates the REST
// query string, documents OpenAPI, and will type the observability MCP tools and the dashboard.
import { z } from 'zod';
import { resourceNameSchema } from '../../platform/resource-kinds.js';

export const severityNames = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type SeverityFilter = (typeof severityNames)[number];

/** `last_15m`, `last_1h`, `last_24h`, `last_7d`, … */
export const periodSchema = z
  .string()
  .regex(/^last_\d+(s|m|h|d)$/, 'expected last_<n><s|m|h|d>, e.g. last_15m, last_1h, last_7d')
  .describe('Relative window ending now');

const isoTime = z.iso.datetime({ offset: true }).describe('ISO-8601 time');

/** A time window: `period`, or `from`/`to` (either may be left out). */
export const windowSchema = z.object({
  period: periodSchema.optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
});

const scopeSchema = z.object({
  namespace: resourceNameSchema.describe('Tenant; required'),
  project: resourceNameSchema.optional(),
  component: z
    .string()
    .min(1)
    .optional()
    .describe('Component (or service.name of services opspilot does not run)'),
  environment: resourceNameSchema.optional(),
  replica: z.string().min(1).optional().describe('One replica (service.instance.id)'),
});

export const logQuerySchema = scopeSchema.extend(windowSchema.shape).extend({
  minSeverity: z.enum(severityNames).optional(),
  text: z.string().min(1).max(500).optional().describe('Case-insensitive substring of the message'),
  regex: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe('Regular expression (RE2 syntax) the message must match'),
  traceId: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex characters')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
  context: z.coerce.number().int().min(0).max(20).default(0).describe('Lines before and after each match'),
});
export type LogQuery = z.output<typeof logQuerySchema>;

export const logEntrySchema = z.object({
  timestamp: z.string(),
  severity: z.string(),
  severityNumber: z.number(),
  body: z.string(),
  traceId: z.string().nullable(),
  spanId: z.string().nullable(),
  service: z.string(),
  component: z.string(),
  environment: z.string(),
  replica: z.string(),
  scope: z.string().nullable(),
  eventName: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
});
export type LogEntryView = z.infer<typeof logEntrySchema>;

export const logResultSchema = z
  .object({
    entries: z.array(
      logEntrySchema.extend({
        context: z.object({ before: z.array(logEntrySchema), after: z.array(logEntrySchema) }).optional(),
      }),
    ),
    window: z.object({ from: z.string(), to: z.string() }),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass as cursor for the next (older) page; null when there is none'),
    truncated: z.boolean().describe('True when more matches exist than were returned'),
  })
  .meta({ id: 'LogSearchResult' });
export type LogResult = z.infer<typeof logResultSchema>;

export const errorSummaryQuerySchema = scopeSchema.extend(windowSchema.shape).extend({
  minSeverity: z.enum(severityNames).default('ERROR'),
  limit: z.coerce.number().int().min(1).max(100).default(10),
  buckets: z.coerce.number().int().min(1).max(200).default(12).describe('Points in each template’s trend'),
  newSince: isoTime.optional().describe('Mark templates first seen at or after this time as new'),
});
export type ErrorSummaryQuery = z.output<typeof errorSummaryQuerySchema>;

export const errorTemplateSchema = z.object({
  template: z.string(),
  count: z.number(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  /** First time this template was ever seen (all retained data), for "new since". */
  firstEverSeen: z.string(),
  new: z.boolean(),
  trend: z.array(z.object({ time: z.string(), count: z.number() })),
  samples: z.array(z.string()),
  traceIds: z.array(z.string()),
  components: z.array(z.string()),
  severity: z.string(),
});
export type ErrorTemplate = z.infer<typeof errorTemplateSchema>;

export const errorSummarySchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string() }),
    totalLines: z.number(),
    distinctTemplates: z.number(),
    templates: z.array(errorTemplateSchema),
    truncated: z.boolean().describe('True when there are more templates than limit'),
  })
  .meta({ id: 'ErrorSummary' });
export type ErrorSummary = z.infer<typeof errorSummarySchema>;

export const derivedMetrics = [
  'request_rate',
  'error_rate',
  'latency_p50',
  'latency_p95',
  'latency_p99',
  'cpu',
  'memory',
] as const;
export const aggregations = ['avg', 'min', 'max', 'sum', 'rate', 'p50', 'p95', 'p99'] as const;
export type Aggregation = (typeof aggregations)[number];

export const metricQuerySchema = scopeSchema.extend(windowSchema.shape).extend({
  metric: z
    .string()
    .min(1)
    .describe(`${derivedMetrics.join(' | ')} | any stored metric name`),
  aggregation: z.enum(aggregations).optional().describe('Default: the natural one for the metric'),
  step: z
    .string()
    .regex(/^\d+(s|m|h|d)$/, 'expected <n><s|m|h|d>, e.g. 30s, 5m')
    .optional()
    .describe('Bucket width; default gives about 60 points'),
  groupBy: z.enum(['none', 'component', 'environment', 'replica']).default('component'),
});
export type MetricQuery = z.output<typeof metricQuerySchema>;

export const metricResultSchema = z
  .object({
    metric: z.string(),
    unit: z.string(),
    aggregation: z.enum(aggregations),
    step: z.string(),
    window: z.object({ from: z.string(), to: z.string() }),
    series: z.array(
      z.object({
        labels: z.record(z.string(), z.string()),
        points: z.array(z.object({ time: z.string(), value: z.number().nullable() })),
      }),
    ),
    truncated: z.boolean(),
  })
  .meta({ id: 'MetricSeries' });
export type MetricResult = z.infer<typeof metricResultSchema>;

export const traceQuerySchema = scopeSchema.extend(windowSchema.shape).extend({
  operation: z.string().min(1).optional().describe('Span name, e.g. GET /cart'),
  minDurationMs: z.coerce.number().min(0).optional(),
  status: z.enum(['ok', 'error']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(20),
});
export type TraceQuery = z.output<typeof traceQuerySchema>;

export const traceSummarySchema = z.object({
  traceId: z.string(),
  rootService: z.string(),
  rootName: z.string(),
  start: z.string(),
  durationMs: z.number(),
  spanCount: z.number(),
  errorCount: z.number(),
  services: z.array(z.string()),
});

export const traceSearchResultSchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string() }),
    traces: z.array(traceSummarySchema),
    truncated: z.boolean(),
  })
  .meta({ id: 'TraceSearchResult' });
export type TraceSearchResult = z.infer<typeof traceSearchResultSchema>;

/** One span of a sampled trace, flat, with times in µs since the epoch: what trace analyzers read. */
export const flatSpanSchema = z.object({
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  service: z.string(),
  name: z.string(),
  kind: z.string(),
  startUs: z.number(),
  endUs: z.number(),
  error: z.boolean().describe('Status ERROR or an HTTP status of 500 or more'),
  statusMessage: z.string().nullable(),
  peer: z.string().nullable().describe('The called service of a CLIENT span (peer.service, server.address)'),
});
export type FlatSpan = z.infer<typeof flatSpanSchema>;

export const traceSampleSchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string() }),
    traces: z.array(z.object({ traceId: z.string(), spans: z.array(flatSpanSchema) })),
    truncated: z.boolean(),
  })
  .meta({ id: 'TraceSample' });
export type TraceSample = z.infer<typeof traceSampleSchema>;

export interface SpanNode {
  spanId: string;
  parentSpanId: string | null;
  service: string;
  component: string;
  name: string;
  kind: string;
  start: string;
  startOffsetMs: number;
  durationMs: number;
  selfTimeMs: number;
  status: string;
  statusMessage: string | null;
  attributes: Record<string, unknown>;
  events: unknown[];
  onCriticalPath: boolean;
  children: SpanNode[];
}

export const spanNodeSchema: z.ZodType<SpanNode> = z
  .object({
    spanId: z.string(),
    parentSpanId: z.string().nullable(),
    service: z.string(),
    component: z.string(),
    name: z.string(),
    kind: z.string(),
    start: z.string(),
    startOffsetMs: z.number(),
    durationMs: z.number(),
    selfTimeMs: z.number(),
    status: z.string(),
    statusMessage: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    events: z.array(z.unknown()),
    onCriticalPath: z.boolean(),
    get children() {
      return z.array(spanNodeSchema);
    },
  })
  .meta({ id: 'SpanNode' });

export const traceSchema = z
  .object({
    traceId: z.string(),
    durationMs: z.number(),
    spanCount: z.number(),
    services: z.array(z.string()),
    roots: z.array(spanNodeSchema).describe('Usually one; more when parents were not received'),
    criticalPath: z.array(
      z.object({ spanId: z.string(), service: z.string(), name: z.string(), selfTimeMs: z.number() }),
    ),
  })
  .meta({ id: 'Trace' });
export type TraceView = z.infer<typeof traceSchema>;

export const dependencyQuerySchema = z
  .object({ namespace: resourceNameSchema, environment: resourceNameSchema.optional() })
  .extend(windowSchema.shape);
export type DependencyQuery = z.output<typeof dependencyQuerySchema>;

const healthSchema = z.object({
  requestRate: z.number().describe('Requests per second'),
  errorRate: z.number().describe('Failed requests / requests, 0..1'),
  latencyP95Ms: z.number().nullable(),
});

export const dependencyGraphSchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string() }),
    nodes: z.array(
      z
        .object({
          service: z
            .string()
            .describe('The component; `namespace/component` for a service of another namespace'),
          namespace: z.string().describe("The service's namespace; empty for external endpoints"),
          environment: z.string(),
          kind: z
            .enum(['service', 'external', 'outside'])
            .describe('outside: the services the caller may not see, as one anonymous node'),
        })
        .extend(healthSchema.shape),
    ),
    edges: z.array(
      z.object({ from: z.string(), to: z.string(), calls: z.number() }).extend(healthSchema.shape),
    ),
  })
  .meta({ id: 'DependencyGraph' });
export type DependencyGraph = z.infer<typeof dependencyGraphSchema>;

export const resourceUsageQuerySchema = z
  .object({
    namespace: resourceNameSchema,
    component: resourceNameSchema.optional(),
    environment: resourceNameSchema.optional(),
  })
  .extend(windowSchema.shape);
export type ResourceUsageQuery = z.output<typeof resourceUsageQuerySchema>;

export const resourceUsageSchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string() }),
    bindings: z.array(
      z.object({
        component: z.string(),
        environment: z.string(),
        binding: z.string(),
        replicas: z.number().describe('Replicas that reported samples'),
        cpu: z.object({
          avgMillicores: z.number().nullable(),
          maxMillicores: z.number().nullable(),
          requestMillicores: z.number().nullable(),
          limitMillicores: z.number().nullable(),
          utilizationOfRequest: z.number().nullable().describe('avg / request'),
        }),
        memory: z.object({
          avgBytes: z.number().nullable(),
          maxBytes: z.number().nullable(),
          requestBytes: z.number().nullable(),
          limitBytes: z.number().nullable(),
          utilizationOfLimit: z.number().nullable().describe('max / limit'),
        }),
      }),
    ),
  })
  .meta({ id: 'ResourceUsage' });
export type ResourceUsage = z.infer<typeof resourceUsageSchema>;
