// The MCP tool catalogue (../shared design: MCP-TOOLS.md). Each tool names its server, toolset and the one
// action it needs; the table is typed by the closed list of tool names, so a missing entry does not compile.
// Tools are thin: they call GovernedServices, which authorize, audit and turn writes into proposals.
import { z } from 'zod';
import { digest } from '../core/canonical-json.js';
import type { Action } from '../governance/authz/actions.js';
import type { GovernedServices } from '../governance/governed-services.js';
import {
  proposalSchema,
  proposalStatuses,
  proposalSummary,
  proposalSummarySchema,
} from '../governance/proposals/contracts.js';
import type { ChangePlan } from '../governance/proposals/proposal-service.js';
import { shownConfidence } from '../rca/confidence.js';
import { rcaReportSchema, rcaStatuses } from '../rca/contracts.js';
import { forMcp } from '../rca/hints.js';
import {
  componentStatusSchema,
  nodeViewSchema,
  platformEventSchema,
  workflowComparisonSchema,
  workflowLogLineSchema,
} from '../platform/contracts.js';
import { kindInfo, resourceNameSchema, type Kind, type Resource } from '../platform/resource-kinds.js';
import { alertEventSchema, alertSchema } from '../telemetry/alerting/contracts.js';
import {
  dependencyGraphSchema,
  dependencyQuerySchema,
  errorSummaryQuerySchema,
  errorSummarySchema,
  logQuerySchema,
  logResultSchema,
  metricQuerySchema,
  metricResultSchema,
  periodSchema,
  resourceUsageQuerySchema,
  resourceUsageSchema,
  traceQuerySchema,
  traceSchema,
  traceSearchResultSchema,
} from '../telemetry/query/contracts.js';
import { recommend } from '../analysis/rightsizing/rightsizing.js';
import { InvalidError, NotFoundError } from '../core/errors.js';
import { pageBySize } from './paging.js';

export const mcpServerNames = ['control-plane', 'observability'] as const;
export type McpServerName = (typeof mcpServerNames)[number];

/** Switchable groups (config `mcp.disabledToolsets`). */
export const toolsets = [
  'platform',
  'builds',
  'governance',
  'writes',
  'logs',
  'metrics',
  'traces',
  'alerts',
] as const;
export type Toolset = (typeof toolsets)[number];

export interface ToolRunContext {
  readonly maxOutputBytes: number;
}

interface ToolBase<I extends z.ZodObject> {
  readonly server: McpServerName;
  readonly toolset: Toolset;
  readonly action: Action;
  readonly title: string;
  readonly description: string;
  readonly input: I;
}

export interface ReadTool<
  I extends z.ZodObject = z.ZodObject,
  O extends z.ZodObject = z.ZodObject,
> extends ToolBase<I> {
  readonly kind: 'read';
  readonly output: O;
  // Method syntax on purpose: the table holds tools of many input types as one AnyTool type.
  run(services: GovernedServices, args: z.output<I>, context: ToolRunContext): Promise<z.output<O>>;
}

export interface WriteTool<I extends z.ZodObject = z.ZodObject> extends ToolBase<I> {
  readonly kind: 'write';
  readonly idempotent: boolean;
  readonly destructive: boolean;
  /**
   * The exact change, computed from current state; the server checks the caller may take the tool's action
   * in the namespace first, and turns the plan into a proposal.
   */
  plan(services: GovernedServices, args: z.output<I>): Promise<ChangePlan>;
  /** Where the change lands, when it is not the `namespace`/`component`/`environment` arguments. */
  target?(args: z.output<I>): { namespace: string; component?: string; environment?: string };
}

export type AnyTool = ReadTool | WriteTool;

function read<I extends z.ZodObject, O extends z.ZodObject>(
  tool: Omit<ReadTool<I, O>, 'kind'>,
): ReadTool<I, O> {
  return { kind: 'read', ...tool };
}

function write<I extends z.ZodObject>(tool: Omit<WriteTool<I>, 'kind'>): WriteTool<I> {
  return { kind: 'write', ...tool };
}

/** What every write tool returns: the proposal and what happened to it. */
export const writeOutcomeSchema = z.object({
  status: z.enum(proposalStatuses),
  message: z.string(),
  proposal: proposalSchema,
});

const cursor = z.string().optional().describe('nextCursor of the previous result');
const paged = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable(), note: z.string().nullable() });

