// Keeps replicas from the runtime's own privileges (docs/runtime.md). As root, every workload runs as an
// unprivileged uid of its own, which cannot open the data dir (0700) nor read opspilot's /proc entries; as any
// other user, replicas run inside bubblewrap with the data dir replaced by an empty tmpfs and their own pid
// namespace. `none` runs them as opspilot itself and only on explicit request. Build steps run the same way.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { LocalRuntimeConfig } from '../../config/config-schema.js';
import { UnavailableError } from '../../core/errors.js';
import type { IsolationMode } from '../ports.js';

/** The isolation the runtime resolved at start, from the config and what this machine offers. */
export interface RuntimeIsolation {
  readonly mode: IsolationMode;
  /** Absolute path of bwrap, in sandbox mode. */
  readonly bwrap: string | undefined;
  /** The data dir as the kernel sees it (symlinks resolved), hidden from sandboxed replicas. */
  readonly dataDir: string;
}

/** The resolved isolation with the uids of `user` mode, shared by replicas and build steps. */
export interface WorkloadIsolation {
  readonly isolation: RuntimeIsolation;
  /** Undefined unless the mode is `user`. */
  readonly userIds: WorkloadUserIds | undefined;
}

/** What one process is started as: the file to exec, its arguments and the credentials to switch to. */
export interface LaunchPlan {
  readonly file: string;
  readonly args: readonly string[];
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** The process waits on stdin for a line before it execs the command (it is moved into its cgroup first). */
  readonly waitsForGo: boolean;
}

/**
 * Picks the isolation mode; throws when the configured one (or any, for auto) cannot be had here. `path` is the
 * PATH bwrap is looked up in.
 */
export function resolveIsolation(
  config: LocalRuntimeConfig,
  dataDir: string,
  path: string,
): RuntimeIsolation {
  const root = process.getuid?.() === 0;
  const realDataDir = realpathSync(dataDir);
  const wanted = config.isolation;
  if (wanted === 'none') return { mode: 'none', bwrap: undefined, dataDir: realDataDir };
  if (wanted === 'user' || (wanted === 'auto' && root)) {
    if (!root) {
      throw new UnavailableError('runtime.local.isolation is user, but opspilot is not running as root', {
        hint: 'User isolation switches every workload to an unprivileged uid, which needs root. Run opspilot as root, or set runtime.local.isolation to sandbox (bubblewrap) or auto.',
      });
    }
    return { mode: 'user', bwrap: undefined, dataDir: realDataDir };
  }
  const bwrap = findBubblewrap(path);
  if (typeof bwrap !== 'string') {
    throw new UnavailableError(`cannot isolate replicas: ${bwrap.problem}`, {
      hint:
        'Replicas must not run with opspilot’s privileges. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) ' +
        'and allow it to create namespaces, or run opspilot as root (each workload then runs as its own unprivileged user). ' +
        'To run replicas with opspilot’s own privileges anyway (they can then read its data dir and tokens), set ' +
        'runtime.local.isolation: none.',
    });
  }
  return { mode: 'sandbox', bwrap, dataDir: realDataDir };
}

/** Finds a bwrap that can actually create a sandbox here (unprivileged user namespaces may be disabled). */
function findBubblewrap(searchPath: string): string | { problem: string } {
  const path = findExecutable('bwrap', searchPath, process.cwd());
  if (path === undefined) return { problem: 'not running as root, and bubblewrap (bwrap) is not installed' };
  try {
    execFileSync(path, ['--ro-bind', '/', '/', '--dev', '/dev', '--unshare-pid', '--', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 10_000,
    });
    return path;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return {
      problem: `bubblewrap (${path}) cannot create a sandbox here: ${stderr || (error as Error).message}`,
    };
  }
}

/**
 * How a replica's process is started. The command is exec'd by a tiny shell that first restores a usual
 * umask (opspilot itself runs with 077) and, when the replica has a cgroup, waits until opspilot has moved it
 * there, so that nothing the replica starts ever runs outside its limits.
 */
export function launchPlan(options: {
  readonly isolation: RuntimeIsolation;
  readonly uid: number | undefined;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly waitForGo: boolean;
  /** In a sandbox, the working directory is bound read-write (a build step writes its outputs there). */
  readonly writableCwd?: boolean;
}): LaunchPlan {
  const { isolation } = options;
  const script = options.waitForGo
    ? 'umask 022 && read -r go && exec "$0" "$@" </dev/null'
    : 'umask 022 && exec "$0" "$@"';
  const command =
    isolation.mode === 'sandbox' && isolation.bwrap !== undefined
      ? [
          isolation.bwrap,
          ...sandboxArguments(isolation.dataDir, options.cwd, options.writableCwd === true),
          '--',
          options.command,
        ]
      : [options.command];
  return {
    file: '/bin/sh',
    args: ['-c', script, ...command, ...options.args],
    uid: isolation.mode === 'user' ? options.uid : undefined,
    gid: isolation.mode === 'user' ? options.uid : undefined,
    waitsForGo: options.waitForGo,
  };
}

/**
 * bubblewrap: the whole file system read-only, a private /tmp, the working directory (read-only, or read-write for
 * a build step) even when it lies in /tmp, and the data dir replaced by an empty tmpfs — last, so that nothing
 * re-exposes it, not even a working directory that contains the data dir. Its own pid
 * and IPC namespaces hide opspilot's processes (and /proc/<pid>/environ); the network is shared so that
 * endpoints and OTLP work. No capabilities even when opspilot is root.
 */
