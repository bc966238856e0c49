// Built-in platform alerts on a real server (in-process, SQLite state, real replicas): with no AlertRule at all,
// a replica OOM-killed, a crash loop, a stuck rollout, a service scaled to zero each open an incident that the
// RCA agent investigates; a namespace with `platformSignals: false` stays quiet. Also the SLO status of a young
// service, whose error budget counts over the time observed.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/governance/principal.js';
import type { AlertView } from '../../src/telemetry/alerting/contracts.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait-for.js';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));
let server: InProcessServer;

const viewer: Caller = {
  principal: mintPrincipal({
    subject: 'vic',
    kind: 'user',
    autonomy: 2,
    issuer: 'test',
    grants: [{ role: 'viewer', scope: { namespace: '*' } }],
  }),
  edge: 'rest',
  client: 'vitest',
};

const service = (name: string, namespace: string, env: Record<string, string>, options = {}) =>
  yamlDocuments(
    serviceManifest({
      name,
      namespace,
      command: process.execPath,
      args: [fixture],
      replicas: 1,
      env,
      ...options,
    }),
  );

async function firing(namespace: string): Promise<AlertView[]> {
  return server.opspilot.alerts.list({ namespace, state: 'firing' });
}

async function waitForAlert(namespace: string, rule: string, component: string): Promise<AlertView> {
  const alerts = await waitFor(
    () => firing(namespace),
    (items) => items.some((alert) => alert.rule === rule && alert.component === component),
    { what: `${rule} firing for ${component}`, timeoutMs: 60_000 },
  );
  const alert = alerts.find((item) => item.rule === rule && item.component === component);
  if (alert === undefined) throw new Error('unreachable');
  return alert;
}

beforeAll(async () => {
  server = await startInProcess({
    OPSPILOT_ALERTING__EVALUATION_INTERVAL_MS: '500',
    OPSPILOT_ALERTING__ROLLOUT_DEADLINE_MS: '3000',
    OPSPILOT_RUNTIME__LOCAL__TERMINATION_GRACE_SECONDS: '1',
    OPSPILOT_RUNTIME__LOCAL__RESTART_INITIAL_DELAY_MS: '200',
    OPSPILOT_RUNTIME__LOCAL__RESTART_MAX_DELAY_MS: '1000',
  });
  await server.opspilot.platform.apply([
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'ops' }, spec: {} },
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Namespace',
      metadata: { name: 'quiet' },
      spec: { platformSignals: false },
    },
    ...service('steady', 'ops', {}),
    ...service('rolling', 'ops', {}),
  ]);
  const ready = async (component: string) =>
    (await server.opspilot.platform.componentStatus('ops', component)).environments[0];
  for (const component of ['steady', 'rolling']) {
    await waitFor(
      () => ready(component),
      (status) => status?.readyReplicas === 1 && status.phase === 'Running',
      { what: `${component} running`, timeoutMs: 30_000 },
    );
  }
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('platform signals', () => {
  it('opens an incident for a replica OOM-killed, with no memory rule, and the RCA agent investigates it', async () => {
    await server.opspilot.platform.apply(
      service('leaky', 'ops', { LEAK_MB_PER_SECOND: '40' }, { memoryLimit: '80Mi' }),
    );
    const alert = await waitForAlert('ops', 'Platform/OOMKilled', 'leaky');
    expect(alert).toMatchObject({ severity: 'warning', triggerAiRca: true, environment: 'dev' });
    expect(alert.summary).toMatch(/^leaky in dev: a replica was OOM-killed \d+ s ago/);
    expect(alert.groupKey).toMatch(/^ops\/dev\/\d{8}-\d{6}-leaky$/);
    const report = await waitFor(
      async () =>
        (await server.opspilot.governance.forCaller(viewer).rcaReports({ namespace: 'ops' })).find(
          (candidate) => candidate.alert.rule === 'Platform/OOMKilled',
        ),
      (candidate) => candidate !== undefined && candidate.status !== 'running',
      { what: 'a report for the OOM kill', timeoutMs: 30_000 },
    );
    expect(report?.groupKey).toBe(alert.groupKey);
    expect(report?.trigger).toBe('alert');
    await server.opspilot.platform.delete('Component', 'ops', 'leaky');
  }, 90_000);

  it('opens incidents for a crash loop and for replicas restarting repeatedly', async () => {
    await server.opspilot.platform.apply(service('crasher', 'ops', { EXIT_AT_START: '3' }));
    const crashLoop = await waitForAlert('ops', 'Platform/CrashLoopBackOff', 'crasher');
    expect(crashLoop.severity).toBe('critical');
    expect(crashLoop.summary).toContain('crasher in dev is in CrashLoopBackOff');
    const restarting = await waitForAlert('ops', 'Platform/RestartingRepeatedly', 'crasher');
    expect(restarting.summary).toMatch(/^crasher in dev: \d+ replica restarts in the last 10 min$/);
    // Two signals of one component at once are one incident.
    expect(restarting.groupKey).toBe(crashLoop.groupKey);
    await server.opspilot.platform.delete('Component', 'ops', 'crasher');
  }, 90_000);

  it('opens an incident for a rollout that does not finish', async () => {
    await server.opspilot.platform.apply(service('rolling', 'ops', { NEVER_READY: '1' }));
    const stuck = await waitForAlert('ops', 'Platform/RolloutStuck', 'rolling');
    expect(stuck.summary).toMatch(/^rolling in dev: the rollout of rolling-2 has not finished/);
    await server.opspilot.platform.delete('Component', 'ops', 'rolling');
  }, 90_000);

  it('opens an incident for a service with no ready replica, and resolves it once one is back', async () => {
    const scale = async (replicas: number) => {
      const binding = await server.opspilot.platform.get('ReleaseBinding', 'ops', 'steady-dev');
      await server.opspilot.platform.apply([
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'ReleaseBinding',
          metadata: { name: 'steady-dev', namespace: 'ops', project: 'shop' },
          spec: { ...(binding.spec as object), replicas },
        },
      ]);
    };
    await scale(0);
    const down = await waitForAlert('ops', 'Platform/NoReadyReplica', 'steady');
    expect(down.summary).toMatch(/^steady in dev has no ready replica \(0\/0 ready for \d+ s\)/);
    await scale(1);
    await waitFor(
      () => server.opspilot.alerts.list({ namespace: 'ops' }),
      (alerts) => alerts.find((alert) => alert.fingerprint === down.fingerprint)?.state === 'resolved',
      { what: 'NoReadyReplica resolved', timeoutMs: 30_000 },
    );
  }, 90_000);

  it('stays quiet in a namespace that turned platform signals off', async () => {
    await server.opspilot.platform.apply(service('crasher', 'quiet', { EXIT_AT_START: '3' }));
    const crashLooping = async () =>
      (await server.opspilot.platform.componentStatus('quiet', 'crasher')).environments[0]?.phase;
    await waitFor(crashLooping, (phase) => phase === 'CrashLoopBackOff', {
      what: 'crasher crash-looping in quiet',
      timeoutMs: 30_000,
    });
    // The same state made ops alert above; several evaluations later, quiet has no alert at all.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await server.opspilot.evaluator.evaluate();
    expect(await server.opspilot.alerts.list({ namespace: 'quiet' })).toEqual([]);
    await server.opspilot.platform.delete('Component', 'quiet', 'crasher');
  }, 60_000);
});