const recommendationSchema = z.object({
  component: z.string(),
  environment: z.string(),
  requests: z.object({ cpu: z.string().nullable(), memory: z.string().nullable() }),
  limits: z.object({ memory: z.string().nullable() }),
  cpuChangeMillicores: z.number().nullable(),
  memoryChangeBytes: z.number().nullable(),
  verdict: z.enum(['over-provisioned', 'under-provisioned', 'right-sized', 'no-data']),
  reason: z.string(),
});

const resourceSummary = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  project: z.string().optional(),
  spec: z.unknown(),
  status: z.unknown().optional(),
});

function summarize(resource: Resource): z.infer<typeof resourceSummary> {
  return {
    name: resource.metadata.name,
    ...(resource.metadata.namespace === undefined ? {} : { namespace: resource.metadata.namespace }),
    ...(resource.metadata.project === undefined ? {} : { project: resource.metadata.project }),
    spec: resource.spec,
    ...(resource.status === undefined ? {} : { status: resource.status }),
  };
}

const namespaceArg = resourceNameSchema.describe('Namespace (tenant)');
const componentArg = resourceNameSchema.describe('Component name');
const environmentArg = resourceNameSchema.describe('Environment, e.g. dev, staging, prod');

function listTool(kind: Kind, toolName: string, filters: 'namespace' | 'component' | 'none') {
  const plural = kindInfo[kind].plural;
  const input =
    filters === 'none'
      ? z.object({ cursor })
      : filters === 'namespace'
        ? z.object({ namespace: namespaceArg, cursor })
        : z.object({
            namespace: namespaceArg,
            component: componentArg.optional(),
            environment: environmentArg.optional(),
            cursor,
          });
  return read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: `List ${plural}`,
    description: `${toolName}: the ${plural} you may see${filters === 'none' ? '' : ' in a namespace'}, with spec and status.`,
    input,
    output: paged(resourceSummary),
    run: async (
      services,
      args: { namespace?: string; component?: string; environment?: string; cursor?: string },
      context,
    ) => {
      const items = await services.list(kind, {
        namespace: args.namespace,
        component: args.component,
        environment: args.environment,
      });
      return pageBySize(items.map(summarize), args.cursor, context.maxOutputBytes);
    },
  });
}

const scaleInput = z.object({
  namespace: namespaceArg,
  component: componentArg,
  environment: environmentArg,
  replicas: z.number().int().min(0).max(100).describe('Desired replica count'),
});
const bindingInput = z.object({
  namespace: namespaceArg,
  component: componentArg,
  environment: environmentArg,
});
const resourceList = z.object({
  cpu: z.string().optional().describe('e.g. 250m'),
  memory: z.string().optional().describe('e.g. 256Mi'),
});

export const toolNames = [
  'list_namespaces',
  'list_projects',
  'list_components',
  'get_component',
  'get_component_status',
  'list_environments',
  'get_deployment_pipeline',
  'list_releases',
  'list_release_bindings',
  'get_release_binding',
  'get_events',
  'get_instance_metrics',
  'get_node_capacity',
  'list_workflow_runs',
  'get_workflow_run',
  'query_workflow_logs',
  'compare_workflow_runs',
  'get_deployment_history',
  'get_resource_recommendations',
  'apply_resource_recommendation',
  'create_workflow_run',
  'list_proposals',
  'get_proposal',
  'get_audit_events',
  'scale_component',
  'restart_component',
  'rollback_component',
  'update_release_binding',
  'promote_release',
  'patch_resource_limits',
  'query_component_logs',
  'get_error_summary',
  'get_service_metrics',
  'query_resource_metrics',
  'query_traces',
  'query_trace_spans',
  'get_span_details',
  'get_service_dependencies',
  'get_active_alerts',
  'get_alert_history',
  'list_rca_reports',
  'get_rca_report',
  'query_incidents',
] as const;
export type ToolName = (typeof toolNames)[number];

