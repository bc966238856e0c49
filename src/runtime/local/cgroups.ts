// Resource limits through the kernel's cgroups: each replica gets a cgroup below opspilot's own, with
// memory.max / cpu.max (v2) or memory.limit_in_bytes / cpu.cfs_quota_us (v1). Over its memory limit the kernel's
// OOM killer ends it (a real OOM kill, not a poll that may come too late); a cpu limit really throttles it.
// Where no hierarchy lets opspilot create cgroups, the runtime falls back to polling resident memory.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type CgroupVersion = 'v2' | 'v1';

/** Where replica cgroups can be created, per controller (undefined: that controller cannot be used). */
export interface CgroupSupport {
  readonly version: CgroupVersion;
  /** Parent directory of replica cgroups for the memory controller. */
  readonly memory: string | undefined;
  readonly cpu: string | undefined;
}

export interface CgroupLimits {
  readonly memoryBytes: number | undefined;
  readonly cpuMillis: number | undefined;
}

/** The directory under opspilot's own cgroup that holds the replicas' cgroups. */
const parentName = 'opspilot';
const cpuPeriodMicros = 100_000;

/**
 * Finds a cgroup hierarchy opspilot may create replica cgroups in: v2 when its own cgroup offers (or can be made
 * to offer) memory and cpu to children, else the v1 memory and cpu controllers. Undefined when neither works
 * (not Linux, no permission, or a v2 cgroup that holds processes and so cannot delegate controllers).
 */
export function detectCgroups(): CgroupSupport | undefined {
  if (process.platform !== 'linux') return undefined;
  let mounts: CgroupMount[];
  let memberships: Map<string, string>;
  try {
    mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    memberships = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    return undefined;
  }
  return detectV2(mounts, memberships) ?? detectV1(mounts, memberships);
}

function detectV2(
  mounts: readonly CgroupMount[],
  memberships: Map<string, string>,
): CgroupSupport | undefined {
  const mount = mounts.find((candidate) => candidate.type === 'cgroup2');
  const own = memberships.get('');
  if (mount === undefined || own === undefined) return undefined;
  const base = join(mount.point, relativeTo(own, mount.root));
  const available = readWords(join(base, 'cgroup.controllers'));
  if (!available.has('memory')) return undefined;
  const wanted = ['memory', ...(available.has('cpu') ? ['cpu'] : [])];
  try {
    // Children only get a controller that their parent enables for its subtree. A non-root cgroup that holds
    // processes (opspilot itself) may not do that: then v2 cannot be used here.
    enableControllers(base, wanted);
    const support: CgroupSupport = {
      version: 'v2',
      memory: join(base, parentName),
      cpu: wanted.includes('cpu') ? join(base, parentName) : undefined,
    };
    ensureParents(support);
    return support;
  } catch {
    return undefined;
  }
}

/** Creates the directories that hold replica cgroups (again, after the last replica removed them). */
function ensureParents(support: CgroupSupport): void {
  for (const directory of new Set([support.memory, support.cpu])) {
    if (directory === undefined) continue;
    mkdirSync(directory, { recursive: true });
    if (support.version === 'v2')
      enableControllers(directory, support.cpu === undefined ? ['memory'] : ['memory', 'cpu']);
  }
}

function detectV1(
  mounts: readonly CgroupMount[],
  memberships: Map<string, string>,
): CgroupSupport | undefined {
  const parentFor = (controller: string): string | undefined => {
    const mount = mounts.find(
      (candidate) => candidate.type === 'cgroup' && candidate.options.has(controller),
    );
    const own = [...memberships].find(([controllers]) => controllers.split(',').includes(controller))?.[1];
    if (mount === undefined || own === undefined) return undefined;
    const parent = join(mount.point, relativeTo(own, mount.root), parentName);
    try {
      mkdirSync(parent, { recursive: true });
      return parent;
    } catch {
      return undefined;
    }
  };
  const memory = parentFor('memory');
  const cpu = parentFor('cpu');
  if (memory === undefined && cpu === undefined) return undefined;
  return { version: 'v1', memory, cpu };
}

