// The RCA agent end to end, in-process on a real server (SQLite state, real replicas, real OTLP over HTTP): a
// component is scaled to zero, its caller's requests fail, the alert fires, and before anyone looks there is a
// completed report naming the component with the scaling as evidence and a proposal to scale it back, which
// another person approves.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller, Role } from '../../src/governance/principal.js';
import type { EnvironmentStatus } from '../../src/platform/contracts.js';
import type { RcaReportView } from '../../src/rca/contracts.js';
import type { Opspilot } from '../../src/server/opspilot-server.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { waitFor } from '../helpers/wait-for.js';
import { runCli } from '../helpers/opspilot-process.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));
let server: InProcessServer;
let opspilot: Opspilot;
let url: string;

function person(subject: string, role: Role): Caller {
  return {
    principal: mintPrincipal({
      subject,
      kind: 'user',
      autonomy: 2,
      issuer: 'test',
      grants: [{ role, scope: { namespace: 'shop' } }],
    }),
    edge: 'rest',
    client: 'vitest',
  };
}

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
const resource = (service: string) => ({
  attributes: [
    { key: 'service.name', value: { stringValue: service } },
    { key: 'opspilot.namespace', value: { stringValue: 'shop' } },
    { key: 'opspilot.component', value: { stringValue: service } },
    { key: 'opspilot.environment', value: { stringValue: 'dev' } },
  ],
});

let traceCounter = 0;
/**
 * One request to frontend at `atMs`, instrumented as OpenTelemetry SDKs do: frontend's server span, its client
 * span to catalog (peer.service), and catalog's server span under it, while catalog is up; when it is down the
 * client span fails and frontend answers 503.
 */
function request(atMs: number, catalogUp: boolean) {
  traceCounter += 1;
  const traceId = traceCounter.toString(16).padStart(32, '0');
  const id = (n: number) => (traceCounter * 3 + n).toString(16).padStart(16, '0');
  const span = (
    spanId: string,
    parentSpanId: string,
    name: string,
    kind: number,
    from: number,
    to: number,
    ok: boolean,
    attributes: unknown[] = [],
  ) => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: nanos(atMs + from),
    endTimeUnixNano: nanos(atMs + to),
    status: ok ? {} : { code: 2, message: 'catalog unavailable' },
    attributes,
  });
  const status = (code: number) => [{ key: 'http.response.status_code', value: { intValue: code } }];
  const frontendSpans = [
    span(id(0), '', 'GET /products', 2, 0, catalogUp ? 30 : 5, catalogUp, status(catalogUp ? 200 : 503)),
    span(id(1), id(0), 'GET', 3, 2, catalogUp ? 28 : 4, catalogUp, [
      { key: 'peer.service', value: { stringValue: 'catalog' } },
      ...(catalogUp ? status(200) : []),
    ]),
  ];
  return [
    { resource: resource('frontend'), scopeSpans: [{ spans: frontendSpans }] },
    ...(catalogUp
      ? [
          {
            resource: resource('catalog'),
            scopeSpans: [{ spans: [span(id(2), id(1), 'ListProducts', 2, 5, 25, true, status(200))] }],
          },
        ]
      : []),
  ];
}

