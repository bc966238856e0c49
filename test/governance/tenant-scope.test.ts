// Tenant scope over real HTTP on an in-process server: whatever lies outside a caller's scope answers 403 with
// one message shape whether or not it exists (no existence oracle), dependency graphs name nothing outside the
// scope, and hints list only names the caller may see.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant } from '../../src/governance/principal.js';
import { kindInfo, kinds } from '../../src/platform/resource-kinds.js';
import type { Opspilot } from '../../src/server/opspilot-server.js';
import { identityOf } from '../../src/telemetry/ingest/resource-identity.js';
import { emptyBatch, type SpanEntry } from '../../src/telemetry/model.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
let opspilot: Opspilot;

const apiVersion = 'opspilot.dev/v1alpha1';

async function token(subject: string, grants: Grant[]): Promise<string> {
  return (await opspilot.governance.tokens.issue({ subject, kind: 'user', grants })).token;
}

interface Answer {
  readonly status: number;
  readonly body: { detail?: string; hint?: string; code?: string } & Record<string, unknown>;
}

async function call(bearer: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** The refusal with the asked-for name blanked: what a caller could compare between two names. */
function shape(answer: Answer, name: string): unknown {
  const blank = (text: string | undefined) => text?.split(name).join('<name>');
  return {
    status: answer.status,
    code: answer.body.code,
    detail: blank(answer.body.detail),
    hint: answer.body.hint,
  };
}

const component = (namespace: string, name: string) => ({
  apiVersion,
  kind: 'Component',
  metadata: { name, namespace, project: 'site' },
  spec: { type: 'service', run: { command: 'node', args: ['server.js'] }, port: { env: 'PORT' } },
});

const binding = (namespace: string, name: string, environment = 'dev') => ({
  apiVersion,
  kind: 'ReleaseBinding',
  metadata: { name: `${name}-${environment}`, namespace },
  // Undeploy: the test needs the documents, not running replicas.
  spec: { component: name, environment, replicas: 1, state: 'Undeploy' },
});

let admin: string;

beforeAll(async () => {
  server = await startInProcess();
  opspilot = server.opspilot;
  admin = await token('root', [{ role: 'platform-admin', scope: { namespace: '*' } }]);
  for (const namespace of ['shop', 'bank']) {
    const applied = await call(admin, 'POST', '/api/v1/apply', {
      documents: [
        { apiVersion, kind: 'Namespace', metadata: { name: namespace }, spec: {} },
        { apiVersion, kind: 'Project', metadata: { name: 'site', namespace }, spec: {} },
      ],
    });
    expect(applied.status).toBe(200);
  }
  const shop = await call(admin, 'POST', '/api/v1/apply', {
    documents: [
      component('shop', 'web'),
      component('shop', 'api'),
      binding('shop', 'web'),
      binding('shop', 'api'),
    ],
  });
  expect(shop.status).toBe(200);
  const bank = await call(admin, 'POST', '/api/v1/apply', {
    documents: [component('bank', 'ledger'), binding('bank', 'ledger')],
  });
  expect(bank.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('outside the scope is 403, whether or not it exists', () => {
  it('refuses another namespace to a viewer of one, and shows its own', async () => {
    const viewer = await token('vera', [{ role: 'viewer', scope: { namespace: 'bank' } }]);
    expect((await call(viewer, 'GET', '/api/v1/namespaces/bank')).status).toBe(200);
    const other = await call(viewer, 'GET', '/api/v1/namespaces/shop');
    const missing = await call(viewer, 'GET', '/api/v1/namespaces/atlantis');
    expect(other.status).toBe(403);
    expect(shape(other, 'shop')).toEqual(shape(missing, 'atlantis'));
    const listed = await call(viewer, 'GET', '/api/v1/namespaces');
    expect((listed.body.items as { metadata: { name: string } }[]).map((item) => item.metadata.name)).toEqual(
      ['bank'],
    );
  });

  it('a component-scoped viewer sees the namespace it works in', async () => {
    const viewer = await token('wes', [{ role: 'viewer', scope: { namespace: 'shop', component: 'web' } }]);
    expect((await call(viewer, 'GET', '/api/v1/namespaces/shop')).status).toBe(200);
  });

  it('answers reads and deletes of another tenant with 403 in one shape for existing and missing names', async () => {
    const developer = await token('dora', [{ role: 'developer', scope: { namespace: 'bank' } }]);
    for (const method of ['GET', 'DELETE']) {
      const existing = await call(developer, method, '/api/v1/namespaces/shop/components/web');
      const missing = await call(developer, method, '/api/v1/namespaces/shop/components/ghost');
      expect(existing.status, `${method} of an existing component`).toBe(403);
      expect(shape(existing, 'web'), method).toEqual(shape(missing, 'ghost'));
    }
    // Within its own namespace a missing name is simply not found.
    expect((await call(developer, 'DELETE', '/api/v1/namespaces/bank/components/ghost')).status).toBe(404);
    const web = await call(admin, 'GET', '/api/v1/namespaces/shop/components/web');
    expect(web.status).toBe(200);
  });

  it('gives a component-scoped developer one 403 for other components, existing or not, on every route', async () => {
    const developer = await token('cody', [
      { role: 'developer', scope: { namespace: 'shop', component: 'web' } },
    ]);
    const routes: [string, (name: string) => string, unknown?][] = [
      ['GET', (name) => `/api/v1/namespaces/shop/components/${name}`],
      ['GET', (name) => `/api/v1/namespaces/shop/components/${name}/status`],
      ['GET', (name) => `/api/v1/namespaces/shop/components/${name}/logs?environment=dev`],
      ['GET', (name) => `/api/v1/namespaces/shop/releasebindings/${name}-dev`],
      ['DELETE', (name) => `/api/v1/namespaces/shop/components/${name}`],
      ['DELETE', (name) => `/api/v1/namespaces/shop/releasebindings/${name}-dev`],
      ['PUT', (name) => `/api/v1/namespaces/shop/components/${name}`, component('shop', '<name>')],
      [
        'POST',
        (name) => `/api/v1/namespaces/shop/components/${name}/scale`,
        { environment: 'dev', replicas: 2 },
      ],
      ['POST', (name) => `/api/v1/namespaces/shop/components/${name}/restart`, { environment: 'dev' }],
      ['POST', (name) => `/api/v1/namespaces/shop/components/${name}/rollback`, { environment: 'dev' }],
      [
        'POST',
        (name) => `/api/v1/namespaces/shop/components/${name}/promote`,
        { from: 'dev', to: 'staging' },
      ],
    ];
    for (const [method, path, body] of routes) {
      const withName = (name: string): unknown =>
        body === undefined ? undefined : JSON.parse(JSON.stringify(body).split('<name>').join(name));
      const existing = await call(developer, method, path('api'), withName('api'));
      const missing = await call(developer, method, path('ghost'), withName('ghost'));
      expect(existing.status, `${method} ${path('api')}`).toBe(403);
      expect(shape(existing, 'api'), `${method} ${path('…')}`).toEqual(shape(missing, 'ghost'));
      expect(existing.body.hint ?? '', `${method} ${path('…')}`).not.toMatch(
        /\bweb\b.*\bapi\b|\bapi\b.*\bweb\b/,
      );
    }
    // Its own component still answers.
    expect((await call(developer, 'GET', '/api/v1/namespaces/shop/components/web/status')).status).toBe(200);
  });

  it('answers 403 on every route into another namespace, for existing and missing names alike', async () => {
    // An operator of bank holds every action there that these routes need.
    const outsider = await token('otto', [{ role: 'operator', scope: { namespace: 'bank' } }]);
    const refused: [string, string, unknown?][] = [];
    for (const kind of kinds.filter((item) => kindInfo[item].scope === 'namespaced')) {
      const base = `/api/v1/namespaces/shop/${kindInfo[kind].plural}`;
      refused.push(['GET', base], ['GET', `${base}/ghost`], ['DELETE', `${base}/ghost`]);
    }
    refused.push(
      ['GET', '/api/v1/namespaces/shop/components/web'],
      ['DELETE', '/api/v1/namespaces/shop/components/web'],
      ['PUT', '/api/v1/namespaces/shop/components/web', component('shop', 'web')],
      ['PUT', '/api/v1/namespaces/shop/components/ghost', component('shop', 'ghost')],
      ['PUT', '/api/v1/namespaces/shop/releasebindings/web-dev', binding('shop', 'web')],
      ['POST', '/api/v1/apply', { documents: [binding('shop', 'ghost')] }],
      ['GET', '/api/v1/namespaces/shop/components/web/status'],
      ['GET', '/api/v1/namespaces/shop/components/ghost/logs?environment=dev'],
      ['GET', '/api/v1/namespaces/shop/workflowruns/ghost/logs'],
      ['GET', '/api/v1/namespaces/shop/workflowruns/ghost/compare'],
      ['GET', '/api/v1/namespaces/shop/events'],
      ['POST', '/api/v1/namespaces/shop/components/web/scale', { environment: 'dev', replicas: 2 }],
      ['POST', '/api/v1/namespaces/shop/components/ghost/restart', { environment: 'dev' }],
      ['POST', '/api/v1/namespaces/shop/components/web/rollback', { environment: 'dev' }],
      ['POST', '/api/v1/namespaces/shop/components/ghost/promote', { from: 'dev', to: 'staging' }],
      ['GET', '/api/v1/namespaces/shop'],
      ['DELETE', '/api/v1/namespaces/shop'],
      ['GET', '/api/v1/telemetry/logs?namespace=shop'],
      ['GET', '/api/v1/telemetry/traces?namespace=shop'],
      ['GET', `/api/v1/telemetry/traces/${'a'.repeat(32)}?namespace=shop`],
      ['GET', '/api/v1/telemetry/dependencies?namespace=shop'],
      ['GET', '/api/v1/alerts?namespace=shop'],
      ['GET', '/api/v1/proposals?namespace=shop'],
      ['GET', '/api/v1/audit?namespace=shop'],
    );
    const answers = await Promise.all(
      refused.map(
        async ([method, path, body]) =>
          `${method} ${path}: ${(await call(outsider, method, path, body)).status}`,
      ),
    );
    expect(answers).toEqual(refused.map(([method, path]) => `${method} ${path}: 403`));
  });

  it('audits each refusal', async () => {
    const developer = await token('ada', [{ role: 'developer', scope: { namespace: 'bank' } }]);
    await call(developer, 'DELETE', '/api/v1/namespaces/shop/components/ghost');
    const records = await opspilot.governance.audit.list({ principal: 'ada', limit: 5 });
    expect(records.map((record) => [record.decision, record.result])).toEqual([['deny', 'forbidden']]);
  });
});

describe('hints list only names within the scope', () => {
  it("does not list the namespace's components to a caller scoped to one that does not exist", async () => {
    const developer = await token('tyler', [
      { role: 'developer', scope: { namespace: 'shop', component: 'wbe' } },
    ]);
    const answer = await call(developer, 'POST', '/api/v1/namespaces/shop/components/wbe/scale', {
      environment: 'dev',
      replicas: 2,
    });
    expect(answer.status).toBe(404);
    expect(answer.body.detail).toContain('wbe');
    expect(`${answer.body.detail ?? ''} ${answer.body.hint ?? ''}`).not.toMatch(/\b(web|api)\b/);
  });

  it('does not list environments of bindings outside an environment-scoped grant', async () => {
    const developer = await token('erin', [
      { role: 'developer', scope: { namespace: 'shop', environment: 'staging' } },
    ]);
    const answer = await call(developer, 'POST', '/api/v1/namespaces/shop/components/web/scale', {
      environment: 'staging',
      replicas: 2,
    });
    expect(answer.status).toBe(404);
    expect(answer.body.detail).toContain('not bound to environment staging');
    expect(answer.body.hint ?? '').not.toContain('dev');
  });

  it('lists only visible names when an applied document names something missing', async () => {
    const developer = await token('tess', [
      { role: 'developer', scope: { namespace: 'shop', component: 'wbe' } },
    ]);
    const answer = await call(developer, 'POST', '/api/v1/apply', {
      documents: [binding('shop', 'wbe')],
      dryRun: true,
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('component wbe does not exist');
    expect(JSON.stringify(answer.body)).not.toMatch(/\b(web|api)\b/);
  });

  it('names only what lies within the proposal when its execution fails on a missing reference', async () => {
    const developer = await token('tom', [
      { role: 'developer', scope: { namespace: 'shop', component: 'wbe' } },
    ]);
    const answer = await call(developer, 'POST', '/api/v1/apply', { documents: [binding('shop', 'wbe')] });
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toContain('component wbe does not exist in namespace shop (none you may see');
    expect(answer.body.detail).not.toMatch(/\b(web|api)\b/);
  });
});

describe('dependency graphs within the scope', () => {
  it('shows a call into another tenant as one anonymous node, and names it to who may see both', async () => {
    const now = Date.now() * 1000;
    const span = (
      namespace: string,
      service: string,
      spanId: string,
      parentSpanId: string,
      kind: number,
    ): SpanEntry => ({
      resource: identityOf({
        'service.name': service,
        'opspilot.namespace': namespace,
        'opspilot.environment': 'dev',
      }),
      traceId: 'a'.repeat(32),
      spanId,
      parentSpanId,
      name: 'GET /',
      kind,
      startUs: now,
      endUs: now + 1000,
      durationUs: 1000,
      statusCode: 0,
      statusMessage: '',
      attributes: {},
      events: [],
      scope: '',
    });
    const batch = emptyBatch();
    batch.spans.push(
      span('shop', 'web', '0000000000000001', '', 2),
      span('shop', 'web', '0000000000000002', '0000000000000001', 3),
      span('bank', 'ledger', '0000000000000003', '0000000000000002', 2),
    );
    await opspilot.telemetry.ingest(batch);
    const query = '/api/v1/telemetry/dependencies?namespace=shop&period=last_15m';
    const viewer = await token('shirley', [{ role: 'viewer', scope: { namespace: 'shop' } }]);
    const scoped = await call(viewer, 'GET', query);
    expect(scoped.status).toBe(200);
    expect(JSON.stringify(scoped.body)).not.toContain('ledger');
    expect(JSON.stringify(scoped.body)).not.toContain('bank');
    expect(scoped.body.edges).toEqual([
      expect.objectContaining({ from: 'web', to: '(outside your scope)', calls: 1 }),
    ]);
    expect(scoped.body.nodes).toContainEqual(
      expect.objectContaining({ service: '(outside your scope)', kind: 'outside' }),
    );
    // A trace search names the services of the namespace searched only.
    const traces = await call(viewer, 'GET', '/api/v1/telemetry/traces?namespace=shop&period=last_15m');
    expect(traces.status).toBe(200);
    expect(traces.body.traces).toEqual([expect.objectContaining({ rootService: 'web', services: ['web'] })]);
    const both = await call(admin, 'GET', query);
    expect(both.body.edges).toEqual([expect.objectContaining({ from: 'web', to: 'bank/ledger', calls: 1 })]);
  });
});
