// The local runtime against real processes: replicas, endpoint, restarts, OOM, crash loops, rollouts,
// scale down, and re-adoption by a new supervisor.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localRuntimeConfigSchema } from '../../src/config/config-schema.js';
import { LocalRuntime } from '../../src/runtime/local/local-runtime.js';
import type { RuntimeEvent, WorkloadSpec, WorkloadStatus } from '../../src/runtime/ports.js';
import { httpGet, isProcessAlive, waitFor } from '../helpers/wait-for.js';

const service = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));
const config = localRuntimeConfigSchema.parse({
  sampleIntervalMs: 200,
  restartInitialDelayMs: 200,
  restartMaxDelayMs: 2000,
  terminationGraceSeconds: 2,
  // The fallback where no cgroup can be used: memory limits by polling (cgroups.test.ts covers the kernel's way).
  cgroups: 'off',
});

function workload(overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    id: 'uid-echo-dev',
    name: 'echo-dev',
    labels: { component: 'echo' },
    type: 'service',
    revision: 'echo-1',
    template: {
      command: process.execPath,
      args: [service],
      env: { GREETING: 'hi' },
      port: { env: 'PORT', protocol: 'http' },
      probe: {
        path: '/healthz',
        periodSeconds: 0.5,
        timeoutSeconds: 1,
        failureThreshold: 2,
        startupTimeoutSeconds: 20,
      },
    },
    replicas: 3,
    resources: {},
    ...overrides,
  };
}

let dataDir: string;
let events: RuntimeEvent[];
let runtimes: LocalRuntime[];

function newRuntime(): LocalRuntime {
  const runtime = new LocalRuntime({
    dataDir,
    config,
    baseEnv: { PATH: process.env.PATH ?? '' },
    listener: { event: (event) => events.push(event) },
  });
  runtimes.push(runtime);
  return runtime;
}

function ready(runtime: LocalRuntime, id: string, count: number, phase = 'Running'): Promise<WorkloadStatus> {
  return waitFor(
    () => runtime.status(id),
    (status): status is WorkloadStatus => status?.readyReplicas === count && status.phase === phase,
    { what: `${count} ready replicas and phase ${phase}`, timeoutMs: 20_000 },
  ) as Promise<WorkloadStatus>;
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'opspilot-runtime-'));
  events = [];
  runtimes = [];
});

