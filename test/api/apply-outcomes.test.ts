// Apply over real HTTP on an in-process server: results keep the numbers of their documents in the submitted
// stream whether they changed or not, an apply that changes nothing is audited as "no change", and a dry run
// (query, body, or `opspilot apply --dry-run`) applies nothing, answers what would change and is audited as one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { runCli } from '../helpers/opspilot-process.js';
import { environment, restCalls } from './rest-calls.js';

let server: InProcessServer;
let admin: string;
const { call, head, recordsAfter } = restCalls(() => server);

beforeAll(async () => {
  server = await startInProcess();
  admin = (await server.opspilot.adminToken()).token;
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe('apply', () => {
  it('audits an apply that changes nothing as "no change"', async () => {
    const documents = [environment('qa', 'QA')];
    expect((await call('POST', '/api/v1/apply', { token: admin, body: { documents } })).status).toBe(200);
    const before = await head();
    const again = await call('POST', '/api/v1/apply', { token: admin, body: { documents } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      items: [{ name: 'qa', action: 'unchanged', document: 0 }],
      proposal: null,
    });
    const records = await recordsAfter(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      principal: 'admin',
      action: 'resources.apply',
      decision: 'none',
      result: 'no change',
    });
  });

  it('answers a scale to the replicas it already has with what to do, audited as "no change"', async () => {
    const applied = await call('POST', '/api/v1/apply', {
      token: admin,
      body: {
        documents: [
          {
            apiVersion: 'opspilot.dev/v1alpha1',
            kind: 'Component',
            metadata: { name: 'idle', namespace: 'default' },
            spec: { type: 'worker', run: { command: '/bin/true' } },
          },
          {
            apiVersion: 'opspilot.dev/v1alpha1',
            kind: 'ReleaseBinding',
            metadata: { name: 'idle-dev', namespace: 'default' },
            spec: { component: 'idle', environment: 'dev', replicas: 2, state: 'Undeploy' },
          },
        ],
      },
    });
    expect(applied.status).toBe(200);
    const before = await head();
    const answer = await call('POST', '/api/v1/namespaces/default/components/idle/scale', {
      token: admin,
      body: { environment: 'dev', replicas: 2 },
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      detail: expect.stringContaining('nothing would change') as string,
      hint: expect.any(String) as string,
    });
    const records = await recordsAfter(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      action: 'component.scale',
      namespace: 'default',
      decision: 'none',
      result: 'no change',
    });
  });

  it('numbers every result by its document in the submitted stream, changed or not', async () => {
    await call('POST', '/api/v1/apply', {
      token: admin,
      body: { documents: [environment('n-one', 'One'), environment('n-two', 'Two')] },
    });
    const answer = await call('POST', '/api/v1/apply', {
      token: admin,
      body: {
        documents: [
          environment('n-one', 'One'),
          environment('n-two', 'Two, renamed'),
          environment('n-three', 'Three'),
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.items).toEqual([
      { kind: 'Environment', namespace: null, name: 'n-one', action: 'unchanged', document: 0 },
      { kind: 'Environment', namespace: null, name: 'n-two', action: 'configured', document: 1 },
      { kind: 'Environment', namespace: null, name: 'n-three', action: 'created', document: 2 },
    ]);
  });

  it.each([
    ['the query', '/api/v1/apply?dryRun=true', {}],
    ['the body', '/api/v1/apply', { dryRun: true }],
  ])(
    'applies nothing on a dry run asked for in %s, and says what would change',
    async (_how, path, extra) => {
      const before = await head();
      const answer = await call('POST', path, {
        token: admin,
        body: { documents: [environment('dry', 'Dry')], ...extra },
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        dryRun: true,
        items: [{ name: 'dry', action: 'created', document: 0 }],
        proposal: null,
        diff: [{ resource: 'Environment/dry', path: '(resource)' }],
      });
      const read = await call('GET', '/api/v1/environments/dry', { token: admin });
      expect(read.status).toBe(404);
      const records = await recordsAfter(before);
      const apply = records.filter((record) => record.action === 'resources.apply');
      expect(apply).toHaveLength(1);
      expect(apply[0]).toMatchObject({ decision: 'allow', result: 'dry run' });
      expect(records.some((record) => record.edge === 'system')).toBe(false);
    },
  );

  it('refuses a dry run the query and the body disagree on', async () => {
    const answer = await call('POST', '/api/v1/apply?dryRun=false', {
      token: admin,
      body: { documents: [environment('dry', 'Dry')], dryRun: true },
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'invalid', hint: expect.stringContaining('dryRun') as string });
    expect((await call('GET', '/api/v1/environments/dry', { token: admin })).status).toBe(404);
  });

  it('applies nothing on `opspilot apply --dry-run`, and lists what would change', async () => {
    const file = join(server.workspace, 'dry.yaml');
    writeFileSync(
      file,
      'apiVersion: opspilot.dev/v1alpha1\nkind: Environment\nmetadata: { name: cli-dry }\nspec: { displayName: Dry }\n',
    );
    const before = await head();
    const result = await runCli(['apply', '-f', file, '--dry-run'], {
      env: { OPSPILOT_SERVER: server.url, OPSPILOT_TOKEN: admin },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('environment/cli-dry created (dry run)\n');
    expect(result.stdout).toContain('would change:\n  Environment/cli-dry (resource): (none) → ');
    expect((await call('GET', '/api/v1/environments/cli-dry', { token: admin })).status).toBe(404);
    const records = await recordsAfter(before);
    expect(records.filter((record) => record.action === 'resources.apply')).toMatchObject([
      { edge: 'cli', result: 'dry run' },
    ]);
  });
});
