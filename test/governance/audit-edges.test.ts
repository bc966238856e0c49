// The audit log at the edges of a real in-process server: a write while the audit store is broken is refused
// with 503 (problem+json with a hint) and changes nothing; `opspilot audit verify` reports a truncated chain
// with exit code 1, through the API and offline against the stopped server's data dir.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

describe('opspilot audit verify', () => {
  const dataDir = () => join(server.workspace, 'data');

  const reads = async (count: number) => {
    for (let index = 0; index < count; index += 1) {
      const response = await fetch(`${server.url}/api/v1/environments`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      expect(response.status).toBe(200);
    }
  };

  it('asks the server: exit 0 on an intact chain, 1 and what is wrong once the newest records are deleted', async () => {
    server = await startInProcess();
    admin = (await server.opspilot.adminToken()).token;
    try {
      await checkThroughServer();
    } finally {
      await server.close();
    }
  });

  async function checkThroughServer(): Promise<void> {
    await reads(3);
    await server.opspilot.governance.audit.checkpoint('interval');
    const cli = { env: { OPSPILOT_SERVER: server.url, OPSPILOT_TOKEN: admin } };
    const intact = await runCli(['audit', 'verify'], cli);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/^audit chain ok: \d+ records/);

    await server.opspilot.governance.audit.checkpoint('interval');
    sql('DELETE FROM audit_events WHERE seq > 2');
    const broken = await runCli(['audit', 'verify'], cli);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('audit chain BROKEN');
    expect(broken.stdout).toMatch(/truncated: checkpoint \d+ at seq \d+ but the chain ends at 2/);
  }

  it('verifies a stopped server’s data dir offline with --data-dir', async () => {
    server = await startInProcess();
    admin = (await server.opspilot.adminToken()).token;
    await reads(4);
    await server.opspilot.stop();
    try {
      const intact = await runCli(['audit', 'verify', '--data-dir', dataDir()]);
      expect(intact.code, intact.stderr).toBe(0);
      expect(intact.stdout).toMatch(/^audit chain ok: 4 records/);

      sql('DELETE FROM audit_events WHERE seq > 2');
      const broken = await runCli(['audit', 'verify', '--data-dir', dataDir(), '-o', 'json']);
      expect(broken.code).toBe(1);
      const result = JSON.parse(broken.stdout) as { ok: boolean; problems: string[] };
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([
        expect.stringMatching(/^truncated: checkpoint \d+ at seq 4 but the chain ends at 2/) as string,
      ]);

      const elsewhere = await runCli(['audit', 'verify', '--data-dir', join(server.workspace, 'nothing')]);
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.stderr).toContain('there is no audit key at');
    } finally {
      rmSync(server.workspace, { recursive: true, force: true });
    }
  });
});