export const tools: { readonly [Name in ToolName]: AnyTool } = {
  list_namespaces: listTool('Namespace', 'list_namespaces', 'none'),
  list_projects: listTool('Project', 'list_projects', 'namespace'),
  list_components: listTool('Component', 'list_components', 'namespace'),
  get_component: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Get a component',
    description: 'A component: its spec (how it runs, its port, probes, build) and latest release.',
    input: z.object({ namespace: namespaceArg, component: componentArg }),
    output: resourceSummary,
    run: async (services, args) => summarize(await services.get('Component', args.namespace, args.component)),
  }),
  get_component_status: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Component status',
    description:
      'Per environment: release, desired/ready replicas, phase (Running, Degraded, CrashLoopBackOff…), restarts, endpoint and each replica.',
    input: z.object({ namespace: namespaceArg, component: componentArg }),
    output: componentStatusSchema,
    run: (services, args) => services.componentStatus(args.namespace, args.component),
  }),
  list_environments: listTool('Environment', 'list_environments', 'none'),
  get_deployment_pipeline: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Deployment pipeline',
    description: 'The ordered environments of a pipeline and which stages need approval.',
    input: z.object({
      pipeline: resourceNameSchema.default('default').describe('Pipeline name (default: default)'),
    }),
    output: resourceSummary,
    run: async (services, args) => summarize(await services.get('DeploymentPipeline', '', args.pipeline)),
  }),
  list_releases: listTool('Release', 'list_releases', 'component'),
  list_release_bindings: listTool('ReleaseBinding', 'list_release_bindings', 'component'),
  get_release_binding: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Get a release binding',
    description:
      'How a component runs in one environment: release, replicas, resources, env overrides, state, live status.',
    input: bindingInput,
    output: resourceSummary,
    run: async (services, args) => {
      const [binding] = await services.list('ReleaseBinding', args);
      if (binding === undefined) {
        throw new NotFoundError(`${args.component} is not bound to ${args.environment}`, {
          hint: 'list_release_bindings shows where it runs.',
        });
      }
      return summarize(binding);
    },
  }),
  get_events: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Events',
    description:
      'Lifecycle events newest first: Started, Ready, Unhealthy, BackOff, OOMKilled, Scaled, RolledOut, ReleaseCreated…',
    input: z.object({
      namespace: namespaceArg,
      component: componentArg.optional(),
      environment: environmentArg.optional(),
      reason: z.string().optional().describe('Only this reason, e.g. OOMKilled'),
      since: z.iso.datetime({ offset: true }).optional(),
      limit: z.number().int().min(1).max(500).default(100),
      cursor,
    }),
    output: paged(platformEventSchema),
    run: async (services, args, context) =>
      pageBySize(await services.events(args), args.cursor, context.maxOutputBytes),
  }),
  get_node_capacity: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Node capacity',
    description:
      "Each node's cpu and memory capacity, what workloads request, limit and use there, and what is left. Workloads outside your scope are summed into otherAllocations. Use it before scaling up: requests beyond capacity make replicas compete.",
    input: z.object({}),
    output: z.object({ items: z.array(nodeViewSchema) }),
    run: async (services) => ({ items: await services.nodes() }),
  }),
  get_instance_metrics: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'telemetry.read',
    title: 'Instance metrics',
    description: 'Cpu (millicores) and memory (bytes) per replica over a window.',
    input: z.object({
      namespace: namespaceArg,
      component: componentArg,
      environment: environmentArg.optional(),
      period: periodSchema.default('last_15m').describe('e.g. last_15m, last_1h'),
    }),
    output: z.object({ cpu: metricResultSchema, memory: metricResultSchema }),
    run: async (services, args) => {
      const query = (metric: 'cpu' | 'memory') =>
        services.metrics(metricQuerySchema.parse({ ...args, metric, groupBy: 'replica' }));
      const [cpu, memory] = await Promise.all([query('cpu'), query('memory')]);
      return { cpu, memory };
    },
  }),
  list_workflow_runs: listTool('WorkflowRun', 'list_workflow_runs', 'component'),
  get_workflow_run: read({
    server: 'control-plane',
    toolset: 'builds',
    action: 'platform.read',
    title: 'Get a workflow run',
    description: 'A build run: phase, steps with exit codes, the release it produced.',
    input: z.object({ namespace: namespaceArg, run: resourceNameSchema }),
    output: resourceSummary,
    run: async (services, args) => summarize(await services.get('WorkflowRun', args.namespace, args.run)),
  }),
  query_workflow_logs: read({
    server: 'control-plane',
    toolset: 'builds',
    action: 'platform.read',
    title: 'Workflow run output',
    description: 'Output lines of a build run in order (stdout, stderr, system).',
    input: z.object({
      namespace: namespaceArg,
      run: resourceNameSchema,
      after: z.number().int().min(-1).optional().describe('Only lines after this sequence number'),
      cursor,
    }),
    output: paged(workflowLogLineSchema),
    run: async (services, args, context) =>
      pageBySize(
        await services.workflowLogs(args.namespace, args.run, { afterSequence: args.after }),
        args.cursor,
        context.maxOutputBytes,
      ),
  }),
  get_deployment_history: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'platform.read',
    title: 'Deployment history',
    description:
      'What changed for a component, newest first: releases (with their source) and every proposal (who, what, diff, guardrail verdict, outcome).',
    input: z.object({
      namespace: namespaceArg,
      component: componentArg,
      environment: environmentArg.optional(),
      cursor,
    }),
    output: paged(
      z.object({
        at: z.string(),
        kind: z.enum(['release', 'change']),
        release: z.string().nullable(),
        by: z.string().nullable(),
        title: z.string(),
        status: z.string().nullable(),
        diff: z.array(
          z.object({ resource: z.string(), path: z.string(), before: z.unknown(), after: z.unknown() }),
        ),
      }),
    ),
    run: async (services, args, context) => {
      const releases = await services.list('Release', {
        namespace: args.namespace,
        component: args.component,
      });
      const proposals = (await services.listProposals({ namespace: args.namespace, limit: 1000 })).filter(
        (proposal) =>
          proposal.target.component === args.component &&
          (args.environment === undefined || proposal.target.environment === args.environment),
      );
      const entries = [
        ...releases.map((release) => {
          const source = (release.spec as { source?: { workflowRun?: string } }).source?.workflowRun;
          return {
            at: release.metadata.createdAt,
            kind: 'release' as const,
            release: release.metadata.name,
            by: null,
            title: `release ${release.metadata.name} created from ${source === undefined ? "the component's spec" : `workflow run ${source}`}`,
            status: null,
            diff: [],
          };
        }),
        ...proposals.map((proposal) => ({
          at: proposal.createdAt,
          kind: 'change' as const,
          release: null,
          by: proposal.createdBy.subject,
          title: proposal.title,
          status: proposal.status,
          diff: proposal.diff,
        })),
      ].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
      return pageBySize(entries, args.cursor, context.maxOutputBytes);
    },
  }),
  get_resource_recommendations: read({
    server: 'control-plane',
    toolset: 'platform',
    action: 'telemetry.read',
    title: 'Resource recommendations',
    description:
      'Cpu and memory requests and limits each binding should have, from its observed usage (avg, peak) against what it has: over-, under- or right-sized, with the reason.',
    input: z.object({
      namespace: namespaceArg,
      component: componentArg.optional(),
      environment: environmentArg.optional(),
      period: periodSchema
        .default('last_24h')
        .describe('Window of usage to base it on, e.g. last_6h, last_7d'),
    }),
    output: z.object({
      window: z.object({ from: z.string(), to: z.string() }),
      recommendations: z.array(recommendationSchema),
    }),
    run: async (services, args) => {
      const usage = await services.resourceUsage(resourceUsageQuerySchema.parse(args));
      return { window: usage.window, recommendations: usage.bindings.map(recommend) };
    },
  }),
  apply_resource_recommendation: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'component.update',
    title: 'Apply a resource recommendation',
    description:
      'Proposes the requests and limits get_resource_recommendations computes for one binding (recomputed now from the same window, not taken from the caller).',
    input: bindingInput.extend({ period: periodSchema.default('last_24h') }),
    idempotent: true,
    destructive: true,
    plan: async (services, args) => {
      const usage = await services.resourceUsage(resourceUsageQuerySchema.parse(args));
      const observed = usage.bindings.find((binding) => binding.environment === args.environment);
      const recommendation = observed === undefined ? undefined : recommend(observed);
      if (recommendation === undefined || recommendation.verdict === 'no-data') {
        throw new InvalidError(
          `no usage of ${args.component} in ${args.environment} over ${args.period} to base a recommendation on`,
          [],
          {
            hint: 'Let it run under load first, or pass a longer period.',
          },
        );
      }
      return services.planner.patchResources(args.namespace, args.component, args.environment, {
        requests: {
          ...(recommendation.requests.cpu === null ? {} : { cpu: recommendation.requests.cpu }),
          ...(recommendation.requests.memory === null ? {} : { memory: recommendation.requests.memory }),
        },
        limits: recommendation.limits.memory === null ? {} : { memory: recommendation.limits.memory },
      });
    },
  }),
  create_workflow_run: write({
    server: 'control-plane',
    toolset: 'builds',
    action: 'workflow.run',
    title: 'Start a build',
    description:
      "Proposes a workflow run: a component's build (spec.build) or a named Workflow, with parameters.",
    input: z.object({
      namespace: namespaceArg,
      component: componentArg.optional(),
      workflow: resourceNameSchema.optional(),
      parameters: z.record(z.string(), z.string()).optional(),
    }),
    idempotent: false,
    destructive: false,
    plan: (services, args) =>
      services.planner.createWorkflowRun(args.namespace, args, Date.now().toString(36)),
  }),
  compare_workflow_runs: read({
    server: 'control-plane',
    toolset: 'builds',
    action: 'platform.read',
    title: 'Compare build runs',
    description:
      'A failed run next to the last successful one of the same component/workflow (or the one given): changed inputs, steps that ended differently, and the first differing output line per step.',
    input: z.object({
      namespace: namespaceArg,
      run: resourceNameSchema.describe('The run to explain (usually a failed one)'),
      baseline: resourceNameSchema
        .optional()
        .describe('Run to compare with (default: the last successful one before it)'),
    }),
    output: workflowComparisonSchema,
    run: (services, args) => services.compareWorkflowRuns(args.namespace, args.run, args.baseline),
  }),
  list_proposals: read({
    server: 'control-plane',
    toolset: 'governance',
    action: 'proposals.read',
    title: 'Proposals',
    description:
      'Proposed changes and their status (pending approval, executed, rolled back…), newest first.',
    input: z.object({
      namespace: namespaceArg.optional(),
      status: z.array(z.enum(proposalStatuses)).optional(),
      cursor,
    }),
    output: paged(proposalSummarySchema),
    run: async (services, args, context) => {
      const proposals = await services.listProposals({
        namespace: args.namespace,
        ...(args.status === undefined ? {} : { statuses: args.status }),
      });
      return pageBySize(proposals.map(proposalSummary), args.cursor, context.maxOutputBytes);
    },
  }),
  get_proposal: read({
    server: 'control-plane',
    toolset: 'governance',
    action: 'proposals.read',
    title: 'Get a proposal',
    description:
      'One proposal: exact diff, blast radius, guardrail verdicts, approval, execution and verification.',
    input: z.object({ id: z.string().min(1) }),
    output: proposalSchema,
    run: (services, args) => services.getProposal(args.id),
  }),
  get_audit_events: read({
    server: 'control-plane',
    toolset: 'governance',
    action: 'audit.read',
    title: 'Audit events',
    description: 'Who did what, when, through which client, and what was decided; newest first.',
    input: z.object({
      namespace: namespaceArg,
      principal: z.string().optional(),
      action: z.string().optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      limit: z.number().int().min(1).max(500).default(100),
      cursor,
    }),
    output: paged(
      z.object({
        seq: z.number(),
        at: z.string(),
        principal: z.string(),
        client: z.string(),
        action: z.string(),
        target: z.string(),
        decision: z.string(),
        result: z.string(),
        reasons: z.array(z.string()),
      }),
    ),
    run: async (services, args, context) => {
      const records = await services.auditEvents(args);
      return pageBySize(
        records.map(({ seq, at, principal, client, action, target, decision, result, reasons }) => ({
          seq,
          at,
          principal,
          client,
          action,
          target,
          decision,
          result,
          reasons: [...reasons],
        })),
        args.cursor,
        context.maxOutputBytes,
      );
    },
  }),
  scale_component: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'component.scale',
    title: 'Scale a component',
    description:
      'Proposes a new replica count for a component in one environment. Nothing changes on the first call: you get a proposal with the diff and guardrail verdicts; it runs after confirmation (or approval in production).',
    input: scaleInput,
    idempotent: true,
    destructive: true,
    plan: (services, args) =>
      services.planner.scale(args.namespace, args.component, args.environment, args.replicas),
  }),
  restart_component: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'component.restart',
    title: 'Restart a component',
    description: 'Proposes a rolling restart (one replica at a time) of a component in one environment.',
    input: bindingInput,
    idempotent: false,
    destructive: true,
    plan: (services, args) => services.planner.restart(args.namespace, args.component, args.environment),
  }),
  rollback_component: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'component.rollback',
    title: 'Roll back a component',
    description:
      'Proposes pinning a component in one environment to the previous release (or the one given). Refused when the running release is marked unsafe to roll back.',
    input: bindingInput.extend({
      release: resourceNameSchema.optional().describe('Release to roll back to (default: the previous one)'),
    }),
    idempotent: true,
    destructive: true,
    plan: (services, args) =>
      services.planner.rollback(args.namespace, args.component, args.environment, args.release),
  }),
  update_release_binding: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'component.update',
    title: 'Update a release binding',
    description:
      'Proposes changes to how a component runs in one environment: release, replicas, resources, env overrides, state.',
    input: bindingInput.extend({
      release: resourceNameSchema.optional(),
      replicas: z.number().int().min(0).max(100).optional(),
      resources: z.object({ requests: resourceList.optional(), limits: resourceList.optional() }).optional(),
      env: z.record(z.string(), z.string()).optional().describe('Replaces the env overrides'),
      state: z.enum(['Active', 'Undeploy']).optional(),
    }),
    idempotent: true,
    destructive: true,
    plan: (services, args) =>
      services.planner.updateBinding(args.namespace, args.component, args.environment, {
        release: args.release,
        replicas: args.replicas,
        resources: args.resources,
        env: args.env,
        state: args.state,
      }),
  }),
  promote_release: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'release.promote',
    title: 'Promote a release',
    description: 'Proposes running, in environment `to`, the release that runs in environment `from`.',
    input: z.object({
      namespace: namespaceArg,
      component: componentArg,
      from: environmentArg,
      to: environmentArg,
    }),
    idempotent: true,
    destructive: true,
    plan: (services, args) => services.planner.promote(args.namespace, args.component, args.from, args.to),
    // The change lands in `to`.
    target: (args) => ({ namespace: args.namespace, component: args.component, environment: args.to }),
  }),
  patch_resource_limits: write({
    server: 'control-plane',
    toolset: 'writes',
    action: 'component.update',
    title: 'Patch resource requests and limits',
    description:
      'Proposes new cpu/memory requests or limits for a component in one environment (other values stay).',
    input: bindingInput.extend({ requests: resourceList.optional(), limits: resourceList.optional() }),
    idempotent: true,
    destructive: true,
    plan: (services, args) =>
      services.planner.patchResources(args.namespace, args.component, args.environment, {
        ...(args.requests === undefined ? {} : { requests: args.requests }),
        ...(args.limits === undefined ? {} : { limits: args.limits }),
      }),
  }),
  query_component_logs: read({
    server: 'observability',
    toolset: 'logs',
    action: 'telemetry.read',
    title: 'Query logs',
    description:
      'Log lines of a namespace (optionally project/component/environment), by severity, text or regex, trace id and window, with context lines around each match.',
    input: logQuerySchema,
    output: logResultSchema,
    run: (services, args) => services.queryLogs(args),
  }),
  get_error_summary: read({
    server: 'observability',
    toolset: 'logs',
    action: 'telemetry.read',
    title: 'Error summary',
    description: 'Top error log templates: count, first/last seen, trend, samples and trace ids.',
    input: errorSummaryQuerySchema,
    output: errorSummarySchema,
    run: (services, args) => services.errorSummary(args),
  }),
  get_service_metrics: read({
    server: 'observability',
    toolset: 'metrics',
    action: 'telemetry.read',
    title: 'Service metrics',
    description:
      'A metric by component without a query language: request_rate, error_rate, latency_p50|p95|p99, cpu, memory, or any stored metric name; period like last_1h, step, aggregation.',
    input: metricQuerySchema,
    output: metricResultSchema,
    run: (services, args) => services.metrics(args),
  }),
  query_resource_metrics: read({
    server: 'observability',
    toolset: 'metrics',
    action: 'telemetry.read',
    title: 'Resource usage vs allocation',
    description: 'Cpu and memory used per binding next to its requests and limits.',
    input: resourceUsageQuerySchema,
    output: resourceUsageSchema,
    run: (services, args) => services.resourceUsage(args),
  }),
  query_traces: read({
    server: 'observability',
    toolset: 'traces',
    action: 'telemetry.read',
    title: 'Search traces',
    description: 'Traces by service, operation, minimum duration, status and window.',
    input: traceQuerySchema,
    output: traceSearchResultSchema,
    run: (services, args) => services.traces(args),
  }),
  query_trace_spans: read({
    server: 'observability',
    toolset: 'traces',
    action: 'telemetry.read',
    title: 'Trace spans',
    description: 'One trace as a span tree with self times and its critical path.',
    input: z.object({
      namespace: namespaceArg,
      traceId: z.string().regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex characters'),
    }),
    output: traceSchema,
    run: (services, args) => services.trace(args.traceId, args.namespace),
  }),
  get_span_details: read({
    server: 'observability',
    toolset: 'traces',
    action: 'telemetry.read',
    title: 'Span details',
    description: 'One span of a trace: attributes, events, status, timing, its parent and its children.',
    input: z.object({
      namespace: namespaceArg,
      traceId: z.string().regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex characters'),
      spanId: z.string().regex(/^[0-9a-fA-F]{16}$/, 'a span id is 16 hex characters'),
    }),
    output: z.object({
      traceId: z.string(),
      spanId: z.string(),
      parentSpanId: z.string().nullable(),
      service: z.string(),
      name: z.string(),
      kind: z.string(),
      start: z.string(),
      durationMs: z.number(),
      selfTimeMs: z.number(),
      status: z.string(),
      statusMessage: z.string().nullable(),
      attributes: z.record(z.string(), z.unknown()),
      events: z.array(z.unknown()),
      onCriticalPath: z.boolean(),
      children: z.array(
        z.object({ spanId: z.string(), service: z.string(), name: z.string(), durationMs: z.number() }),
      ),
    }),
    run: async (services, args) => {
      const trace = await services.trace(args.traceId, args.namespace);
      const stack = [...trace.roots];
      for (let span = stack.pop(); span !== undefined; span = stack.pop()) {
        if (span.spanId === args.spanId) {
          const { children, startOffsetMs: _offset, component: _component, ...details } = span;
          return {
            traceId: trace.traceId,
            ...details,
            children: children.map((child) => ({
              spanId: child.spanId,
              service: child.service,
              name: child.name,
              durationMs: child.durationMs,
            })),
          };
        }
        stack.push(...span.children);
      }
      throw new NotFoundError(`span ${args.spanId} is not in trace ${args.traceId}`, {
        hint: 'query_trace_spans lists the spans of the trace.',
      });
    },
  }),
  get_service_dependencies: read({
    server: 'observability',
    toolset: 'traces',
    action: 'telemetry.read',
    title: 'Service dependencies',
    description: 'Who calls whom, with request rate, error rate and p95 latency per service and per edge.',
    input: dependencyQuerySchema,
    output: dependencyGraphSchema,
    run: (services, args) => services.dependencies(args),
  }),
  get_active_alerts: read({
    server: 'observability',
    toolset: 'alerts',
    action: 'alerts.read',
    title: 'Active alerts',
    description: 'Alerts that are firing or pending, most recently changed first.',
    input: z.object({ namespace: namespaceArg.optional(), cursor }),
    output: paged(alertSchema),
    run: async (services, args, context) => {
      const alerts = await services.alerts({ namespace: args.namespace, limit: 1000 });
      return pageBySize(
        alerts.filter((alert) => alert.state !== 'resolved'),
        args.cursor,
        context.maxOutputBytes,
      );
    },
  }),
  get_alert_history: read({
    server: 'observability',
    toolset: 'alerts',
    action: 'alerts.read',
    title: 'Alert history',
    description: 'State changes of alerts (pending, firing, resolved), newest first.',
    input: z.object({
      namespace: namespaceArg.optional(),
      fingerprint: z.string().optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      cursor,
    }),
    output: paged(alertEventSchema),
    run: async (services, args, context) =>
      pageBySize(await services.alertHistory({ ...args, limit: 1000 }), args.cursor, context.maxOutputBytes),
  }),
  list_rca_reports: read({
    server: 'observability',
    toolset: 'alerts',
    action: 'alerts.read',
    title: 'RCA reports',
    description:
      'Root-cause reports of the RCA agent, newest first: status, the alert, the top root cause and the ready remediation. Read one with get_rca_report.',
    input: z.object({
      namespace: namespaceArg.optional(),
      status: z.enum(rcaStatuses).optional(),
      cursor,
    }),
    output: paged(
      z.object({
        id: z.string(),
        status: z.enum(rcaStatuses),
        namespace: z.string(),
        alert: z.string(),
        createdAt: z.string(),
        topCause: z.string().nullable(),
        confidence: z.number().nullable(),
        remediation: z.string().nullable(),
      }),
    ),
    run: async (services, args, context) => {
      const reports = await services.rcaReports({
        namespace: args.namespace,
        status: args.status,
        limit: 500,
      });
      return pageBySize(
        reports.map((report) => ({
          id: report.id,
          status: report.status,
          namespace: report.namespace,
          alert:
            `${report.alert.rule} ${report.alert.component ?? ''}${report.alert.environment === null ? '' : `@${report.alert.environment}`}`.trim(),
          createdAt: report.createdAt,
          topCause:
            report.rootCauses[0] === undefined
              ? null
              : `${report.rootCauses[0].service} (${report.rootCauses[0].kind})`,
          confidence: report.rootCauses[0] === undefined ? null : shownConfidence(report.rootCauses[0]),
          remediation:
            report.remediation === null
              ? null
              : `${report.remediation.title} — ${report.remediation.proposal} ${report.remediation.status}${report.remediation.expired === undefined || report.remediation.expired === null ? '' : ` (${report.remediation.expired})`}${report.alternatives.length === 0 ? '' : `; then ${report.alternatives.map((item) => `${item.title} — ${item.proposal} ${item.status}`).join('; ')}`}`,
        })),
        args.cursor,
        context.maxOutputBytes,
      );
    },
  }),
  get_rca_report: read({
    server: 'observability',
    toolset: 'alerts',
    action: 'alerts.read',
    title: 'RCA report',
    description:
      'One root-cause report: ranked causes with confidence, evidence (each with the tool call that shows it again), timeline, excluded causes, recommendations, the remediation proposals in order (undo the change first; expired ones say why), and the narrative.',
    input: z.object({ id: z.string().min(1) }),
    output: rcaReportSchema,
    run: async (services, args) => forMcp(await services.rcaReport(args.id)),
  }),
  query_incidents: read({
    server: 'observability',
    toolset: 'alerts',
    action: 'alerts.read',
    title: 'Incidents',
    description:
      'Incidents: alerts grouped by their group key, newest first, each with its alerts, whether it is still firing, and its latest RCA report. Past incidents help with a new one.',
    input: z.object({
      namespace: namespaceArg.optional(),
      state: z.enum(['open', 'resolved', 'any']).default('any'),
      cursor,
    }),
    output: paged(
      z.object({
        groupKey: z.string(),
        namespace: z.string(),
        open: z.boolean(),
        startedAt: z.string(),
        resolvedAt: z.string().nullable(),
        alerts: z.array(
          z.object({ fingerprint: z.string(), rule: z.string(), state: z.string(), summary: z.string() }),
        ),
        report: z.object({ id: z.string(), status: z.string(), topCause: z.string().nullable() }).nullable(),
      }),
    ),
    run: async (services, args, context) => {
      const [alerts, reports] = await Promise.all([
        services.alerts({ namespace: args.namespace, limit: 5000 }),
        services.rcaReports({ namespace: args.namespace, limit: 500 }),
      ]);
      const groups = new Map<string, typeof alerts>();
      for (const alert of alerts) groups.set(alert.groupKey, [...(groups.get(alert.groupKey) ?? []), alert]);
      const incidents = [...groups.entries()].map(([groupKey, members]) => {
        const open = members.some((alert) => alert.state !== 'resolved');
        const report = reports.find((candidate) => candidate.groupKey === groupKey);
        const started = members.map((alert) => alert.startedAt).sort()[0] ?? '';
        const resolved = open
          ? null
          : (members
              .map((alert) => alert.resolvedAt ?? '')
              .sort()
              .at(-1) ?? null);
        return {
          groupKey,
          namespace: members[0]?.namespace ?? '',
          open,
          startedAt: started,
          resolvedAt: resolved,
          alerts: members.map((alert) => ({
            fingerprint: alert.fingerprint,
            rule: alert.rule,
            state: alert.state,
            summary: alert.summary,
          })),
          report:
            report === undefined
              ? null
              : {
                  id: report.id,
                  status: report.status,
                  topCause: report.rootCauses[0]?.service ?? null,
                },
        };
      });
      return pageBySize(
        incidents
          .filter((incident) => args.state === 'any' || incident.open === (args.state === 'open'))
          .sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1)),
        args.cursor,
        context.maxOutputBytes,
      );
    },
  }),
};

/** Digest that binds a confirmation to exactly these arguments of this tool. */
export function argumentsDigest(tool: ToolName, args: unknown): string {
  return digest({ tool, args });
}
