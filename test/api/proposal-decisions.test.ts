// Deciding on proposals over real HTTP on an in-process server, on SQLite and PostgreSQL: a refused decision
// (unknown proposal, already decided) is answered with what to do and audited; of 20 concurrent approvals of one
// pending proposal exactly one wins, the others are told who approved it, and every attempt is audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../helpers/state-stores.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { restCalls } from './rest-calls.js';

const backends: readonly [
  string,
  () => Promise<{ env: Record<string, string>; drop: () => Promise<void> }>,
][] = [
  ['sqlite', () => Promise.resolve({ env: {}, drop: () => Promise.resolve() })],
  [
    'postgres',
    async () => {
      const database = await createPostgresDatabase();
      return { env: { OPSPILOT_STATE_URL: database.url }, drop: database.drop };
    },
  ],
];

describe.each(backends)('proposal decisions on %s', (_name, open) => {
  let server: InProcessServer;
  let drop: () => Promise<void>;
  let admin: string;
  let operator: string;
  const { call, head, recordsAfter } = restCalls(() => server);

  beforeAll(async () => {
    const backend = await open();
    drop = backend.drop;
    server = await startInProcess(backend.env);
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
    await drop();
  });

  const post = (path: string, token: string, body: unknown) => call('POST', path, { token, body });

  it('refuses approving an unknown proposal with 404, audited', async () => {
    const before = await head();
    const answer = await call('POST', '/api/v1/proposals/0f0e0d0c-no-such/approve', {
      token: operator,
      body: {},
    });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({
      code: 'not_found',
      detail: expect.stringContaining('0f0e0d0c-no-such') as string,
      hint: expect.any(String) as string,
    });
    const records = await recordsAfter(before);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      principal: 'olga',
      action: 'proposal.approve',
      decision: 'deny',
      reasons: [expect.stringContaining('does not exist') as string],
    });
  });

  it('lets exactly one of 20 concurrent approvals win; the 19 others get 409 and every one is audited', async () => {
    // A binding in production waits for another person's approval.
    const applied = await post('/api/v1/apply', admin, {
      documents: [
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'Component',
          metadata: { name: 'racer', namespace: 'default' },
          spec: { type: 'worker', run: { command: '/bin/true' } },
        },
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'ReleaseBinding',
          metadata: { name: 'racer-prod', namespace: 'default' },
          spec: { component: 'racer', environment: 'prod', replicas: 2, state: 'Undeploy' },
        },
      ],
    });
    expect(applied.status).toBe(202);
    const id = (applied.body.proposal as { id: string }).id;

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(`/api/v1/proposals/${id}/approve`, operator, {})),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(19);
    for (const answer of answers.filter((candidate) => candidate.status === 409)) {
      expect(answer.body).toMatchObject({
        code: 'conflict',
        detail: expect.stringContaining(`proposal ${id} was already approved by olga`) as string,
        hint: expect.stringContaining(`opspilot proposals show ${id}`) as string,
      });
    }
    const decisions = (await server.opspilot.governance.audit.list({ limit: 1000 })).filter(
      (record) =>
        record.action === 'proposal.approve' &&
        (record.details as { proposal?: string } | null)?.proposal === id,
    );
    expect(decisions).toHaveLength(20);
    expect(decisions.every((record) => record.principal === 'olga')).toBe(true);
    expect(decisions.filter((record) => record.decision === 'approve')).toHaveLength(1);
    expect(decisions.filter((record) => record.decision === 'deny')).toHaveLength(19);
  });
});