function sandboxArguments(dataDir: string, cwd: string, writableCwd: boolean): string[] {
  const options: string[][] = [
    ['--ro-bind', '/', '/'],
    ['--dev', '/dev'],
    ['--proc', '/proc'],
    ['--tmpfs', '/tmp'],
    [writableCwd ? '--bind' : '--ro-bind', cwd, cwd],
    ['--tmpfs', dataDir],
    ['--unshare-pid'],
    ['--unshare-ipc'],
    ['--cap-drop', 'ALL'],
    ['--chdir', cwd],
  ];
  return options.flat();
}

/** One line for people: `user (uid 1879051234)`, `sandbox (bubblewrap)`, `none (opspilot's own privileges)`. */
export function describeIsolation(mode: IsolationMode, uid: number | undefined): string {
  if (mode === 'user') return `user (uid ${String(uid ?? '?')})`;
  if (mode === 'sandbox') return 'sandbox (bubblewrap)';
  return "none (opspilot's own privileges)";
}

/**
 * Uids of `user` isolation: one per workload, so that replicas of different workloads (and namespaces) cannot
 * signal, trace or read each other; the same one for all replicas of a workload and across opspilot restarts
 * (derived from the workload id). Uids with a passwd or group entry are skipped; none needs to be created.
 */
export class WorkloadUserIds {
  private readonly assigned = new Map<string, number>();
  private readonly known: ReadonlySet<number>;

  constructor(
    private readonly start: number,
    private readonly count: number,
  ) {
    this.known = new Set([...idsIn('/etc/passwd'), ...idsIn('/etc/group')]);
  }

  /** The uid of a workload; `previous` (from its runtime record) is kept when it is still free. */
  take(workloadId: string, previous?: number): number {
    const existing = this.assigned.get(workloadId);
    if (existing !== undefined) return existing;
    const used = new Set(this.assigned.values());
    const free = (uid: number): boolean => !used.has(uid) && !this.known.has(uid);
    let uid = previous !== undefined && free(previous) ? previous : undefined;
    const first = createHash('sha256').update(workloadId).digest().readUInt32BE(0) % this.count;
    for (let step = 0; uid === undefined && step < this.count; step += 1) {
      const candidate = this.start + ((first + step) % this.count);
      if (free(candidate)) uid = candidate;
    }
    if (uid === undefined) {
      throw new UnavailableError(`no free uid left in ${String(this.start)}+${String(this.count)}`, {
        hint: 'Raise runtime.local.userIdCount.',
      });
    }
    this.assigned.set(workloadId, uid);
    return uid;
  }

  release(workloadId: string): void {
    this.assigned.delete(workloadId);
  }
}

/** Resolves a command as execvp would (PATH for bare names, the working directory for relative paths). */
export function findExecutable(command: string, path: string, cwd: string): string | undefined {
  const candidates = command.includes('/')
    ? [resolve(cwd, command)]
    : path
        .split(':')
        .filter((directory) => directory !== '')
        .map((directory) => join(isAbsolute(directory) ? directory : resolve(cwd, directory), command));
  return candidates.find((candidate) => {
    try {
      const stat = statSync(candidate);
      return stat.isFile() && (stat.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

/**
 * Why `uid` (with gid = uid and no other groups) cannot reach `path`: the first folder on the way it may not
 * enter, or the file itself it may not execute. Undefined when it can.
 */
export function unreachableFor(
  uid: number,
  path: string,
  kind: 'directory' | 'executable',
): string | undefined {
  const folders: string[] = [];
  for (let folder = kind === 'directory' ? path : dirname(path); ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (dirname(folder) === folder) break;
  }
  for (const folder of folders) {
    if (!permits(uid, folder, 0o1)) {
      return `${folder} is not accessible to uid ${String(uid)} (mode ${modeOf(folder)}); make it searchable for others (chmod o+x ${folder}), or move the component to a folder they can read`;
    }
  }
  if (kind === 'executable' && !permits(uid, path, 0o1)) {
    return `${path} is not executable by uid ${String(uid)} (mode ${modeOf(path)}); chmod o+rx ${path}`;
  }
  return undefined;
}

/** Whether `uid` (with gid = uid and no other groups) may create files in the folder `path`. */
export function writableFor(uid: number, path: string): boolean {
  return permits(uid, path, 0o3);
}

/** Whether `path` is `folder` or lies below it (both with symlinks resolved). */
export function isWithin(path: string, folder: string): boolean {
  const relation = relative(folder, path);
  return relation === '' || (relation !== '..' && !relation.startsWith(`..${sep}`) && !isAbsolute(relation));
}

function permits(uid: number, path: string, bit: number): boolean {
  try {
    const stat = statSync(path);
    const shift = stat.uid === uid ? 6 : stat.gid === uid ? 3 : 0;
    return ((stat.mode >> shift) & bit) === bit;
  } catch {
    return false;
  }
}

function modeOf(path: string): string {
  try {
    const stat = statSync(path);
    return `${(stat.mode & 0o777).toString(8).padStart(4, '0')}, owner ${String(stat.uid)}`;
  } catch {
    return 'unreadable';
  }
}

function idsIn(file: string): number[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => Number(line.split(':')[2]))
      .filter((id) => Number.isInteger(id));
  } catch {
    return [];
  }
}
