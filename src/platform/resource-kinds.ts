// The platform model as declarative resources (apiVersion opspilot.dev/v1alpha1): one zod schema per kind,
// used by `apply`, the REST API, the OpenAPI document and the CLI alike.
import { defaultDetectorOptions } from '../analysis/anomaly/detector.js';
import { z } from 'zod';
import { durationMs, maxQueryWindowDays, maxSeriesPoints } from '../core/duration.js';
import { parseCpu, parseMemory } from '../core/quantity.js';

export const apiVersion = 'opspilot.dev/v1alpha1';

export const resourceNameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
  );

const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name (letters, digits, _)');

/** YAML turns `8080` and `true` into numbers and booleans; commands and env want text. */
const scalarText = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const envMapSchema = z.record(envNameSchema, scalarText);

const processSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(scalarText).default([]),
  /** Relative paths resolve against the folder of the applied file. */
  cwd: z.string().min(1).optional(),
  env: envMapSchema.default({}),
});

const cpuQuantity = scalarText.refine((text) => parseCpu(text) !== undefined, {
  message: 'expected a cpu quantity such as 100m, 0.5 or 2',
});
const memoryQuantity = scalarText.refine((text) => parseMemory(text) !== undefined, {
  message: 'expected a memory quantity such as 64Mi, 1Gi or 500M',
});
const resourceListSchema = z.strictObject({ cpu: cpuQuantity.optional(), memory: memoryQuantity.optional() });

export const probeSchema = z.strictObject({
  periodSeconds: z.number().positive().default(2),
  timeoutSeconds: z.number().positive().default(1),
  failureThreshold: z.number().int().min(1).default(3),
  startupTimeoutSeconds: z.number().positive().default(60),
});

export const componentSpecSchema = z
  .strictObject({
    type: z.enum(['service', 'worker', 'job']).default('service'),
    description: z.string().optional(),
    run: processSchema,
    port: z
      .strictObject({
        /** The variable that tells each replica which port to listen on. */
        env: envNameSchema.default('PORT'),
        /** HTTP readiness path; without it readiness is a TCP connect. */
        healthPath: z.string().startsWith('/', 'must start with /').optional(),
        protocol: z.enum(['http', 'tcp']).default('http'),
      })
      .optional(),
    probe: probeSchema.optional(),
    build: processSchema.extend({ timeoutSeconds: z.number().positive().default(600) }).optional(),
  })
  .superRefine((spec, context) => {
    if (spec.type === 'service' && spec.port === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'a service needs a port, e.g. port: { env: PORT, healthPath: /healthz }',
      });
    }
  });

export const namespaceSpecSchema = z
  .strictObject({
    displayName: z.string().optional(),
    description: z.string().optional(),
    /**
     * Built-in platform alerts (OOMKilled, CrashLoopBackOff, RolloutStuck, RestartingRepeatedly, NoReadyReplica)
     * for the namespace's bindings, investigated by the RCA agent. On unless set to false.
     */
    platformSignals: z.boolean().optional(),
  })
  .default({});

export const environmentSpecSchema = z
  .strictObject({
    displayName: z.string().optional(),
    description: z.string().optional(),
    /** Production environments get stricter guardrails (approvals, minimum replicas). */
    production: z.boolean().default(false),
  })
  .default({ production: false });

export const deploymentPipelineSpecSchema = z
  .strictObject({
    stages: z
      .array(
        z.strictObject({
          environment: resourceNameSchema,
          requiresApproval: z.boolean().default(false),
        }),
      )
      .min(1),
  })
  .superRefine((spec, context) => {
    reportRepeats(
      spec.stages.map((stage) => stage.environment),
      context,
      (index) => ['stages', index, 'environment'],
      'environment',
    );
  });

export const projectSpecSchema = z
  .strictObject({
    displayName: z.string().optional(),
    description: z.string().optional(),
    deploymentPipeline: resourceNameSchema.default('default'),
  })
  .default({ deploymentPipeline: 'default' });

export const releaseSpecSchema = z.strictObject({
  component: resourceNameSchema,
  revision: z.number().int().min(1),
  /** The component spec this release runs, frozen at release time. */
  template: componentSpecSchema,
  source: z.strictObject({ workflowRun: resourceNameSchema.optional() }).default({}),
});

