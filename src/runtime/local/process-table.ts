// Reads the operating system's process table: resource usage per process session, liveness checks that are
// safe against pid reuse, and signalling a whole process tree. Linux reads /proc; elsewhere `ps` is used.
import { execFile, execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface SessionUsage {
  /** Live (non-zombie) processes of the session, leader first when it is alive. */
  readonly pids: readonly number[];
  readonly rssBytes: number;
  /** User + system cpu time of the live processes, in seconds. */
  readonly cpuSeconds: number;
}

export interface ProcessTable {
  /** Usage per session leader pid, for the given leaders only. */
  usage(leaders: ReadonlySet<number>): Promise<Map<number, SessionUsage>>;
  /**
   * A token that identifies one incarnation of a pid (its start time). Undefined when the process does not exist.
   * Comparing tokens tells a re-used pid from the process that was recorded.
   */
  startToken(pid: number): string | undefined;
  /** Sends a signal to every process of the session led by `leader`. Returns false when none was found. */
  signalSession(leader: number, signal: NodeJS.Signals): Promise<boolean>;
}

export function createProcessTable(): ProcessTable {
  return process.platform === 'linux' ? new ProcfsProcessTable() : new PsProcessTable();
}

/** Linux: /proc/<pid>/stat has the session, cpu times and start time; rss in pages. */
export class ProcfsProcessTable implements ProcessTable {
  private readonly pageSize = readPageSize();
  /** USER_HZ is 100 on every mainstream Linux ABI; /proc reports cpu time in these ticks. */
  private readonly ticksPerSecond = 100;

  async usage(leaders: ReadonlySet<number>): Promise<Map<number, SessionUsage>> {
    const result = new Map<number, { pids: number[]; rssBytes: number; cpuSeconds: number }>();
    if (leaders.size === 0) return result;
    const entries = await readdir('/proc').catch(() => [] as string[]);
    await Promise.all(
      entries.map(async (entry) => {
        if (!/^\d+$/.test(entry)) return;
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
        if (stat === undefined) return;
        const parsed = parseStat(stat);
        if (parsed === undefined || parsed.state === 'Z' || !leaders.has(parsed.session)) return;
        let usage = result.get(parsed.session);
        if (usage === undefined) {
          usage = { pids: [], rssBytes: 0, cpuSeconds: 0 };
          result.set(parsed.session, usage);
        }
        const pid = Number(entry);
        if (pid === parsed.session) usage.pids.unshift(pid);
        else usage.pids.push(pid);
        usage.rssBytes += parsed.rssPages * this.pageSize;
        usage.cpuSeconds += (parsed.utime + parsed.stime) / this.ticksPerSecond;
      }),
    );
    return result;
  }

  startToken(pid: number): string | undefined {
    try {
      const parsed = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (parsed === undefined || parsed.state === 'Z') return undefined;
      return `linux:${parsed.startTime}`;
    } catch {
      return undefined;
    }
  }

  async signalSession(leader: number, signal: NodeJS.Signals): Promise<boolean> {
    const usage = (await this.usage(new Set([leader]))).get(leader);
    let any = signalGroup(leader, signal);
    // Members that moved to their own process group are still in the session; reach them one by one.
    for (const pid of usage?.pids ?? []) any = signalPid(pid, signal) || any;
    return any;
  }
}

/** macOS and other Unixes: `ps`, grouped by process group (session ids are not portable there). */
export class PsProcessTable implements ProcessTable {
  async usage(leaders: ReadonlySet<number>): Promise<Map<number, SessionUsage>> {
    const result = new Map<number, { pids: number[]; rssBytes: number; cpuSeconds: number }>();
    if (leaders.size === 0) return result;
    const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=,pgid=,rss=,time=,stat=']);
    for (const line of stdout.split('\n')) {
      const [pidText, pgidText, rssText, timeText, stat] = line.trim().split(/\s+/);
      const pgid = Number(pgidText);
      if (!leaders.has(pgid) || stat?.startsWith('Z')) continue;
      let usage = result.get(pgid);
      if (usage === undefined) {
        usage = { pids: [], rssBytes: 0, cpuSeconds: 0 };
        result.set(pgid, usage);
      }
      const pid = Number(pidText);
      if (pid === pgid) usage.pids.unshift(pid);
      else usage.pids.push(pid);
      usage.rssBytes += Number(rssText) * 1024;
      usage.cpuSeconds += parsePsTime(timeText ?? '0');
    }
    return result;
  }

  startToken(pid: number): string | undefined {
    try {
      const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim();
      return started === '' ? undefined : `ps:${started}`;
    } catch {
      return undefined;
    }
  }

  signalSession(leader: number, signal: NodeJS.Signals): Promise<boolean> {
    return Promise.resolve(signalGroup(leader, signal));
  }
}

interface StatFields {
  state: string;
  session: number;
  utime: number;
  stime: number;
  startTime: string;
  rssPages: number;
}

/** Parses /proc/<pid>/stat (proc(5)); the command name may hold spaces and parentheses. */
export function parseStat(text: string): StatFields | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // fields[0] is field 3 of proc(5): state; session is 6, utime 14, stime 15, starttime 22, rss 24.
  const state = fields[0];
  const session = Number(fields[3]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const startTime = fields[19];
  const rssPages = Number(fields[21]);
  if (
    state === undefined ||
    startTime === undefined ||
    [session, utime, stime, rssPages].some(Number.isNaN)
  ) {
    return undefined;
  }
  return { state, session, utime, stime, startTime, rssPages };
}

/** `ps` cpu time: `[[dd-]hh:]mm:ss[.cc]`. */
export function parsePsTime(text: string): number {
  const [days, rest] = text.includes('-') ? text.split('-') : ['0', text];
  const parts = (rest ?? '0').split(':').map(Number);
  let seconds = 0;
  for (const part of parts) seconds = seconds * 60 + part;
  return Number(days) * 86_400 + seconds;
}

function readPageSize(): number {
  try {
    const size = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
    return Number.isFinite(size) && size > 0 ? size : 4096;
  } catch {
    return 4096;
  }
}

function signalGroup(leader: number, signal: NodeJS.Signals): boolean {
  return signalPid(-leader, signal);
}

function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
