// The local runtime: realizes workloads as real OS processes on this machine, isolated from opspilot's own
// privileges (docs/runtime.md). It samples cpu/memory of every replica, enforces limits (cgroups, else memory
// polling), follows their output, and re-adopts replicas left running by a previous run.
import { mkdirSync } from 'node:fs';
import { availableParallelism, freemem, hostname, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { LocalRuntimeConfig } from '../../config/config-schema.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { randomIds, type IdGenerator } from '../../core/ids.js';
import type {
  LogLine,
  LogQuery,
  NodeCapacity,
  NodeWorkload,
  Runtime,
  RuntimeListener,
  WorkloadSpec,
  WorkloadStatus,
} from '../ports.js';
import { detectCgroups, ReplicaCgroup, removeCgroupParents, type CgroupSupport } from './cgroups.js';
import { resolveIsolation, WorkloadUserIds, type WorkloadIsolation } from './isolation.js';
import { LogTailer } from './log-tailer.js';
import { PortAllocator } from './port-allocator.js';
import { createProcessTable, type ProcessTable } from './process-table.js';
import { RuntimeRecords, type ReplicaRecord, type WorkloadRecord } from './runtime-records.js';
import { WorkloadController, type ControllerContext } from './workload-controller.js';

export interface LocalRuntimeOptions {
  /** Root of opspilot's data; the runtime keeps its records and captured output under `runtime/local`. */
  readonly dataDir: string;
  readonly config: LocalRuntimeConfig;
  readonly listener: RuntimeListener;
  /** Variables every replica inherits before its own (PATH, HOME, …). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Address endpoints and replicas listen on. */
  readonly host?: string;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly processTable?: ProcessTable;
  /** Receives problems the runtime recovers from (a failed sample, a record it could not write). */
  readonly onError?: (error: unknown, context: string) => void;
}

export class LocalRuntime implements Runtime {
  readonly kind = 'local';
  private readonly controllers = new Map<string, WorkloadController>();
  private readonly leftovers = new Map<string, WorkloadRecord>();
  private readonly buffers = new Map<string, LogLine[]>();
  private readonly records: RuntimeRecords;
  private readonly tailer: LogTailer;
  private readonly processTable: ProcessTable;
  private readonly clock: Clock;
  private readonly context: Omit<ControllerContext, 'isolation' | 'cgroups' | 'userIds'>;
  /** The context with the isolation resolved at start(); controllers exist only after it. */
  private isolatedContext: ControllerContext | undefined;
  private cgroups: CgroupSupport | undefined;
  private queue: Promise<void> = Promise.resolve();
  private sampleTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  private firstApply = true;
  private running = false;

  constructor(private readonly options: LocalRuntimeOptions) {
    const root = join(options.dataDir, 'runtime', 'local');
    mkdirSync(root, { recursive: true, mode: 0o700 });
    this.records = new RuntimeRecords(join(root, 'workloads'));
    this.tailer = new LogTailer(250, options.config.logFileMaxBytes);
    this.processTable = options.processTable ?? createProcessTable();
    this.clock = options.clock ?? systemClock;
    const host = options.host ?? '127.0.0.1';
    this.context = {
      config: options.config,
      processTable: this.processTable,
      ports: new PortAllocator(host),
      tailer: this.tailer,
      baseEnv: options.baseEnv,
      ids: options.ids ?? randomIds,
      logRoot: join(root, 'logs'),
      host,
      now: () => this.clock.now(),
      emit: (spec, reason, type, message, replica) => {
        options.listener.event({
          workloadId: spec.id,
          labels: spec.labels,
          replica,
          type,
          reason,
          message,
          timestamp: this.clock.now().toISOString(),
        });
      },
      log: (spec, replica, stream, line) => {
        const entry: LogLine = {
          workloadId: spec.id,
          labels: spec.labels,
          replica: replica.name,
          revision: replica.revision,
          stream,
          line,
          timestamp: this.clock.now().toISOString(),
        };
        this.buffer(spec, entry);
        options.listener.log?.(entry);
      },
      save: (record) => {
        try {
          this.records.save(record);
        } catch (error) {
          options.onError?.(error, `saving runtime record of ${record.name}`);
        }
      },
    };
  }

  /** Resolves the isolation of replicas (rejects when none is possible and `none` was not chosen), then adopts. */
  start(): Promise<void> {
    const { config } = this.options;
    try {
      const isolation = resolveIsolation(
        config,
        this.options.dataDir,
        this.options.baseEnv.PATH ?? '/usr/bin:/bin',
      );
      this.cgroups = config.cgroups === 'off' ? undefined : detectCgroups();
      this.isolatedContext = {
        ...this.context,
        isolation,
        cgroups: this.cgroups,
        userIds:
          isolation.mode === 'user' ? new WorkloadUserIds(config.userIdStart, config.userIdCount) : undefined,
      };
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.isolatedContext.isolation.mode === 'none') {
      this.options.onError?.(
        new Error(
          'replica isolation is off (runtime.local.isolation: none): every replica runs with opspilot’s own ' +
            'privileges and can read its data dir — the admin token, the signing keys, the state and audit log',
        ),
        'replica isolation',
      );
    }
    for (const record of this.records.loadAll()) {
      const alive = record.replicas.filter((replica) => this.isAlive(replica));
      this.leftovers.set(record.workloadId, { ...record, replicas: alive });
    }
    this.sampleTimer = setInterval(() => {
      void this.sample();
    }, this.options.config.sampleIntervalMs);
    this.running = true;
    return Promise.resolve();
  }

  /** The isolation resolved at start() and its uids, which build steps share (step-executor.ts); undefined before. */
  workloadIsolation(): WorkloadIsolation | undefined {
    const context = this.isolatedContext;
    return context === undefined ? undefined : { isolation: context.isolation, userIds: context.userIds };
  }

  apply(workloads: readonly WorkloadSpec[]): Promise<void> {
    // Before start() the records of a previous run are not loaded (adoption would be skipped), and after
    // shutdown nothing may start again: a late reconcile pass must not spawn replicas on the way out.
    if (!this.running) return Promise.resolve();
    const run = this.queue.then(() => this.applyNow(workloads));
    this.queue = run.catch(() => undefined);
    return run;
  }

  status(workloadId: string): WorkloadStatus | undefined {
    return this.controllers.get(workloadId)?.status();
  }

  /** One node, this machine; every replica runs here and nothing is ever cordoned. */
  nodes(): NodeCapacity[] {
    const workloads = [...this.controllers.values()].map((controller): NodeWorkload => {
      const live = controller.status().replicas.filter((replica) => replica.pid !== null);
      const { resources } = controller;
      const sampled = live.filter((replica) => replica.cpuMillicores !== null);
      const sum = (values: readonly (number | null)[]) =>
        values.reduce<number>((total, value) => total + (value ?? 0), 0);
      const perReplica = (value: number | undefined) => (value ?? 0) * live.length;
      return {
        workloadId: controller.id,
        labels: controller.labels,
        replicas: live.length,
        cpuRequestMillis: perReplica(resources.cpuRequestMillis),
        memoryRequestBytes: perReplica(resources.memoryRequestBytes),
        cpuLimitMillis: resources.cpuLimitMillis === undefined ? null : perReplica(resources.cpuLimitMillis),
        memoryLimitBytes:
          resources.memoryLimitBytes === undefined ? null : perReplica(resources.memoryLimitBytes),
        cpuMillicores: sampled.length === 0 ? null : sum(sampled.map((replica) => replica.cpuMillicores)),
        memoryBytes: sampled.length === 0 ? null : sum(sampled.map((replica) => replica.memoryBytes)),
      };
    });
    return [
      {
        name: hostname(),
        cpuMillicores: availableParallelism() * 1000,
        memoryBytes: totalmem(),
        availableMemoryBytes: freemem(),
        load1: loadavg()[0] ?? 0,
        schedulable: true,
        workloads,
      },
    ];
  }

  logs(workloadId: string, query: LogQuery = {}): LogLine[] {
    const lines = this.buffers.get(workloadId) ?? [];
    const selected =
      query.replica === undefined ? lines : lines.filter((line) => line.replica === query.replica);
    return selected.slice(-(query.tail ?? 200));
  }

  async shutdown(): Promise<void> {
    this.running = false;
    if (this.sampleTimer !== undefined) clearInterval(this.sampleTimer);
    this.sampleTimer = undefined;
    await this.queue;
    await Promise.all(
      [...this.controllers.values()].map(async (controller) => {
        await controller.remove('opspilot is shutting down');
        this.records.remove(controller.id);
      }),
    );
    this.controllers.clear();
    await this.tailer.close();
    if (this.cgroups !== undefined) removeCgroupParents(this.cgroups);
  }

  /** Stops supervising but leaves every replica running, as a crash would; the next run re-adopts them. */
  async detach(): Promise<void> {
    this.running = false;
    if (this.sampleTimer !== undefined) clearInterval(this.sampleTimer);
    this.sampleTimer = undefined;
    await this.queue;
    await Promise.all([...this.controllers.values()].map((controller) => controller.detach()));
    this.controllers.clear();
    await this.tailer.close();
  }

  private async applyNow(workloads: readonly WorkloadSpec[]): Promise<void> {
    const wanted = new Set<string>();
    for (const spec of workloads) {
      wanted.add(spec.id);
      let controller = this.controllers.get(spec.id);
      if (controller === undefined) {
        if (this.isolatedContext === undefined) return;
        const previous = this.leftovers.get(spec.id);
        this.leftovers.delete(spec.id);
        controller = new WorkloadController(this.isolatedContext, spec, previous);
        if (previous !== undefined) controller.adopt(previous.replicas);
        this.controllers.set(spec.id, controller);
      }
      await controller.update(spec);
    }
    for (const [id, controller] of this.controllers) {
      if (wanted.has(id)) continue;
      this.controllers.delete(id);
      await controller.remove('its workload was removed');
      this.records.remove(id);
      this.buffers.delete(id);
    }
    if (this.firstApply) {
      // Whatever a previous run left for workloads that no longer exist is stopped: no orphans.
      this.firstApply = false;
      await Promise.all([...this.leftovers.values()].map((record) => this.stopLeftover(record)));
      this.leftovers.clear();
    }
  }

  private async stopLeftover(record: WorkloadRecord): Promise<void> {
    await Promise.all(
      record.replicas.map(async (replica) => {
        if (replica.pid === null) return;
        await this.processTable.signalSession(replica.pid, 'SIGTERM');
        const deadline = Date.now() + this.options.config.terminationGraceSeconds * 1000;
        while (this.isAlive(replica) && Date.now() < deadline) await delay(100);
        if (this.isAlive(replica)) await this.processTable.signalSession(replica.pid, 'SIGKILL');
        const cgroup = replica.isolation?.cgroup;
        if (cgroup != null && replica.isolation?.limits !== 'rss-polling') {
          const version = replica.isolation?.limits === 'cgroup-v2' ? 'v2' : 'v1';
          await ReplicaCgroup.existing(version, cgroup.memory, cgroup.cpu)?.remove();
        }
      }),
    );
    this.records.remove(record.workloadId);
  }

  private isAlive(replica: ReplicaRecord): boolean {
    if (replica.pid === null || replica.startToken === null) return false;
    return this.processTable.startToken(replica.pid) === replica.startToken;
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const leaders = new Set<number>();
      for (const controller of this.controllers.values())
        for (const pid of controller.leaders()) leaders.add(pid);
      const usage = await this.processTable.usage(leaders);
      const at = this.clock.now().getTime();
      for (const controller of this.controllers.values()) controller.sample(usage, leaders, at);
      const listener = this.options.listener;
      if (listener.sample === undefined) return;
      const timestamp = new Date(at).toISOString();
      for (const controller of this.controllers.values()) {
        const status = controller.status();
        for (const replica of status.replicas) {
          if (replica.cpuMillicores === null || replica.memoryBytes === null) continue;
          listener.sample({
            workloadId: controller.id,
            labels: controller.labels,
            replica: replica.name,
            cpuMillicores: replica.cpuMillicores,
            memoryBytes: replica.memoryBytes,
            timestamp,
          });
        }
      }
    } catch (error) {
      this.options.onError?.(error, 'sampling replica resources');
    } finally {
      this.sampling = false;
    }
  }

  private buffer(spec: WorkloadSpec, line: LogLine): void {
    const capacity = this.options.config.logBufferLines * Math.max(1, spec.replicas);
    if (capacity === 0) return;
    let lines = this.buffers.get(spec.id);
    if (lines === undefined) {
      lines = [];
      this.buffers.set(spec.id, lines);
    }
    lines.push(line);
    // Trim in chunks so that a chatty replica does not pay an array shift per line.
    if (lines.length > capacity * 1.25) lines.splice(0, lines.length - capacity);
  }
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