afterEach(async () => {
  for (const runtime of runtimes) await runtime.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('LocalRuntime', () => {
  it('runs replicas behind a round-robin endpoint and replaces a killed one', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([workload()]);
    const status = await ready(runtime, 'uid-echo-dev', 3);
    expect(status.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ports = new Set(status.replicas.map((replica) => replica.port));
    expect(ports.size).toBe(3);

    const seen = new Set<string>();
    for (let index = 0; index < 6; index += 1) {
      const { status: code, body } = await httpGet(`${status.endpoint ?? ''}/`);
      expect(code).toBe(200);
      const answer = JSON.parse(body) as { replica: string; greeting: string };
      expect(answer.greeting).toBe('hi');
      seen.add(answer.replica);
    }
    expect(seen.size).toBe(3);

    const victim = status.replicas[0];
    if (victim?.pid == null) throw new Error('replica has no pid');
    process.kill(victim.pid, 'SIGKILL');
    const healed = await waitFor(
      () => runtime.status('uid-echo-dev'),
      (next) => next?.readyReplicas === 3 && next.restarts === 1,
      { what: 'the killed replica to be replaced', timeoutMs: 10_000 },
    );
    const replaced = healed?.replicas.find((replica) => replica.name === victim.name);
    expect(replaced?.pid).not.toBe(victim.pid);
    expect(replaced?.lastExit?.signal).toBe('SIGKILL');
    expect(events.some((event) => event.reason === 'BackOff' && event.replica === victim.name)).toBe(true);
    expect(runtime.logs('uid-echo-dev').some((line) => line.line.startsWith('listening on'))).toBe(true);
  });

  it('scales down by stopping processes and reports the Scaled event', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([workload()]);
    const before = await ready(runtime, 'uid-echo-dev', 3);
    await runtime.apply([workload({ replicas: 1 })]);
    const after = await waitFor(
      () => runtime.status('uid-echo-dev'),
      (status) => status?.replicas.length === 1 && status.readyReplicas === 1,
      { what: 'one replica left' },
    );
    const kept = after?.replicas[0]?.pid;
    const stopped = before.replicas.map((replica) => replica.pid).filter((pid) => pid !== kept);
    expect(stopped).toHaveLength(2);
    await waitFor(
      () => stopped.filter((pid) => pid !== null && isProcessAlive(pid)),
      (alive) => alive.length === 0,
      { what: 'stopped replicas to exit' },
    );
    expect(events.some((event) => event.reason === 'Scaled' && event.message.includes('from 3 to 1'))).toBe(
      true,
    );
  });

  it('kills a replica over its memory limit with OOMKilled', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([
      workload({
        replicas: 1,
        template: { ...workload().template, env: { LEAK_MB_PER_SECOND: '40' } },
        resources: { memoryLimitBytes: 150 * 2 ** 20 },
      }),
    ]);
    await waitFor(
      () => events.filter((event) => event.reason === 'OOMKilled'),
      (oom) => oom.length > 0,
      { what: 'an OOMKilled event', timeoutMs: 20_000 },
    );
    const status = await waitFor(
      () => runtime.status('uid-echo-dev'),
      (next) => (next?.restarts ?? 0) >= 1,
      { what: 'a restart after OOM' },
    );
    expect(status?.replicas[0]?.lastExit?.reason).toBe('OOMKilled');
  });

  it('reports CrashLoopBackOff for a command that exits at once', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([
      workload({ replicas: 1, template: { ...workload().template, env: { EXIT_AT_START: '3' } } }),
    ]);
    const status = await waitFor(
      () => runtime.status('uid-echo-dev'),
      (next) => next?.phase === 'CrashLoopBackOff',
      { what: 'CrashLoopBackOff', timeoutMs: 15_000 },
    );
    expect(status?.replicas[0]?.lastExit?.code).toBe(3);
    expect(status?.readyReplicas).toBe(0);
    expect(
      runtime.logs('uid-echo-dev').some((line) => line.stream === 'stderr' && line.line.includes('exiting')),
    ).toBe(true);
  });

  it('rolls out a new revision without dropping below the desired ready replicas', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([workload({ replicas: 2 })]);
    const before = await ready(runtime, 'uid-echo-dev', 2);
    const next = workload({
      replicas: 2,
      revision: 'echo-2',
      template: { ...workload().template, env: { GREETING: 'hello' } },
    });
    let lowest = Number.POSITIVE_INFINITY;
    const watch = setInterval(() => {
      lowest = Math.min(lowest, runtime.status('uid-echo-dev')?.readyReplicas ?? 0);
    }, 20);
    await runtime.apply([next]);
    try {
      await waitFor(
        () => runtime.status('uid-echo-dev'),
        (status) =>
          status?.phase === 'Running' && status.replicas.every((replica) => replica.revision === 'echo-2'),
        { what: 'rollout to echo-2' },
      );
    } finally {
      clearInterval(watch);
    }
    expect(lowest).toBeGreaterThanOrEqual(2);
    const { body } = await httpGet(`${before.endpoint ?? ''}/`);
    expect((JSON.parse(body) as { greeting: string }).greeting).toBe('hello');
    expect(events.some((event) => event.reason === 'RolledOut' && event.message.includes('echo-2'))).toBe(
      true,
    );
  });

  it('re-adopts running replicas after a supervisor restart and stops leftovers of removed workloads', async () => {
    const first = newRuntime();
    await first.start();
    await first.apply([workload({ replicas: 2 }), workload({ id: 'uid-gone', name: 'gone', replicas: 1 })]);
    const kept = await ready(first, 'uid-echo-dev', 2);
    const gone = await ready(first, 'uid-gone', 1);
    await first.detach(); // as if opspilot was killed: processes keep running

    const second = newRuntime();
    await second.start();
    await second.apply([workload({ replicas: 2 })]);
    const adopted = await ready(second, 'uid-echo-dev', 2);
    expect(adopted.replicas.map((replica) => replica.pid).sort()).toEqual(
      kept.replicas.map((replica) => replica.pid).sort(),
    );
    expect(adopted.endpoint).toBe(kept.endpoint);
    expect(events.filter((event) => event.reason === 'Adopted')).toHaveLength(2);
    const orphan = gone.replicas[0]?.pid ?? 0;
    await waitFor(
      () => isProcessAlive(orphan),
      (alive) => !alive,
      { what: 'the leftover replica to be stopped' },
    );

    // An adopted replica that dies is noticed and restarted too.
    const victim = adopted.replicas[0];
    process.kill(victim?.pid ?? 0, 'SIGKILL');
    await waitFor(
      () => second.status('uid-echo-dev'),
      (status) => status?.readyReplicas === 2 && status.restarts === 1,
      { what: 'the adopted replica to be restarted' },
    );
  });

  it('marks a replica Unhealthy when its probe fails, then restarts it', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([workload({ replicas: 1 })]);
    const status = await ready(runtime, 'uid-echo-dev', 1);
    const replica = status.replicas[0];
    await httpGet(`http://127.0.0.1:${replica?.port ?? 0}/sick`);
    await waitFor(
      () => events.filter((event) => event.reason === 'Unhealthy' && event.replica === replica?.name),
      (unhealthy) => unhealthy.length > 0,
      { what: 'an Unhealthy event' },
    );
    const degraded = runtime.status('uid-echo-dev');
    expect(degraded?.readyReplicas).toBe(0);
    expect(degraded?.phase).toBe('Degraded');
    const restarted = await waitFor(
      () => runtime.status('uid-echo-dev'),
      (next) => next?.readyReplicas === 1 && next.restarts === 1,
      { what: 'a restart after failing probes' },
    );
    expect(restarted?.replicas[0]?.lastExit?.reason).toBe('Unhealthy');
  });

  it('probes over TCP when no health path is declared', async () => {
    const runtime = newRuntime();
    await runtime.start();
    const probe = { periodSeconds: 0.5, timeoutSeconds: 1, failureThreshold: 2, startupTimeoutSeconds: 20 };
    await runtime.apply([
      workload({
        replicas: 1,
        template: { ...workload().template, port: { env: 'PORT', protocol: 'tcp' }, probe },
      }),
    ]);
    await ready(runtime, 'uid-echo-dev', 1);
  });

  it('runs jobs to completion without restarting them', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([
      workload({
        id: 'uid-job',
        name: 'migrate',
        type: 'job',
        replicas: 2,
        template: { command: process.execPath, args: ['-e', "console.log('migrated')"], env: {} },
      }),
    ]);
    const status = await waitFor(
      () => runtime.status('uid-job'),
      (next) => next?.phase === 'Completed',
      { what: 'the job to complete' },
    );
    expect(status?.restarts).toBe(0);
    expect(status?.replicas.map((replica) => replica.phase)).toEqual(['Completed', 'Completed']);
    await waitFor(
      () => runtime.logs('uid-job').filter((line) => line.line === 'migrated'),
      (lines) => lines.length === 2,
      { what: 'the output of both job replicas' },
    );
  });

  it('stops everything on shutdown', async () => {
    const runtime = newRuntime();
    await runtime.start();
    await runtime.apply([workload({ replicas: 2 })]);
    const status = await ready(runtime, 'uid-echo-dev', 2);
    await runtime.shutdown();
    for (const replica of status.replicas) expect(isProcessAlive(replica.pid ?? 0)).toBe(false);
  });
});
