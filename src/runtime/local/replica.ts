// One replica: a supervised OS process (with its whole process tree) and its lifecycle.
//
//   Pending ─► Starting ─(probe ok)─► Running/ready ─(probe fails × threshold)─► Running/unready (Unhealthy)
//      ▲           │                        │                                          │ (× 3 threshold)
//      │           └──── exit / OOM / startup timeout / liveness kill ◄────────────────┘
//      │                         │
//      └── BackOff (delay doubles per consecutive failure; CrashLoopBackOff once the streak reaches the threshold)
//
// Stopping (scale down, rollout, undeploy, shutdown) is Terminating: SIGTERM to the session, SIGKILL after the
// grace period. Jobs that exit 0 are Completed and are not restarted.
//
// Each start runs the command isolated from opspilot (isolation.ts) and, where cgroups can be used, inside the
// replica's own cgroup (cgroups.ts), which then enforces its limits instead of the resource samples.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LocalRuntimeConfig } from '../../config/config-schema.js';
import type {
  ProbeSpec,
  ProcessTemplate,
  ReplicaExit,
  ReplicaIsolation,
  ReplicaPhase,
  ReplicaStatus,
  RuntimeEventReason,
  WorkloadType,
} from '../ports.js';
import { ReplicaCgroup, type CgroupSupport } from './cgroups.js';
import { probeHttp, probeTcp } from './health-probe.js';
import {
  describeIsolation,
  findExecutable,
  launchPlan,
  unreachableFor,
  type RuntimeIsolation,
} from './isolation.js';
import type { LogTailer } from './log-tailer.js';
import type { PortAllocator } from './port-allocator.js';
import type { ProcessTable, SessionUsage } from './process-table.js';
import type { ReplicaRecord } from './runtime-records.js';
import { checkDirectory } from './working-directory.js';

/** What a replica needs from its workload controller and the runtime. */
export interface ReplicaContext {
  readonly config: LocalRuntimeConfig;
  readonly type: WorkloadType;
  readonly processTable: ProcessTable;
  readonly ports: PortAllocator;
  readonly tailer: LogTailer;
  readonly logDirectory: string;
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly isolation: RuntimeIsolation;
  /** Where replica cgroups can be created; undefined: limits are enforced by polling memory. */
  readonly cgroups: CgroupSupport | undefined;
  /** The workload's uid in user isolation. */
  readonly uid: number | undefined;
  readonly memoryLimitBytes: () => number | undefined;
  readonly cpuLimitMillis: () => number | undefined;
  now(): Date;
  emit(reason: RuntimeEventReason, type: 'Normal' | 'Warning', message: string, replica: Replica): void;
  log(replica: Replica, stream: 'stdout' | 'stderr', line: string): void;
  /** Something the controller acts on changed (readiness, phase, exit). */
  changed(): void;
  /** The replica's durable record changed (pid, port, restarts). */
  persist(): void;
}

export interface ReplicaIdentity {
  readonly name: string;
  readonly revision: string;
  readonly templateHash: string;
  readonly template: ProcessTemplate;
}

const startupProbeIntervalMs = 250;
const defaultProbe: ProbeSpec = {
  periodSeconds: 2,
  timeoutSeconds: 1,
  failureThreshold: 3,
  startupTimeoutSeconds: 60,
};
const workerReadyAfterMs = 1000;

export class Replica {
  readonly name: string;
  readonly revision: string;
  readonly templateHash: string;
  readonly template: ProcessTemplate;

  phase: ReplicaPhase = 'Pending';
  ready = false;
  port: number | null = null;
  pid: number | null = null;
  restarts = 0;