async function send(resourceSpans: unknown[]): Promise<void> {
  const response = await fetch(`${opspilot.telemetry.otlpEndpoint ?? ''}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceSpans }),
  });
  expect(response.status).toBe(200);
}

async function catalogStatus(): Promise<EnvironmentStatus | undefined> {
  const status = await opspilot.platform.componentStatus('shop', 'catalog');
  return status.environments.find((item) => item.environment === 'dev');
}

beforeAll(async () => {
  server = await startInProcess({
    OPSPILOT_RUNTIME__LOCAL__TERMINATION_GRACE_SECONDS: '1',
    OPSPILOT_ALERTING__EVALUATION_INTERVAL_MS: '500',
  });
  ({ opspilot, url } = server);
  await opspilot.platform.apply([
    { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {} },
    ...yamlDocuments(
      serviceManifest({
        name: 'catalog',
        namespace: 'shop',
        command: process.execPath,
        args: [fixture],
        replicas: 2,
      }),
    ),
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'AlertRule',
      metadata: { name: 'frontend-errors', namespace: 'shop' },
      spec: {
        component: 'frontend',
        environment: 'dev',
        errorRate: { above: 0.2, window: '1m' },
        for: '0s',
        severity: 'critical',
        triggerAiRca: true,
      },
    },
  ]);
  await waitFor(catalogStatus, (status) => status?.readyReplicas === 2, {
    what: 'catalog ready',
    timeoutMs: 30_000,
  });
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('RCA agent', () => {
  it('investigates the firing alert, names the component scaled to zero, and its proposal restores it', async () => {
    const now = Date.now();
    // Forty minutes of healthy traffic: a request every 20 s, frontend → catalog.
    const healthy = [];
    for (let at = now - 40 * 60_000; at < now - 3 * 60_000; at += 20_000) healthy.push(...request(at, true));
    await send(healthy);

    // Someone scales catalog to zero (a real change: replicas stop).
    const scaled = await opspilot.governance
      .forCaller(person('dave', 'developer'))
      .propose(await opspilot.governance.planner.scale('shop', 'catalog', 'dev', 0));
    expect(scaled.status).toMatch(/succeeded|verifying/);
    await waitFor(catalogStatus, (status) => status?.readyReplicas === 0, { what: 'catalog at zero' });

    // From now on frontend's requests fail.
    const failing = [];
    for (let at = Date.now() - 60_000; at <= Date.now(); at += 5_000) failing.push(...request(at, false));
    await send(failing);

    const report = await waitFor(
      async () =>
        (await opspilot.governance.forCaller(person('vic', 'viewer')).rcaReports({ namespace: 'shop' }))[0],
      (candidate) => candidate?.status === 'completed',
      { what: 'a completed RCA report', timeoutMs: 30_000 },
    );
    if (report === undefined) throw new Error('no report');
    expect(report.trigger).toBe('alert');
    expect(report.requestedBy).toBe('rca-agent');
    expect(report.alert).toMatchObject({
      rule: 'AlertRule/frontend-errors',
      component: 'frontend',
      environment: 'dev',
    });
    expect(report.rootCauses[0]).toMatchObject({ service: 'catalog', kind: 'scaled-to-zero' });
    expect(report.rootCauses[0]?.explains).toContain('frontend');
    expect(report.rootCauses[0]?.evidence.map((item) => item.metric)).toContain('ScaledToZero');
    // The traces agree: failures begin at the call to catalog, which no catalog span answered.
    expect(report.traces?.errors[0]).toMatchObject({
      service: 'catalog',
      operation: 'frontend → catalog GET',
      message: 'catalog unavailable',
    });
    expect(report.rootCauses[0]?.evidence.map((item) => item.metric)).toContain('trace.error_origin');
    expect(report.narrative).toContain('failures begin at catalog');
    expect(report.narrative).toContain('Most likely cause: catalog (scaled-to-zero');
    expect(report.durationMs).toBeGreaterThan(0);

    // The remediation waits for a person: the agent never runs it, nor approves it.
    expect(report.remediation).toMatchObject({ status: 'pending' });
    expect(report.remediation?.title).toContain('scale catalog in dev from 0 to 2 replicas');
    const proposalId = report.remediation?.proposal ?? '';
    const approved = await opspilot.governance.forCaller(person('olga', 'operator')).approve(proposalId);
    expect(approved.status).toMatch(/verifying|succeeded/);
    await waitFor(catalogStatus, (status) => status?.readyReplicas === 2, {
      what: 'catalog back at two replicas',
      timeoutMs: 30_000,
    });

    // Every read the agent made is in the audit chain, as rca-agent, and the chain verifies.
    const agentRecords = await opspilot.governance.audit.list({ principal: 'rca-agent', limit: 100 });
    expect(agentRecords.map((record) => record.action)).toEqual(
      expect.arrayContaining(['rca.run', 'telemetry.read', 'platform.read', 'component.scale']),
    );
    expect((await opspilot.governance.audit.verify()).ok).toBe(true);
  }, 90_000);

  it('serves reports over REST and runs an investigation on demand', async () => {
    const admin = await opspilot.adminToken();
    const headers = { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' };
    const list = (await (await fetch(`${url}/api/v1/rca/reports?namespace=shop`, { headers })).json()) as {
      items: RcaReportView[];
    };
    expect(list.items.length).toBeGreaterThan(0);
    const first = list.items[0];
    const one = await fetch(`${url}/api/v1/rca/reports/${first?.id ?? ''}`, { headers });
    expect(one.status).toBe(200);
    const run = await fetch(`${url}/api/v1/rca/reports`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ alert: first?.alert.fingerprint }),
    });
    expect(run.status).toBe(201);
    const manual = (await run.json()) as RcaReportView;
    expect(manual).toMatchObject({ trigger: 'manual', requestedBy: 'admin', status: 'completed' });
    const missing = await fetch(`${url}/api/v1/rca/reports`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ alert: 'nope' }),
    });
    expect(missing.status).toBe(404);
  }, 30_000);

  it('serves reports to MCP clients and the CLI', async () => {
    const issued = await opspilot.governance.tokens.issue({
      subject: 'vera',
      grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
    });
    const client = new Client(
      { name: 'rca-test', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp/observability`), {
        requestInit: { headers: { authorization: `Bearer ${issued.token}` } },
      }),
    );
    try {
      const listed = await client.callTool({ name: 'list_rca_reports', arguments: { namespace: 'shop' } });
      const items = (listed.structuredContent as { items: { id: string; topCause: string | null }[] }).items;
      expect(items.some((item) => item.topCause === 'catalog (scaled-to-zero)')).toBe(true);
      const id = items.find((item) => item.topCause === 'catalog (scaled-to-zero)')?.id ?? '';
      const one = await client.callTool({ name: 'get_rca_report', arguments: { id } });
      expect((one.structuredContent as RcaReportView).rootCauses[0]?.service).toBe('catalog');
      const incidents = await client.callTool({ name: 'query_incidents', arguments: { namespace: 'shop' } });
      const incident = (
        incidents.structuredContent as {
          items: { alerts: { rule: string }[]; report: { topCause: string | null } | null }[];
        }
      ).items[0];
      expect(incident?.alerts[0]?.rule).toBe('AlertRule/frontend-errors');
      expect(incident?.report?.topCause).toBe('catalog');
      const other = await client.callTool({ name: 'list_rca_reports', arguments: { namespace: 'bank' } });
      expect(other.isError).toBe(true);

      const env = { OPSPILOT_TOKEN: issued.token };
      const list = await runCli(['rca', 'list', '-n', 'shop'], { server: url, env });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(
        new RegExp(
          `^${id}\\s+completed\\s+shop/dev/\\d{8}-\\d{6}-frontend\\s+AlertRule/frontend-errors frontend@dev\\s+catalog \\(scaled-to-zero\\)`,
          'm',
        ),
      );
      const show = await runCli(['rca', 'show', id], { server: url, env });
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toContain('Root causes (most likely first):');
      expect(show.stdout).toMatch(
        /1\. catalog — scaled-to-zero, confidence \d+%( \([a-z, ]+\))?, explains frontend/,
      );
      expect(show.stdout).toContain('What to do:');
      // A viewer may read reports but not start investigations.
      const run = await runCli(['rca', 'run', '--alert', 'anything'], { server: url, env });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('vera has no role that allows');
    } finally {
      await client.close();
    }
  }, 30_000);
  it('investigates again on new evidence: a no-root-cause report is not reused, nor one made before a new firing', async () => {
    const viewer = opspilot.governance.forCaller(person('vic', 'viewer'));
    const reportsOf = async (component: string) =>
      (await viewer.rcaReports({ namespace: 'shop' })).filter(
        (report) => report.alert.component === component && report.status !== 'running',
      );
    // Alerts Alertmanager sends for a service opspilot holds no telemetry of: the report finds no root cause.
    const alert = (name: string, status: 'firing' | 'resolved', startsAt: string) => ({
      status,
      labels: {
        alertname: name,
        namespace: 'shop',
        component: 'ledger',
        environment: 'dev',
        trigger_ai_rca: 'true',
      },
      annotations: { summary: `${name} on ledger` },
      startsAt,
      ...(status === 'resolved' ? { endsAt: new Date().toISOString() } : {}),
    });
    const send = (name: string, status: 'firing' | 'resolved', startsAt = new Date().toISOString()) =>
      opspilot.alerts.receiveAlertmanager({ status, alerts: [alert(name, status, startsAt)] });

    await send('LedgerErrors', 'firing');
    const [first] = await waitFor(
      () => reportsOf('ledger'),
      (reports) => reports.length === 1,
      {
        what: 'the first ledger report',
      },
    );
    expect(first?.rootCauses).toEqual([]);
    expect(first?.noRootCause).not.toBeNull();

    // Another rule on the same service, in the same incident: the no-root-cause report is not reused.
    await send('LedgerLatency', 'firing');
    const second = await waitFor(
      () => reportsOf('ledger'),
      (reports) => reports.length === 2,
      {
        what: 'a second ledger report',
      },
    );
    expect(new Set(second.map((report) => report.groupKey)).size).toBe(1);

    // The first alert resolves and fires again: a new firing is new evidence, in a new incident.
    const started = await opspilot.alerts.list({ namespace: 'shop' });
    const before = started.find((item) => item.rule === 'LedgerErrors')?.groupKey;
    await send('LedgerErrors', 'resolved');
    await send('LedgerLatency', 'resolved');
    await send('LedgerErrors', 'firing', new Date(Date.now() + 1000).toISOString());
    const third = await waitFor(
      () => reportsOf('ledger'),
      (reports) => reports.length === 3,
      {
        what: 'a third ledger report',
      },
    );
    const after = (await opspilot.alerts.list({ namespace: 'shop' })).find(
      (item) => item.rule === 'LedgerErrors',
    )?.groupKey;
    expect(after).not.toBe(before);
    expect(third[0]?.groupKey).toBe(after);
  }, 60_000);
});
