// The Runtime port: realizes workloads (N replicas of one process template) and reports their state.
// Its vocabulary is runtime-level (workload, replica, revision); the platform maps bindings onto it.

export type WorkloadType = 'service' | 'worker' | 'job';

export interface ProbeSpec {
  /** HTTP path for readiness; without it a TCP connect to the port is the probe. */
  readonly path?: string | undefined;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  /** Consecutive failures before a ready replica is marked Unhealthy (and, after three times as many, restarted). */
  readonly failureThreshold: number;
  /** A replica that is not ready this long after start is restarted. */
  readonly startupTimeoutSeconds: number;
}

export interface ProcessTemplate {
  readonly command: string;
  readonly args: readonly string[];
  /** Absolute working directory; the runtime's own cwd when absent. */
  readonly cwd?: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** Services listen on a port the runtime assigns and passes in the named variable. */
  readonly port?: { readonly env: string; readonly protocol: 'http' | 'tcp' } | undefined;
  readonly probe?: ProbeSpec | undefined;
}

export interface WorkloadResources {
  readonly cpuRequestMillis?: number | undefined;
  readonly cpuLimitMillis?: number | undefined;
  readonly memoryRequestBytes?: number | undefined;
  /** Enforced: by the kernel through a cgroup where one can be used, else by polling resident memory (OOMKilled). */
  readonly memoryLimitBytes?: number | undefined;
}

export interface WorkloadSpec {
  /** Stable identity across restarts of the runtime (the binding's uid). */
  readonly id: string;
  /** Base for replica names (`<name>-<suffix>`). */
  readonly name: string;
  /** Carried into events and logs so that the caller can attribute them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly type: WorkloadType;
  /** What is being run (a release name); replicas of another revision are rolled over. */
  readonly revision: string;
  readonly template: ProcessTemplate;
  readonly replicas: number;
  readonly resources: WorkloadResources;
  /** Requested port of the load-balancing endpoint; the runtime picks (and keeps) one when absent. */
  readonly endpointPort?: number | undefined;
}

export type ReplicaPhase =
  'Pending' | 'Starting' | 'Running' | 'BackOff' | 'CrashLoopBackOff' | 'Terminating' | 'Completed';

export interface ReplicaExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Why it ended: Exited, OOMKilled, Unhealthy, StartupTimeout, Lost (an adopted process vanished), … */
  readonly reason: string;
  readonly at: string;
}

/** How a replica is kept from the runtime's own privileges (docs/runtime.md). */
export type IsolationMode = 'user' | 'sandbox' | 'none';

/** How a replica's resource limits are enforced: by the kernel through a cgroup, or by polling its memory. */
export type LimitEnforcement = 'cgroup-v2' | 'cgroup-v1' | 'rss-polling';

export interface ReplicaIsolation {
  /** user: its own unprivileged uid; sandbox: bubblewrap without the data dir; none: the runtime's privileges. */
  readonly mode: IsolationMode;
  /** The uid it runs as in user mode; null otherwise. */
  readonly uid: number | null;
  readonly limits: LimitEnforcement;
  /** Its cgroup directories, per controller (null where that controller is not used). */
  readonly cgroup: { readonly memory: string | null; readonly cpu: string | null } | null;
  /** For people: `user (uid 1879051234), cgroup v1 memory+cpu`. */
  readonly summary: string;
}

export interface ReplicaStatus {
  readonly name: string;
  readonly revision: string;
  readonly phase: ReplicaPhase;
  readonly ready: boolean;
  readonly pid: number | null;
  readonly port: number | null;
  readonly restarts: number;
  readonly startedAt: string | null;
  readonly lastExit: ReplicaExit | null;
  /** Latest sample over the replica's whole process tree. */
  readonly cpuMillicores: number | null;
  readonly memoryBytes: number | null;
  readonly message: string | null;
  /** Null until its first start. */
  readonly isolation: ReplicaIsolation | null;
}

export type WorkloadPhase = 'Running' | 'Progressing' | 'Degraded' | 'CrashLoopBackOff' | 'Completed';