  private startToken: string | null = null;
  private startedAt: Date | null = null;
  private lastExit: ReplicaExit | null = null;
  private failureStreak = 0;
  private child: ChildProcess | undefined;
  /** Set when we kill the process ourselves (OOM, liveness, startup timeout) so the exit is attributed. */
  private killReason: string | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private backOffTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private probeFailures = 0;
  private everReady = false;
  private message: string | null = null;
  private cpuMillicores: number | null = null;
  private memoryBytes: number | null = null;
  private lastCpu: { seconds: number; at: number } | undefined;
  private terminated: Promise<void> | undefined;
  private resolveTerminated: (() => void) | undefined;
  private following = false;
  private readonly stdoutPath: string;
  private readonly stderrPath: string;
  private cgroup: ReplicaCgroup | undefined;
  private isolation: ReplicaIsolation | null = null;

  constructor(
    private readonly context: ReplicaContext,
    identity: ReplicaIdentity,
    record?: ReplicaRecord,
  ) {
    this.name = identity.name;
    this.revision = identity.revision;
    this.templateHash = identity.templateHash;
    this.template = identity.template;
    this.stdoutPath = record?.stdoutPath ?? join(context.logDirectory, `${identity.name}.stdout.log`);
    this.stderrPath = record?.stderrPath ?? join(context.logDirectory, `${identity.name}.stderr.log`);
    if (record !== undefined) {
      this.port = record.port;
      this.restarts = record.restarts;
      this.isolation = record.isolation ?? null;
      const cgroup = record.isolation?.cgroup;
      if (cgroup != null && record.isolation?.limits !== 'rss-polling') {
        this.cgroup = ReplicaCgroup.existing(
          record.isolation?.limits === 'cgroup-v2' ? 'v2' : 'v1',
          cgroup.memory,
          cgroup.cpu,
        );
      }
    }
  }

  /** Takes over a process a previous run of the supervisor started and that is still alive. */
  adopt(record: ReplicaRecord): void {
    this.pid = record.pid;
    this.startToken = record.startToken;
    this.startedAt = record.startedAt === null ? this.context.now() : new Date(record.startedAt);
    if (this.port !== null) this.context.ports.reserve(this.port);
    this.phase = 'Running';
    // It served before we restarted: probe failures count toward Unhealthy, not toward a startup timeout.
    this.everReady = true;
    this.followOutput(record.stdoutOffset, record.stderrOffset);
    this.context.emit('Adopted', 'Normal', `Adopted running process ${record.pid} from a previous run`, this);
    this.startProbing();
  }

