// Refused REST requests on a real server over real HTTP: each one is answered with what was wrong and what to
// do, and leaves an audit record naming who asked, the route's action, the target and the reason; an answer is
// withheld (503) when its audit record cannot be written.
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { restCalls } from './rest-calls.js';

let server: InProcessServer;
let admin: string;
let operator: string;
const { call, head, recordsAfter } = restCalls(() => server);

beforeAll(async () => {
  server = await startInProcess();
  admin = (await server.opspilot.adminToken()).token;
  operator = (
    await server.opspilot.governance.tokens.issue({
      subject: 'olga',
      grants: [{ role: 'operator', scope: { namespace: '*' } }],
    })
  ).token;
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe('refused REST requests', () => {
  it('refuses a scale to -5 with the field at fault, and audits the refusal', async () => {
    const before = await head();
    const answer = await call('POST', '/api/v1/namespaces/default/components/echo/scale', {
      token: admin,
      body: { environment: 'dev', replicas: -5 },
    });
    expect(answer.status).toBe(400);
    expect(answer.type).toContain('application/problem+json');
    expect(answer.body).toMatchObject({
      code: 'invalid',
      errors: [{ path: 'body.replicas' }],
      hint: expect.stringContaining('openapi.json') as string,
    });
    const records = await recordsAfter(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      principal: 'admin',
      edge: 'rest',
      action: 'component.scale',
      namespace: 'default',
      target: 'POST /api/v1/namespaces/default/components/echo/scale',
      decision: 'deny',
      result: 'error:invalid',
    });
    expect(records[0]?.reasons.join(' ')).toContain('body.replicas');
  });

  it('answers an unknown route under /api with 404 and a hint, audited with the caller', async () => {
    const before = await head();
    const answer = await call('GET', '/api/v1/no-such-thing', { token: operator });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({
      code: 'not_found',
      hint: expect.stringContaining('/api/v1/openapi.json') as string,
    });
    const records = await recordsAfter(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      principal: 'olga',
      target: 'GET /api/v1/no-such-thing',
      decision: 'deny',
      result: 'error:not_found',
    });
  });

  it('refuses a path Fastify cannot route (too long, bad encoding) with a problem, audited', async () => {
    const before = await head();
    const long = await call('GET', `/api/v1/namespaces/${'a'.repeat(200)}`, { token: operator });
    expect(long.status).toBe(414);
    expect(long.body).toMatchObject({ code: 'invalid', hint: expect.stringContaining('63') as string });
    const encoding = await call('GET', '/api/v1/namespaces/%zz', { token: operator });
    expect(encoding.status).toBe(400);
    expect(encoding.body).toMatchObject({ detail: 'the path is not valid URL encoding' });
    const records = await recordsAfter(before);
    expect(records.map((record) => [record.principal, record.decision, record.result])).toEqual([
      ['olga', 'deny', 'error:invalid'],
      ['olga', 'deny', 'error:invalid'],
    ]);
    expect(records[0]?.target.length).toBeLessThan(320);
  });

  it('refuses unknown query parameters instead of ignoring them', async () => {
    const before = await head();
    const answer = await call('GET', '/api/v1/nodes?verbose=1', { token: admin });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'invalid' });
    expect(JSON.stringify(answer.body.errors)).toContain('verbose');
    const records = await recordsAfter(before);
    expect(records.map((record) => [record.action, record.decision])).toEqual([['platform.read', 'deny']]);
  });
});

describe('an audit store that cannot be written', () => {
  it('withholds the answer, refused or not', async () => {
    const database = new SqliteDatabase(join(server.opspilot.governance.options.config.dataDir, 'state.db'));
    try {
      database.exec('ALTER TABLE audit_events RENAME TO audit_events_gone');
      const whoami = await call('GET', '/api/v1/auth/whoami', { token: admin });
      expect(whoami.status).toBe(503);
      expect(whoami.body).toMatchObject({ code: 'unavailable', hint: expect.any(String) as string });
      expect(whoami.body).not.toHaveProperty('subject');
      const refused = await call('POST', '/api/v1/namespaces/default/components/echo/scale', {
        token: admin,
        body: { environment: 'dev', replicas: -5 },
      });
      expect(refused.status).toBe(503);
    } finally {
      database.exec('ALTER TABLE audit_events_gone RENAME TO audit_events');
      database.close();
    }
    expect((await call('GET', '/api/v1/auth/whoami', { token: admin })).status).toBe(200);
  });
});