export interface WorkloadStatus {
  readonly id: string;
  readonly revision: string;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  /** Replicas already on `revision`. */
  readonly updatedReplicas: number;
  readonly restarts: number;
  readonly endpoint: string | null;
  readonly phase: WorkloadPhase;
  readonly message: string | null;
  readonly replicas: readonly ReplicaStatus[];
}

export type RuntimeEventReason =
  | 'Scheduled'
  | 'Started'
  | 'Ready'
  | 'Unhealthy'
  | 'Killed'
  | 'OOMKilled'
  | 'BackOff'
  | 'Scaled'
  | 'RolledOut'
  | 'Adopted'
  | 'Completed'
  | 'Failed'
  | 'EndpointChanged';

export interface RuntimeEvent {
  readonly workloadId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly replica: string | null;
  readonly type: 'Normal' | 'Warning';
  readonly reason: RuntimeEventReason;
  readonly message: string;
  readonly timestamp: string;
}

export interface LogLine {
  readonly workloadId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly replica: string;
  readonly revision: string;
  readonly stream: 'stdout' | 'stderr';
  readonly line: string;
  readonly timestamp: string;
}

export interface ResourceSample {
  readonly workloadId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly replica: string;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly timestamp: string;
}

/** Where the runtime reports what happens. Implementations must not throw. */
export interface RuntimeListener {
  event(event: RuntimeEvent): void;
  log?(line: LogLine): void;
  sample?(sample: ResourceSample): void;
}

export interface LogQuery {
  readonly replica?: string | undefined;
  /** Newest lines to return; defaults to 200. */
  readonly tail?: number | undefined;
}

/** One workload's share of a node: what it reserves (requests × live replicas), may use (limits), and uses. */
export interface NodeWorkload {
  readonly workloadId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Replicas with a live process on this node. */
  readonly replicas: number;
  readonly cpuRequestMillis: number;
  readonly memoryRequestBytes: number;
  /** Null when a replica has no limit (it may use the whole node). */
  readonly cpuLimitMillis: number | null;
  readonly memoryLimitBytes: number | null;
  /** Latest samples summed over replicas; null before the first sample. */
  readonly cpuMillicores: number | null;
  readonly memoryBytes: number | null;
}

export interface NodeCapacity {
  readonly name: string;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  /** Memory the operating system could give to new processes now. */
  readonly availableMemoryBytes: number;
  /** One-minute load average (runnable processes), as the operating system reports it. */
  readonly load1: number;
  readonly schedulable: boolean;
  readonly workloads: readonly NodeWorkload[];
}

export interface Runtime {
  readonly kind: string;
  /** The machines replicas run on, with what each workload reserves and uses there. */
  nodes(): NodeCapacity[];
  /** Loads what a previous run left behind so that the first apply can re-adopt it. */
  start(): Promise<void>;
  /** Declares the complete desired set: workloads missing from it are stopped and removed. */
  apply(workloads: readonly WorkloadSpec[]): Promise<void>;
  status(workloadId: string): WorkloadStatus | undefined;
  logs(workloadId: string, query?: LogQuery): LogLine[];
  /** Stops every replica and endpoint; the runtime can be started again afterwards. */
  shutdown(): Promise<void>;
}

export interface StepSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /**
   * Whose build this is, `<namespace>/<component>` or `<namespace>/workflow/<name>`: in user isolation each
   * owner's steps run as a uid of their own.
   */
  readonly owner: string;
}

export interface StepOutcome {
  readonly name: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Set when the step could not run or was stopped (spawn failure, timeout, cancel). */
  readonly error: string | null;
}

export interface StepOutput {
  readonly step: string;
  readonly stream: 'stdout' | 'stderr' | 'system';
  readonly line: string;
  readonly timestamp: string;
}

/** Runs build/workflow steps one after another; stops at the first failure. */
export interface StepExecutor {
  run(
    steps: readonly StepSpec[],
    output: (line: StepOutput) => void,
    signal: AbortSignal,
  ): Promise<StepOutcome[]>;
}
