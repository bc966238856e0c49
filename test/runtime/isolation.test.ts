// Workload isolation of the local runtime against real processes, in every isolation mode this machine can run:
// "user" (as root: an unprivileged uid of the workload's own) and "sandbox" (bubblewrap without the data dir).
// A replica must not be able to read the data dir, nor the supervisor's environment.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localRuntimeConfigSchema } from '../../src/config/config-schema.js';
import { LocalRuntime } from '../../src/runtime/local/local-runtime.js';
import type { LogLine, RuntimeEvent, WorkloadSpec, WorkloadStatus } from '../../src/runtime/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { runnableIsolationModes } from './isolation-modes.js';

const secret = `secret-${String(Date.now())}-never-in-a-log`;

let workspace: string;
let dataDir: string;
let events: RuntimeEvent[];
let runtime: LocalRuntime | undefined;
let warnings: string[];

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-isolation-'));
  dataDir = join(workspace, 'data');
  mkdirSync(join(dataDir, 'auth'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dataDir, 'auth', 'admin.token'), `${secret}\n`, { mode: 0o600 });
  writeFileSync(join(dataDir, 'state.db'), `SQLite format 3 ${secret}`, { mode: 0o600 });
  chmodSync(dataDir, 0o700);
  // The workspace is the parent of the data dir; it is open so that only the data dir's own mode protects it.
  chmodSync(workspace, 0o755);
  events = [];
  warnings = [];
});

afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  rmSync(workspace, { recursive: true, force: true });
});

function startRuntime(isolation: 'user' | 'sandbox' | 'none' | 'auto'): Promise<void> {
  runtime = new LocalRuntime({
    dataDir,
    config: localRuntimeConfigSchema.parse({
      sampleIntervalMs: 200,
      restartInitialDelayMs: 200,
      terminationGraceSeconds: 1,
      isolation,
    }),
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    listener: { event: (event) => events.push(event) },
    onError: (error) => warnings.push((error as Error).message),
  });
  return runtime.start();
}

function job(script: string, overrides: Partial<WorkloadSpec['template']> = {}): WorkloadSpec {
  return {
    id: 'uid-escape-dev',
    name: 'escape-dev',
    labels: { component: 'escape' },
    type: 'job',
    revision: 'escape-1',
    template: {
      command: 'sh',
      args: ['-c', script],
      env: { DATA: dataDir, SUPERVISOR: String(process.pid) },
      ...overrides,
    },
    replicas: 1,
    resources: {},
  };
}

async function completed(): Promise<WorkloadStatus> {
  const status = await waitFor(
    () => runtime?.status('uid-escape-dev'),
    (next) => next?.phase === 'Completed' || (next?.restarts ?? 0) > 0,
    { what: 'the job to complete', timeoutMs: 20_000 },
  );
  if (status === undefined) throw new Error('no status');
  return status;
}

async function logText(marker: string): Promise<string> {
  const lines = await waitFor(
    () => runtime?.logs('uid-escape-dev') ?? [],
    (seen: LogLine[]) => seen.filter((line) => line.line === marker).length === 2,
    { what: `the job's output up to ${marker}` },
  );
  return lines.map((line) => line.line).join('\n');
}

const escape = [
  'echo "uid=$(id -u)"',
  'cat "$DATA/auth/admin.token"',
  'ls -la "$DATA" "$DATA/auth"',
  'cat "$DATA/state.db"',
  'cat "/proc/$SUPERVISOR/environ"',
  // On both streams: they are followed separately, so both must have been read up to here.
  'echo done-trying',
  'echo done-trying >&2',
].join('; ');

const modes = runnableIsolationModes();

describe.skipIf(modes.length === 0).each(modes)('isolation mode %s', (mode) => {
  it('runs the replica where it cannot read the data dir or the supervisor environment', async () => {
    await startRuntime(mode);
    await runtime?.apply([job(escape)]);
    const status = await completed();
    const text = await logText('done-trying');

    expect(status.phase).toBe('Completed');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('SQLite format 3');
    // The attempts were made and refused, not skipped.
    expect(text).toMatch(/admin\.token: (Permission denied|No such file or directory)/);
    expect(text).toMatch(/environ: (Permission denied|No such file or directory)/);
    const isolation = status.replicas[0]?.isolation;
    expect(isolation?.mode).toBe(mode);
    if (mode === 'user') {
      const uid = /uid=(\d+)/.exec(text)?.[1];
      expect(uid).toBeDefined();
      expect(Number(uid)).not.toBe(0);
      expect(isolation?.uid).toBe(Number(uid));
      expect(isolation?.summary).toContain(`user (uid ${String(uid)})`);
    } else {
      expect(isolation?.summary).toContain('sandbox (bubblewrap)');
    }
  });
});

describe.skipIf(!modes.includes('user'))('isolation mode user', () => {
  it('refuses a working directory the replica user cannot reach, naming the folder and the fix', async () => {
    const closed = join(workspace, 'closed');
    mkdirSync(join(closed, 'app'), { recursive: true });
    chmodSync(closed, 0o700);
    await startRuntime('user');
    await runtime?.apply([job('echo hi', { cwd: join(closed, 'app') })]);
    const failed = await waitFor(
      () => events.filter((event) => event.reason === 'Failed'),
      (seen) => seen.length > 0,
      { what: 'a Failed event' },
    );
    expect(failed[0]?.message).toContain(`${closed} is not accessible to uid`);
    expect(failed[0]?.message).toContain('chmod');
  });

  it('gives each workload its own uid, the same one for all its replicas', async () => {
    await startRuntime('user');
    const base = job('echo "uid=$(id -u)"; sleep 30');
    await runtime?.apply([
      { ...base, type: 'worker', replicas: 2 },
      { ...base, id: 'uid-other-dev', name: 'other-dev', type: 'worker' },
    ]);
    const uids = await waitFor(
      () => [
        ...(runtime?.status('uid-escape-dev')?.replicas ?? []),
        ...(runtime?.status('uid-other-dev')?.replicas ?? []),
      ],
      (replicas) => replicas.length === 3 && replicas.every((replica) => replica.isolation !== null),
      { what: 'three started replicas' },
    );
    const [first, second, other] = uids.map((replica) => replica.isolation?.uid);
    expect(first).toBe(second);
    expect(other).not.toBe(first);
  });
});

describe('isolation mode none', () => {
  it('runs only on explicit opt-in, says so loudly and shows it on the replica', async () => {
    await startRuntime('none');
    expect(warnings.join('\n')).toContain('isolation is off');
    await runtime?.apply([job('echo done-trying; echo done-trying >&2')]);
    const status = await completed();
    expect(status.replicas[0]?.isolation).toMatchObject({ mode: 'none', uid: null });
    expect(status.replicas[0]?.isolation?.summary).toContain("opspilot's own privileges");
  });
});
