// Drives one workload toward its spec: the right number of replicas, all on the desired revision, behind a
// stable endpoint. Rolling updates surge by one and never drop below the desired number of ready replicas
// (new replicas become ready before old ones stop).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { IdGenerator } from '../../core/ids.js';
import type { WorkloadPhase, WorkloadResources, WorkloadSpec, WorkloadStatus } from '../ports.js';
import type { WorkloadUserIds } from './isolation.js';
import { LoadBalancer } from './load-balancer.js';
import { Replica, type ReplicaContext } from './replica.js';
import type { SessionUsage } from './process-table.js';
import type { ReplicaRecord, WorkloadRecord } from './runtime-records.js';

/** What the controller needs from the runtime; everything else is per replica. */
export type ControllerContext = Omit<
  ReplicaContext,
  | 'type'
  | 'logDirectory'
  | 'uid'
  | 'memoryLimitBytes'
  | 'cpuLimitMillis'
  | 'emit'
  | 'log'
  | 'changed'
  | 'persist'
> & {
  readonly ids: IdGenerator;
  /** Hands out workload uids in user isolation; undefined in the other modes. */
  readonly userIds: WorkloadUserIds | undefined;
  readonly logRoot: string;
  readonly host: string;
  emit(
    spec: WorkloadSpec,
    reason: Parameters<ReplicaContext['emit']>[0],
    type: 'Normal' | 'Warning',
    message: string,
    replica: string | null,
  ): void;
  log(spec: WorkloadSpec, replica: Replica, stream: 'stdout' | 'stderr', line: string): void;
  save(record: WorkloadRecord): void;
};

export class WorkloadController {
  private spec: WorkloadSpec;
  private readonly replicas = new Map<string, Replica>();
  private balancer: LoadBalancer | undefined;
  private endpointPort: number | null = null;
  private rolledOutHash: string | undefined;
  private removed = false;
  /** The workload's own uid in user isolation, shared by all its replicas. */
  private readonly uid: number | undefined;

  constructor(
    private readonly context: ControllerContext,
    spec: WorkloadSpec,
    previous?: WorkloadRecord,
  ) {
    this.spec = spec;
    this.endpointPort = previous?.endpointPort ?? null;
    this.uid = context.userIds?.take(spec.id, previous?.uid ?? undefined);
  }

  get id(): string {
    return this.spec.id;
  }

  get labels(): Readonly<Record<string, string>> {
    return this.spec.labels;
  }

  get resources(): WorkloadResources {
    return this.spec.resources;
  }

  /** Re-adopts the replicas of a previous run that are still alive. */
  adopt(records: readonly ReplicaRecord[]): void {
    for (const record of records) {
      const replica = new Replica(
        this.replicaContext(),
        {
          name: record.name,
          revision: record.revision,
          templateHash: record.templateHash,
          template: this.spec.template,
        },
        record,
      );
      this.replicas.set(record.name, replica);
      replica.adopt(record);
    }
    // Adopted replicas already on the desired template mean the rollout finished in the previous run.
    const hash = templateHash(this.spec);
    if (records.length > 0 && records.every((record) => record.templateHash === hash))
      this.rolledOutHash = hash;
  }

  async update(spec: WorkloadSpec): Promise<void> {
    const before = this.spec;
    this.spec = spec;
    if (before.replicas !== spec.replicas) {
      this.context.emit(
        spec,
        'Scaled',
        'Normal',
        `Scaled ${spec.name} from ${before.replicas} to ${spec.replicas} replicas`,
        null,
      );
    }
    await this.ensureEndpoint();
    this.sync();
  }

  /**
   * Called with each resource sample. Only replicas whose pid was among the sampled `leaders` are judged: one
   * started or adopted while the sample was taken is simply absent from it, not dead.
   */
  sample(usage: ReadonlyMap<number, SessionUsage>, leaders: ReadonlySet<number>, at: number): void {
    for (const replica of this.replicas.values()) {
      if (replica.pid !== null && leaders.has(replica.pid)) replica.sample(usage.get(replica.pid), at);
    }
  }

  leaders(): number[] {
    return [...this.replicas.values()].flatMap((replica) => (replica.pid === null ? [] : [replica.pid]));
  }

