// Resource limits through the kernel: on the cgroup hierarchy this machine has (v2 preferred, else v1), a replica
// over its memory limit is killed by the kernel's OOM killer and a cpu limit throttles a busy loop. The test
// names say which hierarchy they covered; without a usable one they are skipped (RSS polling is covered by
// test/runtime/local-runtime.test.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localRuntimeConfigSchema } from '../../src/config/config-schema.js';
import { detectCgroups } from '../../src/runtime/local/cgroups.js';
import { LocalRuntime } from '../../src/runtime/local/local-runtime.js';
import type { RuntimeEvent, WorkloadSpec } from '../../src/runtime/ports.js';
import { waitFor } from '../helpers/wait-for.js';

const cgroups = detectCgroups();
const version = cgroups?.version;

let dataDir: string;
let events: RuntimeEvent[];
let runtime: LocalRuntime;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'opspilot-cgroups-'));
  events = [];
  runtime = new LocalRuntime({
    dataDir,
    config: localRuntimeConfigSchema.parse({
      // Slow sampling: the RSS poll must not get to the replica before the kernel does.
      sampleIntervalMs: 5000,
      restartInitialDelayMs: 60_000,
      terminationGraceSeconds: 1,
    }),
    baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    listener: { event: (event) => events.push(event) },
  });
  await runtime.start();
});

afterEach(async () => {
  await runtime.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
});

function worker(script: string, resources: WorkloadSpec['resources']): WorkloadSpec {
  return {
    id: 'uid-hog-dev',
    name: 'hog-dev',
    labels: { component: 'hog' },
    type: 'worker',
    revision: 'hog-1',
    template: { command: process.execPath, args: ['-e', script], env: {} },
    replicas: 1,
    resources,
  };
}

describe.skipIf(version === undefined)(`resource limits on cgroup ${version ?? 'none'}`, () => {
  it(`has the kernel OOM-kill a replica over its memory limit (cgroup ${version ?? '-'})`, async () => {
    // 16 MiB more every 50ms, touched (Buffer.alloc fills it), so that resident memory really grows.
    const hog = 'const kept = []; setInterval(() => kept.push(Buffer.alloc(16 * 2 ** 20, 1)), 50);';
    await runtime.apply([worker(hog, { memoryLimitBytes: 96 * 2 ** 20 })]);
    const started = await waitFor(
      () => runtime.status('uid-hog-dev')?.replicas[0],
      (replica) => replica?.isolation !== undefined && replica.isolation !== null,
      { what: 'the replica to start' },
    );
    expect(started?.isolation?.limits).toBe(`cgroup-${version ?? ''}`);
    expect(started?.isolation?.summary).toContain(`cgroup ${version ?? ''} memory`);

    const oom = await waitFor(
      () => events.filter((event) => event.reason === 'OOMKilled'),
      (seen) => seen.length > 0,
      { what: 'an OOMKilled event', timeoutMs: 20_000 },
    );
    expect(oom[0]?.message).toContain('the kernel');
    const replica = await waitFor(
      () => runtime.status('uid-hog-dev')?.replicas[0],
      (next) => next?.lastExit !== null && next?.lastExit !== undefined,
      { what: 'the exit to be recorded' },
    );
    expect(replica?.lastExit?.reason).toBe('OOMKilled');
  });

  it(`throttles a busy replica to its cpu limit (cgroup ${version ?? '-'})`, async () => {
    await runtime.apply([worker('for (;;) {}', { cpuLimitMillis: 100 })]);
    const replica = await waitFor(
      () => runtime.status('uid-hog-dev')?.replicas[0],
      (next) => next?.isolation !== undefined && next.isolation !== null && next.pid !== null,
      { what: 'the replica to start' },
    );
    const path = replica?.isolation?.cgroup?.cpu;
    if (path === undefined || path === null) throw new Error('the replica has no cpu cgroup');
    // The kernel applies the quota: 10ms per 100ms period for 100 millicores.
    const quota =
      version === 'v2'
        ? readFileSync(join(path, 'cpu.max'), 'utf8').trim()
        : `${readFileSync(join(path, 'cpu.cfs_quota_us'), 'utf8').trim()} ${readFileSync(join(path, 'cpu.cfs_period_us'), 'utf8').trim()}`;
    expect(quota).toBe('10000 100000');
    // …and enforces it: the busy loop gets throttled.
    const throttled = await waitFor(
      () => /nr_throttled (\d+)/.exec(readFileSync(join(path, 'cpu.stat'), 'utf8'))?.[1],
      (count) => Number(count) > 0,
      { what: 'the cgroup to report throttled periods' },
    );
    expect(Number(throttled)).toBeGreaterThan(0);
    expect(replica?.isolation?.summary).toContain('cpu');
  });

  it(`leaves no cgroup behind once its replicas are stopped (cgroup ${version ?? '-'})`, async () => {
    // Shells whose children are still dying when the leader's exit is seen keep their cgroups busy a moment.
    const spec: WorkloadSpec = {
      ...worker('', { memoryLimitBytes: 64 * 2 ** 20 }),
      template: { command: 'sh', args: ['-c', 'echo started; sleep 30'], env: {} },
      replicas: 3,
    };
    await runtime.apply([spec]);
    const replicas = await waitFor(
      () => runtime.status('uid-hog-dev')?.replicas ?? [],
      (next) =>
        next.length === 3 && next.every((replica) => replica.isolation !== null && replica.pid !== null),
      { what: 'the replicas to start' },
    );
    const paths = replicas.flatMap((replica) =>
      [replica.isolation?.cgroup?.memory, replica.isolation?.cgroup?.cpu].filter(
        (path): path is string => typeof path === 'string',
      ),
    );
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((path) => existsSync(path))).toBe(true);
    await runtime.apply([]);
    expect(paths.filter((path) => existsSync(path))).toEqual([]);
  });
});