export const releaseBindingSpecSchema = z
  .strictObject({
    component: resourceNameSchema,
    environment: resourceNameSchema,
    /** Pins a release; without it the binding follows the component's latest release. */
    release: resourceNameSchema.optional(),
    replicas: z.number().int().min(0).max(100).default(1),
    resources: z
      .strictObject({ requests: resourceListSchema.optional(), limits: resourceListSchema.optional() })
      .optional(),
    /** Overrides of the component's environment variables for this environment. */
    env: envMapSchema.default({}),
    state: z.enum(['Active', 'Undeploy']).default('Active'),
    endpoint: z.strictObject({ port: z.number().int().min(1).max(65535) }).optional(),
  })
  .superRefine((spec, context) => {
    const { requests, limits } = spec.resources ?? {};
    const memoryRequest = requests?.memory === undefined ? undefined : parseMemory(requests.memory);
    const memoryLimit = limits?.memory === undefined ? undefined : parseMemory(limits.memory);
    if (memoryRequest !== undefined && memoryLimit !== undefined && memoryRequest > memoryLimit) {
      context.addIssue({
        code: 'custom',
        path: ['resources', 'requests', 'memory'],
        message: `request ${requests?.memory ?? ''} is above the limit ${limits?.memory ?? ''}`,
      });
    }
    const cpuRequest = requests?.cpu === undefined ? undefined : parseCpu(requests.cpu);
    const cpuLimit = limits?.cpu === undefined ? undefined : parseCpu(limits.cpu);
    if (cpuRequest !== undefined && cpuLimit !== undefined && cpuRequest > cpuLimit) {
      context.addIssue({
        code: 'custom',
        path: ['resources', 'requests', 'cpu'],
        message: `request ${requests?.cpu ?? ''} is above the limit ${limits?.cpu ?? ''}`,
      });
    }
  });

/** Adds an issue at every value that repeats an earlier one. */
function reportRepeats(
  values: readonly string[],
  context: z.RefinementCtx,
  path: (index: number) => PropertyKey[],
  noun: string,
): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value))
      context.addIssue({ code: 'custom', path: path(index), message: `${noun} ${value} appears twice` });
    seen.add(value);
  });
}

const workflowStepSchema = processSchema.extend({
  name: resourceNameSchema,
  timeoutSeconds: z.number().positive().default(600),
});

export const workflowSpecSchema = z
  .strictObject({
    description: z.string().optional(),
    steps: z.array(workflowStepSchema).min(1),
  })
  .superRefine((spec, context) => {
    reportRepeats(
      spec.steps.map((step) => step.name),
      context,
      (index) => ['steps', index, 'name'],
      'step',
    );
  });

export const workflowRunSpecSchema = z
  .strictObject({
    /** A Workflow to run; without it the component's `spec.build` is the single step. */
    workflow: resourceNameSchema.optional(),
    /** A successful run for a component creates a new release of it. */
    component: resourceNameSchema.optional(),
    /** Passed to every step as environment variables. */
    parameters: envMapSchema.default({}),
  })
  .refine((spec) => spec.workflow !== undefined || spec.component !== undefined, {
    message: 'name a workflow, a component (to run its build), or both',
  });

const durationText = z.string().regex(/^\d+(s|m|h|d)$/, 'expected <n><s|m|h|d>, e.g. 30s, 5m, 1h');
const alertSeverity = z.enum(['critical', 'warning', 'info']);
const alertCommon = {
  /** A component of the namespace; without it every component is evaluated on its own. */
  component: resourceNameSchema.optional(),
  /** Without it every environment is evaluated on its own. */
  environment: resourceNameSchema.optional(),
  description: z.string().optional(),
  severity: alertSeverity.default('warning'),
  labels: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'label names are letters, digits and _'), z.string())
    .default({}),
  annotations: z.record(z.string(), z.string()).default({}),
  /** Alerts of this rule start an AI root-cause investigation when they fire. */
  triggerAiRca: z.boolean().default(false),
};

