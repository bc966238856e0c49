// The foundation's acceptance, end to end through the built CLI and a real `opspilot up` process:
// someone else's service runs 3 replicas behind an endpoint; kill -9 → replaced; scale to 1; OOMKilled;
// CrashLoopBackOff; bad input names the field and applies nothing; restarting `up` re-adopts with no orphans.
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentStatus, PlatformEvent } from '../../src/platform/contracts.js';
import type { Resource } from '../../src/platform/resource-kinds.js';
import { serviceManifest } from '../helpers/manifests.js';
import { runCli, startServer, type RunningServer } from '../helpers/opspilot-process.js';
import { httpGet, isProcessAlive, waitFor } from '../helpers/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));

let workspace: string;
let appFolder: string;
let dataDir: string;
let server: RunningServer;

/** Processes whose working directory is the app folder: every replica of the fixture, wherever it came from. */
function fixtureProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === appFolder) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids.sort((a, b) => a - b);
}

async function component(name: string): Promise<Resource<unknown, ComponentStatus>> {
  const result = await runCli(['get', 'component', name, '-o', 'json'], { server: server.url });
  if (result.code !== 0) throw new Error(`get component failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Resource<unknown, ComponentStatus>;
}

async function events(name: string): Promise<PlatformEvent[]> {
  const result = await runCli(['get', 'events', '--component', name, '-o', 'json'], { server: server.url });
  return (JSON.parse(result.stdout) as { items: PlatformEvent[] }).items;
}

function writeManifest(file: string, text: string): string {
  const path = join(workspace, file);
  writeFileSync(path, text);
  return path;
}

async function environment(
  name: string,
  accept: (status: ComponentStatus['environments'][number]) => boolean,
  what: string,
) {
  const resource = await waitFor(
    () => component(name),
    (value) => {
      const status = value.status?.environments[0];
      return status !== undefined && accept(status);
    },
    { what, timeoutMs: 30_000, intervalMs: 250 },
  );
  const status = resource.status?.environments[0];
  if (status === undefined) throw new Error('no environment status');
  return status;
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-e2e-'));
  // Replicas run as their own unprivileged user (docs/runtime.md): they must reach the app folder in here.
  chmodSync(workspace, 0o755);
  appFolder = join(workspace, 'app');
  mkdirSync(appFolder);
  copyFileSync(fixture, join(appFolder, 'server.mjs'));
  dataDir = join(workspace, 'data');
  server = await startServer({ dataDir });
});

afterAll(async () => {
  await server.stop();
  for (const pid of fixtureProcesses()) process.kill(pid, 'SIGKILL');
  rmSync(workspace, { recursive: true, force: true });
});

describe('foundation acceptance', () => {
  it('runs 3 replicas of a declared service behind an endpoint that answers', async () => {
    const manifest = writeManifest(
      'echo.yaml',
      serviceManifest({ cwd: './app', args: ['server.mjs'], command: process.execPath }),
    );
    const applied = await runCli(['apply', '-f', manifest], { server: server.url });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('component/echo created');
    expect(applied.stdout).toContain('release/echo-1 created');
    expect(applied.stdout).toContain('releasebinding/echo-dev created');

    const status = await environment(
      'echo',
      (s) => s.phase === 'Running' && s.readyReplicas === 3,
      '3 ready replicas',
    );
    expect(status).toMatchObject({ environment: 'dev', release: 'echo-1', desiredReplicas: 3, restarts: 0 });
    expect(status.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fixtureProcesses()).toHaveLength(3);
    const answer = await httpGet(`${status.endpoint ?? ''}/`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ greeting: 'hi' });

    const table = await runCli(['get', 'components'], { server: server.url });
    expect(table.stdout).toMatch(/echo\s+shop\s+service\s+echo-1\s+dev:3\/3 Running/);
  });

  it('replaces a replica killed with kill -9 within 10 s and records the event', async () => {
    const before = (await component('echo')).status?.environments[0];
    const victim = before?.replicas[0];
    if (victim?.pid == null) throw new Error('no replica pid');
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    const after = await environment(
      'echo',
      (s) =>
        s.readyReplicas === 3 && s.restarts >= 1 && s.replicas.every((replica) => replica.pid !== victim.pid),
      'the killed replica to be replaced',
    );
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(after.replicas.find((replica) => replica.name === victim.name)?.lastExit?.signal).toBe('SIGKILL');
    const recorded = await events('echo');
    expect(recorded.some((event) => event.reason === 'BackOff' && event.replica === victim.name)).toBe(true);
    expect(recorded.some((event) => event.reason === 'Started' && event.replica === victim.name)).toBe(true);
  });

  it('scales to 1 and the two other processes are gone', async () => {
    const before = fixtureProcesses();
    const manifest = writeManifest(
      'echo.yaml',
      serviceManifest({ cwd: './app', args: ['server.mjs'], command: process.execPath, replicas: 1 }),
    );
    const applied = await runCli(['apply', '-f', manifest], { server: server.url });
    expect(applied.stdout).toContain('component/echo unchanged');
    expect(applied.stdout).toContain('releasebinding/echo-dev configured');
    const status = await environment(
      'echo',
      (s) => s.replicas.length === 1 && s.readyReplicas === 1,
      'one replica',
    );
    await waitFor(fixtureProcesses, (pids) => pids.length === 1, { what: 'two processes to exit' });
    const kept = status.replicas[0]?.pid;
    expect(before.filter((pid) => pid !== kept).every((pid) => !isProcessAlive(pid))).toBe(true);
    expect(
      (await events('echo')).some(
        (event) => event.reason === 'Scaled' && event.message.includes('from 3 to 1'),
      ),
    ).toBe(true);
  });

  it('kills a replica that goes over its memory limit with OOMKilled', async () => {
    const manifest = writeManifest(
      'hog.yaml',
      serviceManifest({
        name: 'hog',
        cwd: './app',
        args: ['server.mjs'],
        command: process.execPath,
        replicas: 1,
        env: { LEAK_MB_PER_SECOND: '40' },
        memoryLimit: '150Mi',
      }),
    );
    expect((await runCli(['apply', '-f', manifest], { server: server.url })).code).toBe(0);
    const oom = await waitFor(
      () => events('hog'),
      (list) => list.some((event) => event.reason === 'OOMKilled'),
      { what: 'an OOMKilled event', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(oom.find((event) => event.reason === 'OOMKilled')?.type).toBe('Warning');
    const status = await environment('hog', (s) => s.restarts >= 1, 'a restart after OOM');
    expect(status.replicas[0]?.lastExit?.reason).toBe('OOMKilled');
  });

  it('reports CrashLoopBackOff for a command that exits at once', async () => {
    const manifest = writeManifest(
      'crasher.yaml',
      serviceManifest({
        name: 'crasher',
        command: process.execPath,
        args: ['-e', 'process.exit(1)'],
        replicas: 1,
      }),
    );
    expect((await runCli(['apply', '-f', manifest], { server: server.url })).code).toBe(0);
    const status = await environment('crasher', (s) => s.phase === 'CrashLoopBackOff', 'CrashLoopBackOff');
    expect(status.readyReplicas).toBe(0);
    expect(status.replicas[0]?.lastExit?.code).toBe(1);
    expect(
      (await events('crasher')).filter((event) => event.reason === 'BackOff').length,
    ).toBeGreaterThanOrEqual(2);
    expect((await runCli(['delete', 'component', 'crasher'], { server: server.url })).stdout).toContain(
      'releasebinding/crasher-dev deleted',
    );
  });

  it('rejects bad YAML and bad fields with a non-zero exit naming them, applying nothing', async () => {
    const broken = writeManifest(
      'broken.yaml',
      'apiVersion: opspilot.dev/v1alpha1\nkind: Component\nmetadata: { name: x\n',
    );
    const syntax = await runCli(['apply', '-f', broken], { server: server.url });
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain(`${broken} is not valid YAML`);
    expect(syntax.stderr).toMatch(/broken\.yaml:\d+:\d+/);

    const text = serviceManifest({ name: 'fresh', cwd: './app', args: ['server.mjs'] }).replace(
      'replicas: 3',
      'replicas: many',
    );
    const invalid = writeManifest('fresh.yaml', text);
    const field = await runCli(['apply', '-f', invalid], { server: server.url });
    expect(field.code).toBe(2);
    expect(field.stderr).toContain('nothing was applied');
    expect(field.stderr).toMatch(
      /fresh\.yaml:\d+:\d+ {2}document 2 \(ReleaseBinding fresh-dev\) {2}spec\.replicas: /,
    );
    const lookup = await runCli(['get', 'component', 'fresh'], { server: server.url });
    expect(lookup.code).toBe(1);
    expect(lookup.stderr).toContain('Component fresh not found in namespace default');
  });

  it('re-adopts replicas after opspilot up is killed, leaving no orphans, and stops them all on SIGTERM', async () => {
    const before = (await component('echo')).status?.environments[0]?.replicas.map((replica) => replica.pid);
    await server.stop('SIGKILL');
    // Replicas keep running without their supervisor (hog may be between two OOM restarts, so only echo is sure).
    expect(before?.every((pid) => pid !== null && isProcessAlive(pid))).toBe(true);

    server = await startServer({ dataDir });
    const echo = await environment(
      'echo',
      (s) => s.phase === 'Running' && s.readyReplicas === 1,
      'echo Running again',
    );
    expect(echo.replicas.map((replica) => replica.pid)).toEqual(before);
    const hog = await component('hog');
    const owned = [...echo.replicas, ...(hog.status?.environments[0]?.replicas ?? [])]
      .map((replica) => replica.pid)
      .filter((pid): pid is number => pid !== null);
    // Every fixture process is a replica the new supervisor knows: no orphans.
    await waitFor(fixtureProcesses, (pids) => pids.every((pid) => owned.includes(pid)), {
      what: 'no orphan processes',
    });
    expect((await events('echo')).some((event) => event.reason === 'Adopted')).toBe(true);

    expect(await server.stop('SIGTERM')).toBe(0);
    await waitFor(fixtureProcesses, (pids) => pids.length === 0, { what: 'every replica to stop' });

    server = await startServer({ dataDir });
    await environment(
      'echo',
      (s) => s.phase === 'Running' && s.readyReplicas === 1,
      'echo replaced after a clean stop',
    );
  });
});
