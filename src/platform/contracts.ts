// Output contracts of the platform service. One zod schema per contract: it types the service, documents the
// REST responses (OpenAPI), and will type MCP tool outputs and the dashboard client.
import { z } from 'zod';
import { kinds } from './resource-kinds.js';

export const applyItemSchema = z
  .object({
    kind: z.enum(kinds),
    namespace: z.string().nullable(),
    name: z.string(),
    action: z.enum(['created', 'configured', 'unchanged', 'deleted']),
    /** Index of the document that caused it (also for what the platform created on its own); null for deletes. */
    document: z.number().nullable(),
    /** Set for resources the platform created on its own, saying why. */
    note: z.string().optional(),
  })
  .meta({ id: 'ApplyItem' });

export const applyOutcomeSchema = z
  .object({ dryRun: z.boolean(), items: z.array(applyItemSchema) })
  .meta({ id: 'ApplyOutcome' });

export const replicaStatusSchema = z
  .object({
    name: z.string(),
    revision: z.string(),
    phase: z.enum([
      'Pending',
      'Starting',
      'Running',
      'BackOff',
      'CrashLoopBackOff',
      'Terminating',
      'Completed',
    ]),
    ready: z.boolean(),
    pid: z.number().nullable(),
    port: z.number().nullable(),
    restarts: z.number(),
    startedAt: z.string().nullable(),
    lastExit: z
      .object({
        code: z.number().nullable(),
        signal: z.string().nullable(),
        reason: z.string(),
        at: z.string(),
      })
      .nullable(),
    cpuMillicores: z.number().nullable(),
    memoryBytes: z.number().nullable(),
    message: z.string().nullable(),
    isolation: z
      .object({
        mode: z.enum(['user', 'sandbox', 'none']),
        uid: z.number().nullable(),
        limits: z.enum(['cgroup-v2', 'cgroup-v1', 'rss-polling']),
        cgroup: z.object({ memory: z.string().nullable(), cpu: z.string().nullable() }).nullable(),
        summary: z.string(),
      })
      .nullable()
      .describe(
        'how the replica is kept from the server privileges and its limits enforced (docs/runtime.md)',
      ),
  })
  .meta({ id: 'ReplicaStatus' });

export const bindingPhases = [
  'Running',
  'Progressing',
  'Degraded',
  'CrashLoopBackOff',
  'Undeployed',
  'Completed',
] as const;

/** The status contract of one component in one environment (`status.environments[]`). */
export const environmentStatusSchema = z
  .object({
    environment: z.string(),
    binding: z.string(),
    /** The release the binding runs (or is rolling out to). */
    release: z.string().nullable(),
    state: z.enum(['Active', 'Undeploy']),
    desiredReplicas: z.number(),
    readyReplicas: z.number(),
    updatedReplicas: z.number(),
    restarts: z.number(),
    /** Stable load-balancing endpoint, e.g. http://127.0.0.1:41234. */
    endpoint: z.string().nullable(),
    phase: z.enum(bindingPhases),
    message: z.string().nullable(),
    replicas: z.array(replicaStatusSchema),
  })
  .meta({ id: 'EnvironmentStatus' });

export const componentStatusSchema = z
  .object({ latestRelease: z.string().nullable(), environments: z.array(environmentStatusSchema) })
  .meta({ id: 'ComponentStatus' });

export const platformEventSchema = z
  .object({
    type: z.enum(['Normal', 'Warning']),
    reason: z.string(),
    message: z.string(),
    object: z.object({ kind: z.string(), name: z.string() }),
    namespace: z.string(),
    project: z.string().nullable(),
    component: z.string().nullable(),
    environment: z.string().nullable(),
    replica: z.string().nullable(),
    count: z.number(),
    firstTimestamp: z.string(),
    lastTimestamp: z.string(),
  })
  .meta({ id: 'Event' });

export const replicaLogLineSchema = z.object({
  replica: z.string(),
  revision: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  line: z.string(),
  timestamp: z.string(),
});

export const workflowLogLineSchema = z.object({
  sequence: z.number(),
  timestamp: z.string(),
  step: z.string(),
  stream: z.enum(['stdout', 'stderr', 'system']),
  line: z.string(),
});

const usageFields = {
  replicas: z.number().describe('replicas with a live process on the node'),
  cpuRequestMillis: z.number(),
  memoryRequestBytes: z.number(),
  cpuMillicores: z.number().nullable().describe('latest samples summed over replicas'),
  memoryBytes: z.number().nullable(),
};

export const nodeAllocationSchema = z.object({
  namespace: z.string(),
  project: z.string().nullable(),
  component: z.string(),
  environment: z.string().nullable(),
  binding: z.string().nullable(),
  release: z.string().nullable(),
  ...usageFields,
  cpuLimitMillis: z.number().nullable().describe('null: a replica without a limit may use the whole node'),
  memoryLimitBytes: z.number().nullable(),
});

export const nodeViewSchema = z
  .object({
    name: z.string(),
    runtime: z.string(),
    schedulable: z.boolean(),
    cpuMillicores: z.number().describe('capacity'),
    memoryBytes: z.number().describe('capacity'),
    availableMemoryBytes: z.number(),
    load1: z.number(),
    requested: z.object({ cpuMillis: z.number(), memoryBytes: z.number() }),
    used: z.object({ cpuMillicores: z.number(), memoryBytes: z.number() }),
    allocations: z.array(nodeAllocationSchema),
    /** Workloads outside the caller's scope, summed: their pressure shows, their names do not. */
    otherAllocations: z.object({ workloads: z.number(), ...usageFields }),
  })
  .meta({ id: 'Node' });

export type ApplyItem = z.infer<typeof applyItemSchema>;
export type NodeAllocation = z.infer<typeof nodeAllocationSchema>;
export type NodeView = z.infer<typeof nodeViewSchema>;
export type ApplyAction = ApplyItem['action'];
export type ApplyOutcome = z.infer<typeof applyOutcomeSchema>;
export type ReplicaStatusView = z.infer<typeof replicaStatusSchema>;
export type BindingPhase = (typeof bindingPhases)[number];
export type EnvironmentStatus = z.infer<typeof environmentStatusSchema>;
export type ComponentStatus = z.infer<typeof componentStatusSchema>;
export type PlatformEvent = z.infer<typeof platformEventSchema>;
export type ReplicaLogLine = z.infer<typeof replicaLogLineSchema>;
export type WorkflowLogLineView = z.infer<typeof workflowLogLineSchema>;

/** A build run next to a baseline run (by default the last successful one before it). */
export const workflowComparisonSchema = z
  .object({
    run: z.string(),
    baseline: z.string().nullable(),
    changedInputs: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })),
    changedSteps: z.array(
      z.object({ step: z.string(), before: z.string().nullable(), after: z.string().nullable() }),
    ),
    firstDifferences: z.array(
      z.object({
        step: z.string(),
        sequence: z.number().nullable(),
        failed: z.string().nullable(),
        baseline: z.string().nullable(),
      }),
    ),
    note: z.string().nullable(),
  })
  .meta({ id: 'WorkflowComparison' });
export type WorkflowComparison = z.infer<typeof workflowComparisonSchema>;