export const alertRuleSpecSchema = z
  .strictObject({
    ...alertCommon,
    /** Any metric query: stored metric or request_rate, error_rate, latency_p95, cpu, memory… */
    threshold: z
      .strictObject({
        metric: z.string().min(1),
        aggregation: z.enum(['avg', 'min', 'max', 'sum', 'rate', 'p50', 'p95', 'p99']).optional(),
        operator: z.enum(['>', '>=', '<', '<=']).default('>'),
        value: z.number(),
        window: durationText.default('5m'),
      })
      .optional(),
    /** Share of failed server requests (span status error or HTTP 5xx) above which the alert fires. */
    errorRate: z
      .strictObject({ above: z.number().min(0).max(1), window: durationText.default('5m') })
      .optional(),
    /** Server latency percentile above a number of milliseconds. */
    latency: z
      .strictObject({
        percentile: z.union([z.literal(50), z.literal(95), z.literal(99)]).default(95),
        aboveMs: z.number().positive(),
        window: durationText.default('5m'),
      })
      .optional(),
    /**
     * Fires when a metric departs from its own history: the streaming anomaly detector (the one
     * `opspilot analyze anomalies` runs) scores the series, and the latest complete point is compared.
     */
    anomaly: z
      .strictObject({
        metric: z.string().min(1),
        aggregation: z.enum(['avg', 'min', 'max', 'sum', 'rate', 'p50', 'p95', 'p99']).optional(),
        /** Width of each point of the series. */
        step: durationText.default('1m'),
        /** How much of the past the detector reads. */
        history: durationText.default('1d'),
        /** Score (0..1) above which the point is anomalous; above 0.5 it is well beyond the series' recent range. */
        above: z.number().gt(0).lt(1).default(0.55),
      })
      .optional(),
    /** How long the condition must hold before the alert fires (pending until then). */
    for: durationText.default('1m'),
  })
  .superRefine((spec, context) => {
    const conditions = [spec.threshold, spec.errorRate, spec.latency, spec.anomaly].filter(
      (condition) => condition !== undefined,
    );
    if (conditions.length !== 1) {
      context.addIssue({
        code: 'custom',
        path: [],
        message: 'give exactly one condition: threshold, errorRate, latency or anomaly',
      });
    }
    if (spec.anomaly !== undefined) {
      const { history, step } = spec.anomaly;
      const points = durationMs(history) / durationMs(step);
      const issue = (message: string): void => {
        context.addIssue({ code: 'custom', path: ['anomaly', 'history'], message });
      };
      if (points < minimumAnomalyPoints) {
        issue(
          `history must span at least ${minimumAnomalyPoints} steps (the detector learns from the first ${anomalyWarmupPoints}); ${history} is ${Math.floor(points)} steps of ${step}`,
        );
      } else if (points > maxSeriesPoints) {
        issue(
          `history may span at most ${maxSeriesPoints} steps; ${history} is ${Math.floor(points)} steps of ${step}: use a longer step`,
        );
      } else if (durationMs(history) > maxQueryWindowDays * 86_400_000) {
        issue(`history may be at most ${maxQueryWindowDays}d`);
      }
    }
  });

/** The anomaly detector scores nothing during its first points; an anomaly rule must read well past them. */
const anomalyWarmupPoints = defaultDetectorOptions.warmup;
const minimumAnomalyPoints = anomalyWarmupPoints + 50;

const burnRateWindowSchema = z.strictObject({
  long: durationText,
  short: durationText,
  /** Burn rate (error budget spent this many times faster than sustainable) both windows must exceed. */
  factor: z.number().positive(),
  severity: alertSeverity,
});

/** The multi-window, multi-burn-rate alerts of the Google SRE workbook (chapter "Alerting on SLOs"). */
export const defaultBurnRateWindows: z.input<typeof burnRateWindowSchema>[] = [
  { long: '1h', short: '5m', factor: 14.4, severity: 'critical' },
  { long: '6h', short: '30m', factor: 6, severity: 'critical' },
  { long: '1d', short: '2h', factor: 3, severity: 'warning' },
  { long: '3d', short: '6h', factor: 1, severity: 'warning' },
];