  /** Starts the process (first start or a restart after back-off). */
  async start(): Promise<void> {
    if (this.stopped()) return;
    this.phase = 'Starting';
    this.ready = false;
    this.probeFailures = 0;
    this.everReady = false;
    this.killReason = undefined;
    this.lastCpu = undefined;
    const template = this.template;

    if (template.port !== undefined && this.port !== null) {
      const free = await this.context.ports.isFree(this.port);
      if (this.stopped()) return; // stop() ran meanwhile and released the port
      if (!free) {
        // Someone else took the port while the replica was down: move rather than crash on EADDRINUSE.
        this.context.ports.release(this.port);
        this.port = null;
      }
    }
    if (template.port !== undefined && this.port === null) {
      const port = await this.context.ports.allocate();
      if (this.stopped()) {
        this.context.ports.release(port);
        return;
      }
      this.port = port;
      this.context.emit('Scheduled', 'Normal', `Assigned port ${port} to replica ${this.name}`, this);
    } else if (this.restarts === 0 && this.pid === null && template.port === undefined) {
      this.context.emit('Scheduled', 'Normal', `Scheduled replica ${this.name}`, this);
    }
    const cwdProblem = checkDirectory(template.cwd);
    if (cwdProblem !== undefined) {
      this.failed(cwdProblem);
      return;
    }

    const env: Record<string, string> = { ...this.context.baseEnv, ...template.env };
    if (template.port !== undefined && this.port !== null) env[template.port.env] = String(this.port);
    env.OPSPILOT_REPLICA = this.name;
    expandReferences(env);

    const { isolation, uid } = this.context;
    const cwd = template.cwd ?? process.cwd();
    const command = findExecutable(template.command, env.PATH ?? '', cwd);
    if (command === undefined) {
      this.failed(
        `command not found: ${template.command} (looked in PATH${template.cwd === undefined ? '' : ` from ${template.cwd}`})`,
      );
      return;
    }
    if (isolation.mode === 'user' && uid !== undefined) {
      // The replica enters its working directory as root but then resolves paths as its own user.
      const problem = unreachableFor(uid, cwd, 'directory') ?? unreachableFor(uid, command, 'executable');
      if (problem !== undefined) {
        this.failed(`cannot run ${template.command} as the workload's user: ${problem}`);
        return;
      }
    }
    this.ensureCgroup();
    const plan = launchPlan({
      isolation,
      uid,
      command,
      args: template.args,
      cwd,
      waitForGo: this.cgroup !== undefined,
    });

    mkdirSync(dirname(this.stdoutPath), { recursive: true, mode: 0o700 });
    const stdout = openSync(this.stdoutPath, 'a', 0o600);
    const stderr = openSync(this.stderrPath, 'a', 0o600);
    let child: ChildProcess;
    try {
      // detached: the replica leads its own session, so its whole tree can be signalled and it survives us.
      child = spawn(plan.file, [...plan.args], {
        cwd,
        env,
        detached: true,
        stdio: [plan.waitsForGo ? 'pipe' : 'ignore', stdout, stderr],
        ...(plan.uid === undefined ? {} : { uid: plan.uid, gid: plan.gid }),
      });
    } catch (error) {
      this.failed(`cannot start ${template.command}: ${(error as Error).message}`);
      return;
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
    this.child = child;
    child.once('error', (error: NodeJS.ErrnoException) => {
      // ENOENT and EACCES arrive here instead of an exit.
      if (child.pid === undefined) {
        this.child = undefined;
        this.failed(
          error.code === 'ENOENT'
            ? `command not found: ${template.command} (looked in PATH${template.cwd === undefined ? '' : ` from ${template.cwd}`})`
            : `cannot start ${template.command}: ${error.message}`,
        );
      }
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.exited(code, signal);
    });
    if (child.pid === undefined) return; // the error handler above reports it
    const cgroupProblem = plan.waitsForGo ? this.enterCgroup(child) : undefined;
    const isolated = this.isolationStatus(cgroupProblem);
    this.isolation = isolated;

    this.pid = child.pid;
    this.startToken = this.context.processTable.startToken(child.pid) ?? null;
    this.startedAt = this.context.now();
    this.phase = 'Running';
    this.message = null;
    this.context.persist();
    this.followOutput();
    this.context.emit(
      'Started',
      'Normal',
      `Started ${template.command}${template.args.length > 0 ? ` ${template.args.join(' ')}` : ''} as pid ${child.pid}` +
        (this.port === null ? '' : ` on port ${this.port}`) +
        ` (isolation: ${isolated.summary})`,
      this,
    );
    this.startProbing();
    this.context.changed();
  }

  /** The replica's cgroup, created at its first start where cgroups can be used. */
  private ensureCgroup(): void {
    const support = this.context.cgroups;
    if (this.cgroup !== undefined || support === undefined) return;
    this.cgroup = ReplicaCgroup.create(support, `${this.name}-${randomBytes(3).toString('hex')}`, {
      memoryBytes: this.context.memoryLimitBytes(),
      cpuMillis: this.context.cpuLimitMillis(),
    });
  }

  /**
   * Moves the waiting shell into the cgroup, then lets it exec the command. On failure the replica still runs,
   * its memory limit enforced by polling; the problem is returned for its isolation summary.
   */
  private enterCgroup(child: ChildProcess): string | undefined {
    let problem: string | undefined;
    child.stdin?.on('error', () => undefined); // it may die before reading the line
    try {
      if (child.pid !== undefined) this.cgroup?.join(child.pid);
    } catch (error) {
      problem = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      void this.cgroup?.remove();
      this.cgroup = undefined;
    }
    child.stdin?.end('go\n');
    return problem;
  }

  private isolationStatus(cgroupProblem: string | undefined): ReplicaIsolation {
    const { mode } = this.context.isolation;
    const uid = mode === 'user' ? (this.context.uid ?? null) : null;
    const cgroup = this.cgroup;
    let limits: string;
    if (cgroup === undefined) {
      limits =
        cgroupProblem === undefined
          ? 'rss polling'
          : `rss polling (joining its cgroup failed: ${cgroupProblem})`;
    } else {
      limits = `cgroup ${cgroup.version} ${cgroup.controllers}`;
      if (cgroup.memory === undefined) limits += ', memory limit by rss polling';
      if (cgroup.cpu === undefined) limits += ', cpu not limited';
    }
    return {
      mode,
      uid,
      limits: cgroup === undefined ? 'rss-polling' : `cgroup-${cgroup.version}`,
      cgroup: cgroup === undefined ? null : { memory: cgroup.memory ?? null, cpu: cgroup.cpu ?? null },
      summary: `${describeIsolation(mode, uid ?? undefined)}, ${limits}`,
    };
  }

  /** Stops the replica for good. Resolves once its processes are gone. */
  stop(reason: string): Promise<void> {
    if (this.terminated !== undefined) return this.terminated;
    this.terminated = new Promise((resolve) => {
      this.resolveTerminated = resolve;
    });
    const hadProcess = this.pid !== null;
    this.phase = 'Terminating';
    this.ready = false;
    this.clearTimers();
    this.context.changed();
    if (!hadProcess) {
      this.finish();
      return this.terminated;
    }
    this.context.emit('Killed', 'Normal', `Stopping replica ${this.name}: ${reason}`, this);
    const pid = this.pid;
    if (pid !== null) {
      void this.context.processTable.signalSession(pid, 'SIGTERM');
      this.graceTimer = setTimeout(() => {
        void this.context.processTable.signalSession(pid, 'SIGKILL');
      }, this.context.config.terminationGraceSeconds * 1000);
      if (this.child === undefined) this.watchAdoptedExit(pid);
    }
    return this.terminated;
  }

  /** An adopted process is not our child: no exit event comes, so poll until its incarnation is gone. */
  private watchAdoptedExit(pid: number): void {
    const token = this.startToken;
    const timer = setInterval(() => {
      if (this.pid !== pid) {
        clearInterval(timer);
        return;
      }
      if (token === null || this.context.processTable.startToken(pid) !== token) {
        clearInterval(timer);
        this.exited(null, null, 'exit status unknown (adopted process)');
      }
    }, 100);
  }

  /** Stops watching the process but leaves it running (the supervisor is going away without stopping it). */
  async detach(): Promise<void> {
    this.clearTimers();
    this.child?.removeAllListeners('exit');
    this.child?.unref();
    await this.unfollowOutput();
  }

  /** Called with every resource sample; enforces the memory limit and notices adopted processes that died. */
  sample(usage: SessionUsage | undefined, at: number): void {
    if (this.pid === null || this.phase === 'Pending') return;
    if (usage === undefined || usage.pids.length === 0) {
      // Our own children report their exit through 'exit'; an adopted one just disappears.
      if (this.child === undefined) this.exited(null, null, 'exit status unknown (adopted process)');
      return;
    }
    if (this.phase === 'Terminating') return;
    if (this.cgroup !== undefined) {
      try {
        this.cgroup.update({
          memoryBytes: this.context.memoryLimitBytes(),
          cpuMillis: this.context.cpuLimitMillis(),
        });
      } catch {
        // A limit the kernel refuses (below current usage, say) leaves the previous one in force.
      }
      if (this.killReason === undefined && this.cgroup.takeOomKill()) {
        // One of its processes was OOM-killed; like a container, the replica as a whole restarts.
        this.emitKernelOom();
        this.kill('OOMKilled');
        return;
      }
    }
    this.memoryBytes = usage.rssBytes;
    if (this.lastCpu !== undefined && at > this.lastCpu.at) {
      const used = Math.max(0, usage.cpuSeconds - this.lastCpu.seconds);
      this.cpuMillicores = Math.round((used / ((at - this.lastCpu.at) / 1000)) * 1000);
    }
    this.lastCpu = { seconds: usage.cpuSeconds, at };
    const limit = this.context.memoryLimitBytes();
    const polled = this.cgroup?.memory === undefined;
    if (polled && limit !== undefined && usage.rssBytes > limit && this.killReason === undefined) {
      this.context.emit(
        'OOMKilled',
        'Warning',
        `Replica ${this.name} used ${mebibytes(usage.rssBytes)} of memory, over its limit of ${mebibytes(limit)}; killed`,
        this,
      );
      this.kill('OOMKilled');
    }
  }

  usageSnapshot(): { cpuMillicores: number | null; memoryBytes: number | null } {
    return { cpuMillicores: this.cpuMillicores, memoryBytes: this.memoryBytes };
  }

  get crashLooping(): boolean {
    return this.failureStreak >= this.context.config.crashLoopThreshold;
  }

  /** Whether the process is (believed to be) alive, for the controller's counting. */
  get alive(): boolean {
    return this.phase === 'Starting' || this.phase === 'Running';
  }

  record(): ReplicaRecord {
    return {
      name: this.name,
      revision: this.revision,
      templateHash: this.templateHash,
      port: this.port,
      pid: this.pid,
      startToken: this.startToken,
      startedAt: this.startedAt?.toISOString() ?? null,
      restarts: this.restarts,
      stdoutPath: this.stdoutPath,
      stderrPath: this.stderrPath,
      stdoutOffset: this.context.tailer.offsetOf(this.stdoutPath) ?? 0,
      stderrOffset: this.context.tailer.offsetOf(this.stderrPath) ?? 0,
      isolation: this.isolation,
    };
  }

  status(): ReplicaStatus {
    const phase = this.phase === 'BackOff' && this.crashLooping ? 'CrashLoopBackOff' : this.phase;
    return {
      name: this.name,
      revision: this.revision,
      phase,
      ready: this.ready,
      pid: this.pid,
      port: this.port,
      restarts: this.restarts,
      startedAt: this.startedAt?.toISOString() ?? null,
      lastExit: this.lastExit,
      cpuMillicores: this.alive ? this.cpuMillicores : null,
      memoryBytes: this.alive ? this.memoryBytes : null,
      message: this.message,
      isolation: this.isolation,
    };
  }

  private running(): boolean {
    return this.phase === 'Running';
  }

  /** stop() was called: every await in start() must check this before going on. */
  private stopped(): boolean {
    return this.terminated !== undefined;
  }

  private kill(reason: string): void {
    this.killReason = reason;
    this.ready = false;
    const pid = this.pid;
    if (pid !== null) void this.context.processTable.signalSession(pid, 'SIGKILL');
    this.context.changed();
  }

  /** The process could not be started at all. */
  private failed(message: string): void {
    this.context.emit('Failed', 'Warning', message, this);
    this.message = message;
    this.pid = null;
    this.restartAfterFailure({
      code: null,
      signal: null,
      reason: 'StartError',
      at: this.context.now().toISOString(),
    });
  }

  private exited(code: number | null, signal: NodeJS.Signals | null, unknown?: string): void {
    const pid = this.pid;
    this.clearTimers();
    this.ready = false;
    this.pid = null;
    this.startToken = null;
    this.cpuMillicores = null;
    this.memoryBytes = null;
    // The leader is gone; anything it left in its session goes too.
    if (pid !== null) void this.context.processTable.signalSession(pid, 'SIGKILL');

    if (this.stopped()) {
      this.finish();
      return;
    }
    if (this.killReason === undefined && this.cgroup?.takeOomKill() === true) {
      this.killReason = 'OOMKilled';
      this.emitKernelOom();
    }
    const at = this.context.now();
    const reason = this.killReason ?? (code === 0 ? 'Completed' : 'Error');
    const exit: ReplicaExit = { code, signal, reason, at: at.toISOString() };
    if (this.context.type === 'job' && code === 0 && this.killReason === undefined) {
      this.lastExit = exit;
      this.phase = 'Completed';
      this.message = null;
      this.context.emit('Completed', 'Normal', `Replica ${this.name} completed successfully`, this);
      this.context.persist();
      this.context.changed();
      return;
    }
    const ranFor = this.startedAt === null ? 0 : at.getTime() - this.startedAt.getTime();
    if (ranFor >= this.context.config.stableAfterSeconds * 1000) this.failureStreak = 0;
    this.message = unknown ?? describeExit(exit);
    this.restartAfterFailure(exit);
  }

  private restartAfterFailure(exit: ReplicaExit): void {
    this.lastExit = exit;
    if (this.stopped()) return; // a late spawn error of a replica that is already gone
    this.failureStreak += 1;
    this.restarts += 1;
    const { restartInitialDelayMs, restartMaxDelayMs } = this.context.config;
    const delay = Math.min(restartInitialDelayMs * 2 ** (this.failureStreak - 1), restartMaxDelayMs);
    this.phase = 'BackOff';
    const crashLoop = this.crashLooping ? ' (CrashLoopBackOff)' : '';
    this.context.emit(
      'BackOff',
      'Warning',
      `Back-off ${formatDelay(delay)} restarting failed replica ${this.name}${crashLoop}: ${this.message ?? describeExit(exit)}`,
      this,
    );
    this.context.persist();
    this.context.changed();
    this.backOffTimer = setTimeout(() => {
      this.backOffTimer = undefined;
      void this.start();
    }, delay);
  }

  private emitKernelOom(): void {
    const limit = this.context.memoryLimitBytes();
    this.context.emit(
      'OOMKilled',
      'Warning',
      `Replica ${this.name} was OOM-killed by the kernel: over its memory limit` +
        `${limit === undefined ? '' : ` of ${mebibytes(limit)}`} (cgroup ${this.cgroup?.version ?? ''})`,
      this,
    );
  }

  private finish(): void {
    this.clearTimers();
    this.pid = null;
    if (this.port !== null) this.context.ports.release(this.port);
    void this.unfollowOutput().then(() => {
      rmSync(this.stdoutPath, { force: true });
      rmSync(this.stderrPath, { force: true });
    });
    // Stopped means gone, cgroup included: its last processes are reaped within moments of the SIGKILL.
    const cgroup = this.cgroup;
    this.cgroup = undefined;
    if (cgroup === undefined) {
      this.resolveTerminated?.();
      return;
    }
    void cgroup.remove().then(() => this.resolveTerminated?.());
  }

  private startProbing(): void {
    const template = this.template;
    if (this.context.type === 'job') return;
    if (template.port === undefined || this.port === null) {
      // Workers have no port: ready once they stay up for a moment.
      this.probeTimer = setTimeout(() => {
        if (this.phase !== 'Running') return;
        this.markReady();
      }, workerReadyAfterMs);
      return;
    }
    this.scheduleProbe(startupProbeIntervalMs);
  }

  private scheduleProbe(delayMs: number): void {
    this.probeTimer = setTimeout(() => {
      void this.probe();
    }, delayMs);
  }

  private async probe(): Promise<void> {
    const probe = this.template.probe ?? defaultProbe;
    const port = this.port;
    if (this.phase !== 'Running' || port === null) return;
    const timeoutMs = probe.timeoutSeconds * 1000;
    const result =
      this.template.port?.protocol === 'http' && probe.path !== undefined
        ? await probeHttp(port, probe.path, timeoutMs)
        : await probeTcp(port, timeoutMs);
    if (!this.running()) return; // stopped or restarted while the probe was out
    const period = probe.periodSeconds * 1000;
    if (result.ok) {
      this.probeFailures = 0;
      if (!this.ready) this.markReady();
      this.scheduleProbe(period);
      return;
    }
    if (!this.everReady) {
      const waited = this.context.now().getTime() - (this.startedAt?.getTime() ?? 0);
      if (waited > probe.startupTimeoutSeconds * 1000) {
        this.message = `not ready within ${probe.startupTimeoutSeconds}s: ${result.reason}`;
        this.context.emit('Unhealthy', 'Warning', `Replica ${this.name} ${this.message}; restarting`, this);
        this.kill('StartupTimeout');
        return;
      }
      this.scheduleProbe(startupProbeIntervalMs);
      return;
    }
    this.probeFailures += 1;
    if (this.ready && this.probeFailures >= probe.failureThreshold) {
      this.ready = false;
      this.message = `readiness probe failed ${this.probeFailures} times: ${result.reason}`;
      this.context.emit('Unhealthy', 'Warning', `Replica ${this.name} ${this.message}`, this);
      this.context.changed();
    }
    if (this.probeFailures >= probe.failureThreshold * 3) {
      this.context.emit(
        'Killed',
        'Warning',
        `Replica ${this.name} failed ${this.probeFailures} probes in a row; restarting it`,
        this,
      );
      this.kill('Unhealthy');
      return;
    }
    this.scheduleProbe(period);
  }

  private markReady(): void {
    this.ready = true;
    this.everReady = true;
    this.message = null;
    this.context.emit(
      'Ready',
      'Normal',
      `Replica ${this.name} is ready${this.port === null ? '' : ` on port ${this.port}`}`,
      this,
    );
    this.context.changed();
  }

  private followOutput(stdoutOffset = -1, stderrOffset = -1): void {
    if (this.following) return;
    this.following = true;
    const { tailer } = this.context;
    // Restarts append to the same files, so one follower spans every incarnation of the replica.
    tailer.follow(this.stdoutPath, Math.max(stdoutOffset, 0), (line) => {
      this.context.log(this, 'stdout', line);
    });
    tailer.follow(this.stderrPath, Math.max(stderrOffset, 0), (line) => {
      this.context.log(this, 'stderr', line);
    });
  }

  private async unfollowOutput(): Promise<void> {
    if (!this.following) return;
    this.following = false;
    await this.context.tailer.unfollow(this.stdoutPath);
    await this.context.tailer.unfollow(this.stderrPath);
  }

  private clearTimers(): void {
    for (const timer of [this.probeTimer, this.backOffTimer, this.graceTimer]) {
      if (timer !== undefined) clearTimeout(timer);
    }
    this.probeTimer = undefined;
    this.backOffTimer = undefined;
    this.graceTimer = undefined;
  }
}

/**
 * Expands `$(NAME)` in values with the value of another variable, as Kubernetes does for dependent variables:
 * `OTEL_RESOURCE_ATTRIBUTES=service.instance.id=$(OPSPILOT_REPLICA)` gets the replica's name. `$$(NAME)` is a
 * literal `$(NAME)`; unknown names are left as they are.
 */
export function expandReferences(env: Record<string, string>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!value.includes('$(')) continue;
    env[name] = value.replace(/\$?\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, reference: string) =>
      match.startsWith('$$') ? match.slice(1) : (env[reference] ?? match),
    );
  }
}

function describeExit(exit: ReplicaExit): string {
  if (exit.reason === 'OOMKilled') return 'killed for exceeding its memory limit';
  if (exit.reason === 'Unhealthy') return 'killed after failing its health checks';
  if (exit.reason === 'StartupTimeout') return 'killed for not becoming ready in time';
  if (exit.signal !== null) return `terminated by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

function formatDelay(milliseconds: number): string {
  return milliseconds < 1000 ? `${milliseconds}ms` : `${Math.round(milliseconds / 100) / 10}s`;
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}