  /** Stops every replica and closes the endpoint. */
  async remove(reason: string): Promise<void> {
    this.removed = true;
    await Promise.all([...this.replicas.values()].map((replica) => replica.stop(reason)));
    this.replicas.clear();
    this.context.userIds?.release(this.spec.id);
    await this.balancer?.close();
    this.balancer = undefined;
  }

  /** Leaves the processes running and stops watching them (for a supervisor that exits without stopping). */
  async detach(): Promise<void> {
    this.removed = true;
    this.persist();
    await Promise.all([...this.replicas.values()].map((replica) => replica.detach()));
    await this.balancer?.close();
  }

  status(): WorkloadStatus {
    const spec = this.spec;
    const hash = templateHash(spec);
    const replicas = [...this.replicas.values()];
    const updated = replicas.filter(
      (replica) => replica.templateHash === hash && replica.phase !== 'Terminating',
    );
    const ready = replicas.filter((replica) => replica.ready).length;
    const restarts = replicas.reduce((sum, replica) => sum + replica.restarts, 0);
    const crashLooping = replicas.find((replica) => replica.crashLooping && replica.phase !== 'Terminating');
    let phase: WorkloadPhase;
    let message: string | null = null;
    if (crashLooping !== undefined) {
      phase = 'CrashLoopBackOff';
      message = `replica ${crashLooping.name} keeps failing: ${crashLooping.status().message ?? 'see events'}`;
    } else if (spec.type === 'job') {
      const completed = updated.filter((replica) => replica.phase === 'Completed').length;
      phase = completed >= spec.replicas ? 'Completed' : 'Progressing';
    } else if (this.rolledOutHash !== hash) {
      phase = 'Progressing';
      message = `rolling out ${spec.revision}: ${updated.filter((replica) => replica.ready).length}/${spec.replicas} updated replicas ready`;
    } else if (ready < spec.replicas || updated.length !== spec.replicas) {
      phase = ready < spec.replicas ? 'Degraded' : 'Progressing';
      message = `${ready}/${spec.replicas} replicas ready`;
    } else {
      phase = 'Running';
    }
    return {
      id: spec.id,
      revision: spec.revision,
      desiredReplicas: spec.replicas,
      readyReplicas: ready,
      updatedReplicas: updated.length,
      restarts,
      endpoint: this.endpointPort === null ? null : `http://${this.context.host}:${this.endpointPort}`,
      phase,
      message,
      replicas: replicas.map((replica) => replica.status()),
    };
  }

  /**
   * Converges replicas toward the spec. Replicas report changes asynchronously (ReplicaContext.changed queues a
   * microtask), so a pass never re-enters itself.
   */
  sync(): void {
    if (this.removed) return;
    this.syncOnce();
    this.balancer?.setBackends(
      [...this.replicas.values()]
        .filter((replica) => replica.ready && replica.port !== null)
        .map((replica) => ({ name: replica.name, port: replica.port ?? 0 })),
    );
  }

  private syncOnce(): void {
    const spec = this.spec;
    const hash = templateHash(spec);
    const desired = spec.replicas;
    const active = [...this.replicas.values()].filter((replica) => replica.phase !== 'Terminating');
    const updated = active.filter((replica) => replica.templateHash === hash);
    const outdated = active.filter((replica) => replica.templateHash !== hash);

    // Too many replicas of the current revision: scale down, unready and newest first.
    if (updated.length > desired) {
      for (const replica of byStopPreference(updated).slice(0, updated.length - desired)) {
        this.stopReplica(replica, `scaled down to ${desired}`);
      }
      return;
    }

    // Outdated replicas that serve nothing can go at once.
    for (const replica of outdated) {
      if (!replica.ready) this.stopReplica(replica, `replaced by ${spec.revision}`);
    }
    const servingOutdated = outdated.filter((replica) => replica.ready);

    // Start replicas of the desired revision, surging one above the desired count during a rollout.
    const surge = servingOutdated.length > 0 ? 1 : 0;
    const room = desired + surge - (updated.length + servingOutdated.length);
    const missing = desired - updated.length;
    for (let index = 0; index < Math.min(room, missing); index += 1) this.startReplica();

    // Retire serving outdated replicas while enough ready ones remain.
    const readyUpdated = updated.filter((replica) => replica.ready).length;
    let ready = readyUpdated + servingOutdated.length;
    for (const replica of servingOutdated) {
      if (ready - 1 < desired && readyUpdated < desired) break;
      this.stopReplica(replica, `replaced by ${spec.revision}`);
      ready -= 1;
    }

    const settled =
      outdated.length === 0 &&
      updated.length === desired &&
      (spec.type === 'job'
        ? updated.every((replica) => replica.phase === 'Completed' || replica.ready)
        : readyUpdated === desired);
    if (settled && this.rolledOutHash !== hash) {
      this.rolledOutHash = hash;
      this.context.emit(
        spec,
        'RolledOut',
        'Normal',
        `Rolled out ${spec.revision} to ${spec.name}: ${readyUpdated}/${desired} replicas ready`,
        null,
      );
    }
  }