export const sloSpecSchema = z.strictObject({
  component: resourceNameSchema,
  environment: resourceNameSchema,
  description: z.string().optional(),
  /** Percentage of good requests, e.g. 99.5. */
  objective: z.number().gt(0).lt(100),
  /** Compliance window for the error budget. */
  window: durationText.default('30d'),
  indicator: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('availability') }),
      z.strictObject({ type: z.literal('latency'), thresholdMs: z.number().positive() }),
    ])
    .default({ type: 'availability' }),
  burnRateAlerts: z
    .array(burnRateWindowSchema)
    .min(1)
    .default(defaultBurnRateWindows as never),
  labels: alertCommon.labels,
  annotations: alertCommon.annotations,
  triggerAiRca: alertCommon.triggerAiRca,
});

/** Grants a role to users, service accounts or agents in the binding's namespace (optionally narrower). */
export const roleBindingSpecSchema = z.strictObject({
  role: z.enum(['viewer', 'developer', 'operator', 'platform-admin', 'rca-agent', 'sre-agent']),
  subjects: z
    .array(
      z.strictObject({
        kind: z.enum(['User', 'ServiceAccount', 'Agent']).default('User'),
        /** The token's subject (`sub`, or the configured subject claim of an external issuer). */
        name: z.string().min(1),
        /** Only tokens of this issuer (the built-in one's URL, or an external issuer's `iss`); unset: any. */
        issuer: z.string().min(1).optional(),
      }),
    )
    .min(1),
  /** Narrows the grant inside the namespace; unset levels mean all. */
  scope: z
    .strictObject({
      project: resourceNameSchema.optional(),
      component: resourceNameSchema.optional(),
      environment: resourceNameSchema.optional(),
    })
    .optional(),
});

export const workflowRunPhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;

export const workflowRunStatusSchema = z.object({
  phase: z.enum(workflowRunPhases),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  steps: z.array(
    z.object({
      name: z.string(),
      phase: z.enum(['Succeeded', 'Failed']),
      exitCode: z.number().nullable(),
      startedAt: z.string(),
      finishedAt: z.string(),
      error: z.string().nullable(),
    }),
  ),
  release: z.string().nullable(),
  message: z.string().nullable(),
});

export type ComponentSpec = z.output<typeof componentSpecSchema>;
export type ReleaseSpec = z.output<typeof releaseSpecSchema>;
export type ReleaseBindingSpec = z.output<typeof releaseBindingSpecSchema>;
export type NamespaceSpec = z.output<typeof namespaceSpecSchema>;
export type ProjectSpec = z.output<typeof projectSpecSchema>;
export type EnvironmentSpec = z.output<typeof environmentSpecSchema>;
export type DeploymentPipelineSpec = z.output<typeof deploymentPipelineSpecSchema>;
export type WorkflowSpec = z.output<typeof workflowSpecSchema>;
export type WorkflowRunSpec = z.output<typeof workflowRunSpecSchema>;
export type WorkflowRunStatus = z.output<typeof workflowRunStatusSchema>;
export type AlertRuleSpec = z.output<typeof alertRuleSpecSchema>;
export type SloSpec = z.output<typeof sloSpecSchema>;
export type RoleBindingSpec = z.output<typeof roleBindingSpecSchema>;

export type Scope = 'cluster' | 'namespaced';

export interface KindInfo {
  readonly kind: Kind;
  /** Lower-case plural used in URLs and `opspilot get`. */
  readonly plural: string;
  readonly aliases: readonly string[];
  readonly scope: Scope;
  readonly spec: z.ZodType;
  /** Release is written by the platform only. */
  readonly applicable: boolean;
  /** Within one apply, kinds are written in this order so that references resolve. */
  readonly order: number;
}

export const kinds = [
  'Namespace',
  'Environment',
  'DeploymentPipeline',
  'Project',
  'Component',
  'Release',
  'ReleaseBinding',
  'Workflow',
  'WorkflowRun',
  'AlertRule',
  'SLO',
  'RoleBinding',
] as const;

export type Kind = (typeof kinds)[number];

