// The composed server in-process, on SQLite and PostgreSQL: declared changes reach real processes —
// a changed component rolls out, a pinned release rolls back, Undeploy stops and Active starts again.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inheritedEnvironment, loadConfig } from '../../src/config/load-config.js';
import type { EnvironmentStatus } from '../../src/platform/contracts.js';
import { createOpspilot, type Opspilot } from '../../src/server/opspilot-server.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { createPostgresDatabase } from '../helpers/state-stores.js';
import { httpGet, isProcessAlive, waitFor } from '../helpers/wait-for.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));

const backends: [string, () => Promise<{ url: string | undefined; drop: () => Promise<void> }>][] = [
  ['sqlite', () => Promise.resolve({ url: undefined, drop: () => Promise.resolve() })],
  ['postgres', createPostgresDatabase],
];

describe.each(backends)('opspilot server on %s', (_name, database) => {
  let workspace: string;
  let opspilot: Opspilot;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'opspilot-server-'));
    // Replicas run as their own unprivileged user (docs/runtime.md): they must reach the app folder in here.
    chmodSync(workspace, 0o755);
    mkdirSync(join(workspace, 'app'));
    copyFileSync(fixture, join(workspace, 'app', 'server.mjs'));
    const state = await database();
    drop = state.drop;
    const config = loadConfig({
      cwd: workspace,
      env: {
        ...(state.url === undefined ? {} : { OPSPILOT_STATE_URL: state.url }),
        OPSPILOT_RUNTIME__LOCAL__SAMPLE_INTERVAL_MS: '250',
        OPSPILOT_RUNTIME__LOCAL__TERMINATION_GRACE_SECONDS: '2',
      },
      overrides: { dataDir: join(workspace, 'data'), port: 0, otlpPort: 0 },
    });
    opspilot = await createOpspilot({
      config,
      logger: pino({ level: 'silent' }),
      baseEnv: inheritedEnvironment(),
    });
    await opspilot.start();
  });

  afterEach(async () => {
    await opspilot.stop();
    await drop();
    rmSync(workspace, { recursive: true, force: true });
  });

  async function binding(
    accept: (status: EnvironmentStatus) => boolean,
    what: string,
  ): Promise<EnvironmentStatus> {
    const resource = await waitFor(
      () => opspilot.platform.get('ReleaseBinding', 'default', 'echo-dev'),
      (value) => accept(value.status as EnvironmentStatus),
      { what, timeoutMs: 20_000 },
    );
    return resource.status as EnvironmentStatus;
  }

  function manifest(overrides: Parameters<typeof serviceManifest>[0]): unknown[] {
    return yamlDocuments(
      serviceManifest({
        command: process.execPath,
        args: ['server.mjs'],
        cwd: './app',
        replicas: 2,
        ...overrides,
      }),
    );
  }

  it('rolls a changed component out, rolls back to a pinned release, undeploys and redeploys', async () => {
    await opspilot.platform.apply(manifest({}), { baseDir: workspace });
    const first = await binding((s) => s.phase === 'Running' && s.readyReplicas === 2, 'echo-1 running');
    const endpoint = first.endpoint ?? '';
    expect(JSON.parse((await httpGet(`${endpoint}/`)).body)).toMatchObject({
      release: 'echo-1',
      greeting: 'hi',
    });

    const changed = await opspilot.platform.apply(manifest({ env: { GREETING: 'hello' } }), {
      baseDir: workspace,
    });
    expect(changed.items.map((item) => `${item.kind}/${item.name} ${item.action}`)).toContain(
      'Release/echo-2 created',
    );
    const second = await binding(
      (s) =>
        s.phase === 'Running' && s.release === 'echo-2' && s.replicas.every((r) => r.revision === 'echo-2'),
      'rollout to echo-2',
    );
    expect(second.endpoint).toBe(endpoint);
    expect(JSON.parse((await httpGet(`${endpoint}/`)).body)).toMatchObject({
      release: 'echo-2',
      greeting: 'hello',
    });

    const pinned = manifest({ env: { GREETING: 'hello' } }) as { spec: Record<string, unknown> }[];
    if (pinned[1] !== undefined) pinned[1].spec.release = 'echo-1';
    await opspilot.platform.apply(pinned, { baseDir: workspace });
    await binding(
      (s) =>
        s.phase === 'Running' && s.release === 'echo-1' && s.replicas.every((r) => r.revision === 'echo-1'),
      'rollback to echo-1',
    );
    expect(JSON.parse((await httpGet(`${endpoint}/`)).body)).toMatchObject({
      release: 'echo-1',
      greeting: 'hi',
    });

    const pids = (await binding(() => true, 'status')).replicas.map((replica) => replica.pid ?? 0);
    if (pinned[1] !== undefined) pinned[1].spec.state = 'Undeploy';
    await opspilot.platform.apply(pinned, { baseDir: workspace });
    await binding((s) => s.phase === 'Undeployed' && s.replicas.length === 0, 'Undeployed');
    await waitFor(
      () => pids.filter(isProcessAlive),
      (alive) => alive.length === 0,
      { what: 'replicas to exit' },
    );

    if (pinned[1] !== undefined) pinned[1].spec.state = 'Active';
    await opspilot.platform.apply(pinned, { baseDir: workspace });
    await binding((s) => s.phase === 'Running' && s.readyReplicas === 2, 'running again');

    const reasons = (await opspilot.platform.events({ component: 'echo' })).map((event) => event.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['ReleaseCreated', 'Scheduled', 'Started', 'Ready', 'RolledOut', 'Killed']),
    );
  });

  it('stops the replicas of a deleted binding', async () => {
    await opspilot.platform.apply(manifest({ replicas: 1 }), { baseDir: workspace });
    const status = await binding((s) => s.readyReplicas === 1, 'one ready replica');
    const pid = status.replicas[0]?.pid ?? 0;
    const { uid } = (await opspilot.platform.get('ReleaseBinding', 'default', 'echo-dev')).metadata;
    expect(opspilot.runtime.status(uid)).toBeDefined();
    await opspilot.platform.delete('ReleaseBinding', 'default', 'echo-dev');
    await waitFor(
      () => isProcessAlive(pid),
      (alive) => !alive,
      { what: 'the replica to exit' },
    );
    expect(opspilot.runtime.status(uid)).toBeUndefined();
  });
});