/** One replica's cgroup (one directory per controller in v1, a single one in v2). */
export class ReplicaCgroup {
  private applied: CgroupLimits = { memoryBytes: undefined, cpuMillis: undefined };
  private oomKillsSeen = 0;

  private constructor(
    readonly version: CgroupVersion,
    readonly memory: string | undefined,
    readonly cpu: string | undefined,
  ) {}

  /** Creates the cgroup of a replica (unique name) with its limits; undefined when it cannot be created. */
  static create(support: CgroupSupport, name: string, limits: CgroupLimits): ReplicaCgroup | undefined {
    try {
      const memory = support.memory === undefined ? undefined : join(support.memory, name);
      const cpu = support.cpu === undefined ? undefined : join(support.cpu, name);
      for (const directory of new Set([memory, cpu])) {
        if (directory === undefined) continue;
        // Another runtime below the same cgroup may remove the parent as its last replica goes: retry once.
        for (let attempt = 0; ; attempt += 1) {
          ensureParents(support);
          try {
            mkdirSync(directory);
            break;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw error;
          }
        }
      }
      const cgroup = new ReplicaCgroup(support.version, memory, cpu);
      cgroup.update(limits, true);
      return cgroup;
    } catch {
      return undefined;
    }
  }

  /** The cgroup of an adopted replica, as its record names it. */
  static existing(
    version: CgroupVersion,
    memory: string | null,
    cpu: string | null,
  ): ReplicaCgroup | undefined {
    if (memory === null && cpu === null) return undefined;
    const cgroup = new ReplicaCgroup(version, memory ?? undefined, cpu ?? undefined);
    cgroup.oomKillsSeen = cgroup.oomKills();
    return cgroup;
  }

  /** Controllers in use, for people: `memory+cpu`. */
  get controllers(): string {
    return [this.memory === undefined ? [] : ['memory'], this.cpu === undefined ? [] : ['cpu']]
      .flat()
      .join('+');
  }

  /** Moves a process (and so everything it will start) into the cgroup. */
  join(pid: number): void {
    for (const directory of new Set([this.memory, this.cpu])) {
      if (directory !== undefined) writeFileSync(join(directory, 'cgroup.procs'), String(pid));
    }
  }

  /** Applies changed limits (a binding's limits change without a restart). */
  update(limits: CgroupLimits, force = false): void {
    if (force || limits.memoryBytes !== this.applied.memoryBytes) this.applyMemory(limits.memoryBytes);
    if (force || limits.cpuMillis !== this.applied.cpuMillis) this.applyCpu(limits.cpuMillis);
    this.applied = limits;
  }

  /** Whether the kernel OOM-killed a process of the cgroup since the last call. */
  takeOomKill(): boolean {
    const count = this.oomKills();
    if (count <= this.oomKillsSeen) return false;
    this.oomKillsSeen = count;
    return true;
  }

  /**
   * Removes the cgroup (it must be empty: retries for a moment while killed processes are reaped), and the
   * parent directory too when it was the last one, so that nothing is left below opspilot's own cgroup.
   */
  async remove(): Promise<void> {
    let left = [...new Set([this.memory, this.cpu])].flatMap((directory) =>
      directory === undefined ? [] : [directory],
    );
    for (let attempt = 0; left.length > 0 && attempt < 40; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      left = left.filter((directory) => {
        try {
          rmdirSync(directory);
          removeIfEmpty(dirname(directory));
          return false;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'EBUSY';
        }
      });
    }
  }

  private oomKills(): number {
    if (this.memory === undefined) return 0;
    const file = this.version === 'v2' ? 'memory.events' : 'memory.oom_control';
    try {
      const match = /^oom_kill (\d+)$/m.exec(readFileSync(join(this.memory, file), 'utf8'));
      return match?.[1] === undefined ? 0 : Number(match[1]);
    } catch {
      return 0;
    }
  }