describe('SLO status of a young service', () => {
  it('counts the error budget over the time observed, not the whole window', async () => {
    await server.opspilot.platform.apply([
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'SLO',
        metadata: { name: 'web-availability', namespace: 'ops' },
        spec: { component: 'web', environment: 'dev', objective: 99.5 },
      },
    ]);
    // Eleven minutes of requests, one in five failing: 40× the budget's rate, for eleven minutes of thirty days.
    const now = Date.now();
    const spans = [];
    for (let index = 0; index < 660; index += 1) {
      const at = BigInt(now - index * 1000) * 1_000_000n;
      spans.push({
        traceId: (index + 1).toString(16).padStart(32, '0'),
        spanId: (index + 1).toString(16).padStart(16, '0'),
        name: 'GET /',
        kind: 2,
        startTimeUnixNano: `${at}`,
        endTimeUnixNano: `${at + 5_000_000n}`,
        status: index % 5 === 0 ? { code: 2 } : {},
      });
    }
    const response = await fetch(`${server.opspilot.telemetry.otlpEndpoint ?? ''}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'web' } },
                { key: 'opspilot.namespace', value: { stringValue: 'ops' } },
                { key: 'opspilot.environment', value: { stringValue: 'dev' } },
              ],
            },
            scopeSpans: [{ spans }],
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const [status] = await server.opspilot.governance.forCaller(viewer).sloStatus('ops');
    expect(status).toMatchObject({ name: 'web-availability', total: 660, bad: 132 });
    expect(status?.observedSeconds).toBeGreaterThan(650);
    expect(status?.observedSeconds).toBeLessThan(700);
    // 1 − 40 × 11 min / 30 d ≈ 0.99 (the whole-window formula said 1 − 40 = −3900 %).
    expect(status?.errorBudgetRemaining).toBeGreaterThan(0.98);
    expect(status?.errorBudgetRemaining).toBeLessThan(1);
  });
});