  private startReplica(): void {
    const spec = this.spec;
    const name = `${spec.name}-${this.context.ids.suffix()}`;
    const replica = new Replica(this.replicaContext(), {
      name,
      revision: spec.revision,
      templateHash: templateHash(spec),
      template: spec.template,
    });
    this.replicas.set(name, replica);
    void replica.start();
  }

  private stopReplica(replica: Replica, reason: string): void {
    void replica.stop(reason).then(() => {
      if (this.replicas.get(replica.name) === replica) this.replicas.delete(replica.name);
      this.persist();
      this.sync();
    });
  }

  private async ensureEndpoint(): Promise<void> {
    if (this.spec.template.port === undefined) {
      await this.balancer?.close();
      this.balancer = undefined;
      this.endpointPort = null;
      return;
    }
    const wanted = this.spec.endpointPort ?? this.endpointPort ?? 0;
    if (this.balancer !== undefined && (this.spec.endpointPort === undefined || wanted === this.endpointPort))
      return;
    await this.balancer?.close();
    const balancer = new LoadBalancer(this.context.host);
    let port: number;
    try {
      port = await balancer.listen(wanted);
    } catch (error) {
      if (this.spec.endpointPort !== undefined) {
        this.context.emit(
          this.spec,
          'Failed',
          'Warning',
          `Cannot listen on requested endpoint port ${wanted}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; using a free port`,
          null,
        );
      }
      port = await balancer.listen(0);
    }
    if (this.endpointPort !== null && this.endpointPort !== port) {
      this.context.emit(
        this.spec,
        'EndpointChanged',
        'Warning',
        `Endpoint moved from port ${this.endpointPort} to ${port} (the old port was taken)`,
        null,
      );
    }
    this.balancer = balancer;
    this.endpointPort = port;
    this.persist();
  }

  private persist(): void {
    this.context.save({
      version: 1,
      workloadId: this.spec.id,
      name: this.spec.name,
      endpointPort: this.endpointPort,
      uid: this.uid ?? null,
      replicas: [...this.replicas.values()].map((replica) => replica.record()),
    });
  }

  private replicaContext(): ReplicaContext {
    return {
      ...this.context,
      type: this.spec.type,
      logDirectory: join(this.context.logRoot, safeName(this.spec.id)),
      uid: this.uid,
      memoryLimitBytes: () => this.spec.resources.memoryLimitBytes,
      cpuLimitMillis: () => this.spec.resources.cpuLimitMillis,
      emit: (reason, type, message, replica) => {
        this.context.emit(this.spec, reason, type, message, replica.name);
      },
      log: (replica, stream, line) => {
        this.context.log(this.spec, replica, stream, line);
      },
      changed: () => {
        queueMicrotask(() => {
          this.sync();
        });
      },
      persist: () => {
        this.persist();
      },
    };
  }
}

/** Identifies what a replica runs; a change of it means a rollout. Replica count and limits are not part of it. */
export function templateHash(spec: WorkloadSpec): string {
  const { command, args, cwd, env, port } = spec.template;
  const sortedEnv = Object.fromEntries(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256')
    .update(
      JSON.stringify({ revision: spec.revision, command, args, cwd, env: sortedEnv, port, type: spec.type }),
    )
    .digest('hex')
    .slice(0, 16);
}

function byStopPreference(replicas: readonly Replica[]): Replica[] {
  return [...replicas].sort((a, b) => {
    if (a.ready !== b.ready) return a.ready ? 1 : -1;
    return (b.status().startedAt ?? '').localeCompare(a.status().startedAt ?? '');
  });
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}