  private applyMemory(bytes: number | undefined): void {
    if (this.memory === undefined) return;
    const directory = this.memory;
    if (this.version === 'v2') {
      writeFileSync(join(directory, 'memory.max'), bytes === undefined ? 'max' : String(bytes));
      // Swapping instead of an OOM kill would hide the limit; a group kill ends the whole replica at once.
      optional(() => {
        writeFileSync(join(directory, 'memory.swap.max'), bytes === undefined ? 'max' : '0');
      });
      optional(() => {
        writeFileSync(join(directory, 'memory.oom.group'), '1');
      });
      return;
    }
    // memsw (memory + swap) must stay at or above the memory limit: lower the memory limit first, raise it last.
    const memsw = join(directory, 'memory.memsw.limit_in_bytes');
    const limit = join(directory, 'memory.limit_in_bytes');
    const value = bytes === undefined ? '-1' : String(bytes);
    const raising = bytes === undefined || (this.applied.memoryBytes ?? Infinity) < bytes;
    if (raising) {
      optional(() => {
        writeFileSync(memsw, value);
      });
      writeFileSync(limit, value);
    } else {
      writeFileSync(limit, value);
      optional(() => {
        writeFileSync(memsw, value);
      });
    }
  }

  private applyCpu(millis: number | undefined): void {
    if (this.cpu === undefined) return;
    // The kernel's smallest quota is 1ms per period.
    const quota =
      millis === undefined ? undefined : Math.max(1000, Math.round((millis / 1000) * cpuPeriodMicros));
    if (this.version === 'v2') {
      writeFileSync(
        join(this.cpu, 'cpu.max'),
        `${quota === undefined ? 'max' : String(quota)} ${String(cpuPeriodMicros)}`,
      );
      return;
    }
    writeFileSync(join(this.cpu, 'cpu.cfs_period_us'), String(cpuPeriodMicros));
    writeFileSync(join(this.cpu, 'cpu.cfs_quota_us'), quota === undefined ? '-1' : String(quota));
  }
}

interface CgroupMount {
  readonly type: 'cgroup' | 'cgroup2';
  /** The hierarchy's directory that is mounted (not `/` when a container sees only its own part). */
  readonly root: string;
  readonly point: string;
  readonly options: ReadonlySet<string>;
}

/** proc(5) mountinfo: `id parent major:minor root point options [optional…] - type source super-options`. */
function parseMountInfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [type, , superOptions] = right.split(' ');
    const root = fields[3];
    const point = fields[4];
    if ((type !== 'cgroup' && type !== 'cgroup2') || root === undefined || point === undefined) continue;
    mounts.push({
      type,
      root: unescapeMountPath(root),
      point: unescapeMountPath(point),
      options: new Set((superOptions ?? '').split(',')),
    });
  }
  return mounts;
}

/** /proc/self/cgroup: `id:controllers:path`; controllers are empty for v2. */
function parseProcCgroup(text: string): Map<string, string> {
  const memberships = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) memberships.set(match[1], match[2]);
  }
  return memberships;
}

function relativeTo(path: string, root: string): string {
  if (root === '/' || !path.startsWith(root)) return path;
  return path.slice(root.length) || '/';
}

function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function readWords(file: string): Set<string> {
  try {
    return new Set(readFileSync(file, 'utf8').trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

function enableControllers(directory: string, controllers: readonly string[]): void {
  const enabled = readWords(join(directory, 'cgroup.subtree_control'));
  const missing = controllers.filter((controller) => !enabled.has(controller));
  if (missing.length === 0) return;
  writeFileSync(join(directory, 'cgroup.subtree_control'), missing.map((name) => `+${name}`).join(' '));
}

function optional(write: () => void): void {
  try {
    write();
  } catch {
    // Not every kernel has this knob (no swap accounting, older kernels); the limit itself is set.
  }
}

/** Removes the directories that held replica cgroups, where they are empty (another runtime may still use one). */
export function removeCgroupParents(support: CgroupSupport): void {
  for (const directory of new Set([support.memory, support.cpu])) {
    if (directory !== undefined) removeIfEmpty(directory);
  }
}

function removeIfEmpty(directory: string): void {
  try {
    rmdirSync(directory);
  } catch {
    // still holds cgroups of other replicas, or already gone
  }
}
