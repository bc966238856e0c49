// The RCA agent when a change causes the incident, in-process on a real server (SQLite, real replicas, OTLP over
// HTTP): a catalog release leaks memory and is OOM-killed, its caller's requests fail, and the report proposes
// first to roll the release back and only then, if that is not possible, to raise memory, saying why. Its
// confidence reflects the evidence, every "see:" command it prints runs, MCP shows tool calls instead, chat
// answers "why not X?" and "what changed?", and once the release is undone another way the rollback expires.
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/governance/principal.js';
import type { RcaReportView } from '../../src/rca/contracts.js';
import { confidences } from '../../src/rca/confidence.js';
import type { Opspilot } from '../../src/server/opspilot-server.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';
import { runCli } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

const viewer: Caller = {
  principal: mintPrincipal({
    subject: 'vic',
    kind: 'user',
    autonomy: 2,
    issuer: 'test',
    grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
  }),
  edge: 'rest',
  client: 'vitest',
};
const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));
let server: InProcessServer;
let opspilot: Opspilot;
let url: string;
let token: string;
let report: RcaReportView;

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
/** One request to frontend → catalog; while catalog is down the call fails and frontend answers 503. */
function request(atMs: number, catalogUp: boolean) {
  traceCounter += 1;
  const traceId = (0xabc000 + traceCounter).toString(16).padStart(32, '0');
  const id = (n: number) => (traceCounter * 3 + n).toString(16).padStart(16, '0');
  const status = (code: number) => [{ key: 'http.response.status_code', value: { intValue: code } }];
  const span = (
    spanId: string,
    parentSpanId: string,
    name: string,
    kind: number,
    to: number,
    ok: boolean,
    attributes: unknown[],
  ) => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: nanos(atMs),
    endTimeUnixNano: nanos(atMs + to),
    status: ok ? {} : { code: 2, message: 'catalog unavailable' },
    attributes,
  });
  return [
    {
      resource: resource('frontend'),
      scopeSpans: [
        {
          spans: [
            span(id(0), '', 'GET /products', 2, catalogUp ? 30 : 5, catalogUp, status(catalogUp ? 200 : 503)),
            span(id(1), id(0), 'GET', 3, catalogUp ? 28 : 4, catalogUp, [
              { key: 'peer.service', value: { stringValue: 'catalog' } },
              ...(catalogUp ? status(200) : []),
            ]),
          ],
        },
      ],
    },
    ...(catalogUp
      ? [
          {
            resource: resource('catalog'),
            scopeSpans: [{ spans: [span(id(2), id(1), 'ListProducts', 2, 25, true, status(200))] }],
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

const catalog = (env: Record<string, string>) =>
  yamlDocuments(
    serviceManifest({
      name: 'catalog',
      namespace: 'shop',
      command: process.execPath,
      args: [fixture],
      replicas: 2,
      env,
      memoryLimit: '128Mi',
    }),
  );

/** Splits a printed command into its arguments (single quotes as a shell reads them). */
function words(command: string): string[] {
  return [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((match) =>
    match[1] === undefined ? (match[2] ?? '') : match[1].replaceAll(`'\\''`, "'"),
  );
}

beforeAll(async () => {
  server = await startInProcess({
    OPSPILOT_RUNTIME__LOCAL__TERMINATION_GRACE_SECONDS: '1',
    OPSPILOT_ALERTING__EVALUATION_INTERVAL_MS: '500',
  });
  ({ opspilot, url } = server);
  token = (await opspilot.adminToken()).token;
  await opspilot.platform.apply([
    // The report under test is the frontend alert's, made once the failing requests are in. A built-in OOMKilled
    // alert would start its own investigation as soon as the replica is killed, before the test sends them, and
    // whether that report or this one comes first would depend on the machine's load.
    {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Namespace',
      metadata: { name: 'shop' },
      spec: { platformSignals: false },
    },
    ...catalog({ GREETING: 'hi' }),
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
  await waitFor(
    async () =>
      (await opspilot.platform.componentStatus('shop', 'catalog')).environments.find(
        (item) => item.environment === 'dev',
      ),
    (status) => status?.readyReplicas === 2,
    { what: 'catalog ready', timeoutMs: 30_000 },
  );
  const now = Date.now();
  const healthy = [];
  for (let at = now - 40 * 60_000; at < now - 3 * 60_000; at += 20_000) healthy.push(...request(at, true));
  await send(healthy);

  // The change: a catalog release that leaks 60 MiB a second under a 128 MiB limit.
  await opspilot.platform.apply(catalog({ GREETING: 'hi', LEAK_MB_PER_SECOND: '60' }));
  await waitFor(
    () => opspilot.platform.events({ namespace: 'shop', component: 'catalog', reason: 'OOMKilled' }),
    (events) => events.length > 0,
    { what: 'catalog OOM-killed', timeoutMs: 30_000 },
  );
  const failing = [];
  for (let at = Date.now() - 60_000; at <= Date.now(); at += 5_000) failing.push(...request(at, false));
  await send(failing);
  const found = await waitFor(
    async () => (await opspilot.governance.forCaller(viewer).rcaReports({ namespace: 'shop' }))[0],
    (candidate) => candidate?.status === 'completed',
    { what: 'a completed RCA report', timeoutMs: 40_000 },
  );
  if (found === undefined) throw new Error('no report');
  report = found;
}, 120_000);

afterAll(async () => {
  await server.close();
});

describe('RCA remediation', () => {
  it('proposes rolling the release back first, and raising memory second with the reason', () => {
    expect(report.rootCauses[0]?.service).toBe('catalog');
    expect(report.remediation).toMatchObject({
      role: 'undo',
      status: 'pending',
      title: 'roll back catalog in dev from catalog-2 to catalog-1',
    });
    expect(report.remediation?.why).toContain('Created release catalog-2');
    expect(report.alternatives).toHaveLength(1);
    expect(report.alternatives[0]).toMatchObject({ role: 'mitigate', status: 'pending' });
    expect(report.alternatives[0]?.why).toMatch(
      /^if the rollback is not possible: raise memory to 256Mi, because it was OOM-killed .* at its limit of 128Mi/,
    );
    expect(report.recommendations[0]).toMatch(/^First: roll back catalog/);
    expect(report.recommendations[1]).toMatch(/^Then: set resources of catalog in dev/);
  });

  it('shows a confidence computed from the margin and the agreeing kinds of evidence', () => {
    const top = report.rootCauses[0];
    expect(top?.agreeing).toEqual(expect.arrayContaining(['changes', 'traces']));
    expect(top?.confidence).toBe(confidences(report.rootCauses)[0]);
    expect(report.narrative).toContain(`confidence ${Math.round((top?.confidence ?? 0) * 100)}%`);
  });

  it('keeps the timeline to the incident: its services, from a few minutes before onset, with the release', () => {
    const onset = Date.parse(report.window?.onset ?? '');
    expect(report.timeline.length).toBeGreaterThan(0);
    for (const entry of report.timeline) {
      expect(['catalog', 'frontend']).toContain(entry.service);
      expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(onset - 5 * 60_000);
    }
    expect(report.timeline.map((entry) => entry.what).join('\n')).toContain('Created release catalog-2');
  });

  it('prints CLI hints that run as printed, and MCP tool calls only over MCP', async () => {
    const env = { OPSPILOT_TOKEN: token };
    const show = await runCli(['rca', 'show', report.id], { server: url, env });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('Remediation (in order):');
    expect(show.stdout).toMatch(
      /1\. roll back catalog in dev from catalog-2 to catalog-1 — proposal \S+ pending \(undo\)/,
    );
    expect(show.stdout).not.toMatch(/\b(get|query)_[a-z_]+ \{/);
    const hints = [...show.stdout.matchAll(/^\s+see: (.+)$/gm)].map((match) => match[1] ?? '');
    expect(hints.length).toBeGreaterThan(2);
    expect(hints.some((hint) => hint.startsWith('opspilot telemetry trace '))).toBe(true);
    expect(hints.some((hint) => hint.startsWith('opspilot get events '))).toBe(true);
    for (const hint of new Set(hints)) {
      const [program, ...args] = words(hint);
      expect(program).toBe('opspilot');
      const run = await runCli(args, { server: url, env });
      expect(run.code, `${hint}\n${run.stderr}`).toBe(0);
    }

    const client = new Client(
      { name: 'rca-hints', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp/observability`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const one = await client.callTool({ name: 'get_rca_report', arguments: { id: report.id } });
      const queries = (one.structuredContent as RcaReportView).rootCauses.flatMap((cause) =>
        cause.evidence.map((item) => item.query),
      );
      expect(queries.length).toBeGreaterThan(2);
      for (const query of queries) expect(query).toMatch(/^(get|query)_[a-z_]+ \{/);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('answers "why not X?" and "what changed?" from the report without an LLM', async () => {
    const env = { OPSPILOT_TOKEN: token };
    const whyNot = await runCli(['rca', 'chat', report.id, 'why', 'not', 'frontend?'], { server: url, env });
    expect(whyNot.code, whyNot.stderr).toBe(0);
    expect(whyNot.stdout).toMatch(/frontend/);
    expect(whyNot.stdout).not.toContain('What happened, in order');
    const excluded = report.excluded.find((item) => item.service === 'frontend');
    const ranked = report.rootCauses.findIndex((cause) => cause.service === 'frontend');
    if (excluded !== undefined) expect(whyNot.stdout).toContain(`Not frontend: ${excluded.reason}`);
    else if (ranked > 0) expect(whyNot.stdout).toContain(`frontend ranks #${ranked + 1}`);
    else expect(whyNot.stdout).toContain('frontend is neither among the ranked causes nor excluded');

    const changed = await runCli(['rca', 'chat', report.id, 'what', 'changed?'], { server: url, env });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain('Changes in the incident window:');
    expect(changed.stdout).toContain('Created release catalog-2');
    expect(changed.stdout).toContain('Signals that changed at onset:');
    expect(changed.stdout).not.toContain('What happened, in order');
  }, 60_000);

  it('expires the rollback once the release is undone another way, and shows it', async () => {
    // Someone puts the component back by hand: catalog-3, the same as catalog-1, rolls out.
    await opspilot.platform.apply(catalog({ GREETING: 'hi' }));
    const env = { OPSPILOT_TOKEN: token };
    const list = await waitFor(
      () => runCli(['rca', 'list', '-n', 'shop'], { server: url, env }),
      (result) => result.stdout.includes('expired (healed)'),
      { what: 'the rollback shown expired', timeoutMs: 20_000 },
    );
    expect(list.stdout).toMatch(
      new RegExp(
        `^${report.id}\\s+completed.*${report.remediation?.proposal ?? ''} expired \\(healed\\) \\+1`,
        'm',
      ),
    );
    const show = await runCli(['rca', 'show', report.id], { server: url, env });
    expect(show.stdout).toContain('expired: healed: catalog@dev now runs catalog-3, the same as catalog-1');
    const records = await opspilot.governance.audit.list({ principal: 'system:opspilot', limit: 100 });
    expect(records.some((record) => record.result === 'expired: healed')).toBe(true);
  }, 60_000);
});