export const kindInfo: Readonly<Record<Kind, KindInfo>> = {
  Namespace: info('Namespace', 'namespaces', ['namespace', 'ns'], 'cluster', namespaceSpecSchema, true, 0),
  Environment: info(
    'Environment',
    'environments',
    ['environment', 'env', 'envs'],
    'cluster',
    environmentSpecSchema,
    true,
    1,
  ),
  DeploymentPipeline: info(
    'DeploymentPipeline',
    'deploymentpipelines',
    ['deploymentpipeline', 'pipeline', 'pipelines'],
    'cluster',
    deploymentPipelineSpecSchema,
    true,
    2,
  ),
  Project: info('Project', 'projects', ['project', 'proj'], 'namespaced', projectSpecSchema, true, 3),
  Component: info(
    'Component',
    'components',
    ['component', 'comp'],
    'namespaced',
    componentSpecSchema,
    true,
    4,
  ),
  Release: info('Release', 'releases', ['release', 'rel'], 'namespaced', releaseSpecSchema, false, 5),
  Workflow: info('Workflow', 'workflows', ['workflow', 'wf'], 'namespaced', workflowSpecSchema, true, 6),
  ReleaseBinding: info(
    'ReleaseBinding',
    'releasebindings',
    ['releasebinding', 'binding', 'bindings', 'rb'],
    'namespaced',
    releaseBindingSpecSchema,
    true,
    7,
  ),
  WorkflowRun: info(
    'WorkflowRun',
    'workflowruns',
    ['workflowrun', 'run', 'runs', 'wfr'],
    'namespaced',
    workflowRunSpecSchema,
    true,
    8,
  ),
  AlertRule: info(
    'AlertRule',
    'alertrules',
    ['alertrule', 'rule', 'rules'],
    'namespaced',
    alertRuleSpecSchema,
    true,
    9,
  ),
  SLO: info('SLO', 'slos', ['slo'], 'namespaced', sloSpecSchema, true, 10),
  RoleBinding: info(
    'RoleBinding',
    'rolebindings',
    ['rolebinding', 'rb-role', 'roles'],
    'namespaced',
    roleBindingSpecSchema,
    true,
    11,
  ),
};

function info(
  kind: Kind,
  plural: string,
  aliases: readonly string[],
  scope: Scope,
  spec: z.ZodType,
  applicable: boolean,
  order: number,
): KindInfo {
  return { kind, plural, aliases, scope, spec, applicable, order };
}

/** Resolves `components`, `component`, `comp` or `Component` to the kind. */
export function resolveKind(text: string): Kind | undefined {
  const lower = text.toLowerCase();
  return kinds.find((kind) => {
    const entry = kindInfo[kind];
    return kind.toLowerCase() === lower || entry.plural === lower || entry.aliases.includes(lower);
  });
}

const readOnlyMetadata = {
  uid: z.string().optional(),
  generation: z.number().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
};

export const metadataSchema = z.strictObject({
  name: resourceNameSchema,
  namespace: resourceNameSchema.optional(),
  project: resourceNameSchema.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  // Accepted so that `opspilot get -o yaml` output can be applied again; the server owns these.
  ...readOnlyMetadata,
});

export type InputMetadata = z.output<typeof metadataSchema>;

/** The envelope every document shares; the spec is parsed by its kind's schema afterwards. */
export const documentSchema = z.strictObject({
  apiVersion: z.literal(apiVersion, { error: `must be ${apiVersion}` }),
  kind: z.string(),
  metadata: metadataSchema,
  spec: z.unknown().optional(),
  status: z.unknown().optional(),
});

export interface ResourceMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly project?: string;
  readonly uid: string;
  readonly generation: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A resource as the API returns it. */
export interface Resource<Spec = unknown, Status = unknown> {
  readonly apiVersion: typeof apiVersion;
  readonly kind: Kind;
  readonly metadata: ResourceMetadata;
  readonly spec: Spec;
  readonly status?: Status;
}

/** Schema of a resource in API responses (for OpenAPI and clients). */
export function resourceOutputSchema(kind: Kind): z.ZodType {
  return z.object({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kind),
    metadata: z.object({
      name: z.string(),
      namespace: z.string().optional(),
      project: z.string().optional(),
      uid: z.string(),
      generation: z.number(),
      labels: z.record(z.string(), z.string()),
      annotations: z.record(z.string(), z.string()),
      createdAt: z.string(),
      updatedAt: z.string(),
    }),
    spec: z.unknown(),
    status: z.unknown().optional(),
  });
}
