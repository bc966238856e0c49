// The audit chain and proposals on SQLite and PostgreSQL: verification finds the first tampered or missing
// record, a failed audit write fails the request (and hides its answer), nobody approves their own proposal,
// and an approved proposal interrupted by a crash runs exactly once when the service comes back.
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { UnavailableError } from '../../src/core/errors.js';
import { randomIds } from '../../src/core/ids.js';
import type { Governance } from '../../src/governance/governance.js';
import type { Caller, PrincipalKind, Role } from '../../src/governance/principal.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import { testGovernance } from '../helpers/governance.js';
import { postgresStore, stateStores, type TestStore } from '../helpers/state-stores.js';
import { waitFor } from '../helpers/wait-for.js';
import { idleRuntime } from '../helpers/idle-runtime.js';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

async function sql(subject: TestStore, statement: string): Promise<void> {
  if (subject.url === undefined) {
    const database = new SqliteDatabase(join(subject.dataDir, 'state.db'));
    try {
      database.exec(statement);
    } finally {
      database.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: subject.url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function caller(subject: string, role: Role, kind: 'user' | 'agent' = 'user'): Caller {
  return {
    principal: mintPrincipal({
      subject,
      kind,
      autonomy: 2,
      issuer: 'test',
      grants: [{ role, scope: { namespace: 'default' } }],
    }),
    edge: 'rest',
    client: 'vitest',
  };
}

const alertRule = (threshold: number) => ({
  apiVersion: 'opspilot.dev/v1alpha1',
  kind: 'AlertRule',
  metadata: { name: 'slow', namespace: 'default' },
  spec: {
    component: 'echo',
    environment: 'prod',
    latency: { percentile: 95, aboveMs: threshold, window: '5m' },
    severity: 'warning',
  },
});

describe.each(stateStores)('governance on %s', (_name, open) => {
  let subject: TestStore;
  let platform: PlatformService;
  let governance: Governance;

  beforeEach(async () => {
    subject = await open();
    platform = new PlatformService({
      store: subject.store,
      runtime: idleRuntime,
      clock: systemClock,
      ids: randomIds,
    });
    await bootstrapPlatform(platform);
    governance = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
  });

  afterEach(async () => {
    await governance.stop();
    await subject.dispose();
  });

  it('chains every record and reports the first one tampered with or missing', async () => {
    const viewer = governance.forCaller(caller('vic', 'viewer'));
    for (let index = 0; index < 5; index += 1) await viewer.list('Environment');
    await expect(viewer.list('Component', { namespace: 'bank' })).rejects.toThrow(/may not read/);
    const verified = await governance.audit.verify();
    expect(verified).toMatchObject({ ok: true, checked: 6, firstBroken: null });
    const records = await governance.audit.list({ principal: 'vic', limit: 10 });
    expect(records.map((record) => record.decision)).toEqual([
      'deny',
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
    ]);

    await sql(subject, `UPDATE audit_events SET decision = 'allow' WHERE seq = 6`);
    expect(await governance.audit.verify()).toMatchObject({
      ok: false,
      checked: 5,
      firstBroken: { seq: 6, problem: expect.stringContaining('a field was changed') as string },
    });
    await sql(subject, `UPDATE audit_events SET decision = 'deny' WHERE seq = 6`);
    expect((await governance.audit.verify()).ok).toBe(true);
    await sql(subject, `DELETE FROM audit_events WHERE seq = 3`);
    expect(await governance.audit.verify()).toMatchObject({
      ok: false,
      checked: 2,
      firstBroken: { seq: 4, problem: expect.stringContaining('missing') as string },
    });
  });

  it('fails the request when its audit record cannot be written', async () => {
    const viewer = governance.forCaller(caller('vic', 'viewer'));
    await sql(subject, `ALTER TABLE audit_events RENAME TO audit_events_gone`);
    const error = await viewer.list('Environment').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain('the audit record could not be written');
    await sql(subject, `ALTER TABLE audit_events_gone RENAME TO audit_events`);
    expect((await viewer.list('Environment')).length).toBe(3);
  });

  it('applies in production only after another person approves; agents and the author cannot', async () => {
    const alice = governance.forCaller(caller('alice', 'operator'));
    await alice.apply([alertRule(300)], {});
    const change = await alice.apply([alertRule(500)], {});
    expect(change.proposal?.status).toBe('succeeded');

    const author = governance.forCaller(caller('alice', 'operator'));
    const binding = await author.apply(
      [
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'Component',
          metadata: { name: 'echo', namespace: 'default' },
          spec: { type: 'service', run: { command: 'node' }, port: { env: 'PORT' } },
        },
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'ReleaseBinding',
          metadata: { name: 'echo-prod', namespace: 'default' },
          spec: { component: 'echo', environment: 'prod', replicas: 2 },
        },
      ],
      {},
    );
    const pending = binding.proposal;
    expect(pending?.status).toBe('pending');
    expect(pending?.approval.reasons.join(' ')).toContain('production');
    const id = pending?.id ?? '';
    await expect(author.approve(id)).rejects.toThrow(/nobody decides on their own proposal/);
    await expect(governance.forCaller(caller('rca', 'operator', 'agent')).approve(id)).rejects.toThrow(
      /agents never approve/,
    );
    await expect(governance.forCaller(caller('dev', 'developer')).approve(id)).rejects.toThrow(
      /no role of dev \(developer\) may approve/,
    );
    expect(await platform.list('ReleaseBinding', { namespace: 'default' })).toEqual([]);
    const approved = await governance.forCaller(caller('bob', 'operator')).approve(id, 'ok');
    // No runtime here: the binding is applied and then waits for health (verification).
    expect(approved.status).toBe('verifying');
    expect(
      (await platform.list('ReleaseBinding', { namespace: 'default' })).map((item) => item.metadata.name),
    ).toEqual(['echo-prod']);
  });

  it('lets only one of two concurrent proposals through a limit that fits one', async () => {
    const limited = await testGovernance({
      store: subject.store,
      platform,
      dataDir: subject.dataDir,
      config: {
        governance: { guardrails: { maxConcurrentActions: 1 } },
      },
    });
    try {
      const alice = limited.forCaller(caller('alice', 'operator'));
      await alice.apply(
        [
          {
            apiVersion: 'opspilot.dev/v1alpha1',
            kind: 'Component',
            metadata: { name: 'echo', namespace: 'default' },
            spec: { type: 'service', run: { command: 'node' }, port: { env: 'PORT' } },
          },
        ],
        {},
      );
      const binding = (environment: string) => ({
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'ReleaseBinding',
        metadata: { name: `echo-${environment}`, namespace: 'default' },
        spec: { component: 'echo', environment, replicas: 1 },
      });
      // Both are read, judged and stored at the same time; without the namespace lock both saw 0 in flight.
      // No runtime here, so an applied binding stays in flight (verifying) and holds the one slot.
      const outcomes = await Promise.all(
        ['dev', 'staging'].map((environment) => alice.apply([binding(environment)], {})),
      );
      const statuses = outcomes.map((outcome) => outcome.proposal?.status).sort();
      expect(statuses).toEqual(['denied', 'verifying']);
      const denied = outcomes.find((outcome) => outcome.proposal?.status === 'denied')?.proposal;
      expect(denied?.guardrails.reasons.join(' ')).toMatch(
        /1 actions are running in default; the limit is 1/,
      );
    } finally {
      await limited.stop();
    }
  });

  it('runs an approved proposal left behind by a crash exactly once', async () => {
    const alice = governance.forCaller(caller('alice', 'operator'));
    await alice.apply([alertRule(300)], {});
    const before = await platform.get('AlertRule', 'default', 'slow');
    // The state a crash right after the approval commit leaves: approved, not executed.
    const plan = await governance.planner.apply([alertRule(700)], {});
    const proposal = await governance.proposals.propose(caller('alice', 'operator'), plan, {
      requireApproval: 'test: wait',
    });
    await sql(
      subject,
      `UPDATE proposals SET status = 'approved', body = ${subject.url === undefined ? "json_set(body, '$.status', 'approved')" : "jsonb_set(body::jsonb, '{status}', '\"approved\"')::text"} WHERE id = '${proposal.id}'`,
    );
    expect((await platform.get('AlertRule', 'default', 'slow')).metadata.generation).toBe(
      before.metadata.generation,
    );

    // A new process: the periodic pass finds it and runs it, once, however many passes follow.
    const restarted = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
    restarted.start();
    const done = await waitForStatus(restarted, proposal.id, 'succeeded');
    expect(done.execution.attempts).toBe(1);
    await restarted.stop();
    const again = await testGovernance({ store: subject.store, platform, dataDir: subject.dataDir });
    again.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await again.stop();
    const rule = await platform.get('AlertRule', 'default', 'slow');
    expect(rule.metadata.generation).toBe(before.metadata.generation + 1);
    expect((rule.spec as { latency: { aboveMs: number } }).latency.aboveMs).toBe(700);
    const executed = await governance.audit.list({ principal: 'system:opspilot', limit: 100 });
    expect(
      executed.filter(
        (record) =>
          record.result === 'executed' && (record.details as { proposal?: string }).proposal === proposal.id,
      ),
    ).toHaveLength(1);
    expect((await governance.audit.verify()).ok).toBe(true);
  });

  it('judges a change where it lands: deleting or building a component reaches its production bindings', async () => {
    const admin = governance.forCaller(caller('root', 'platform-admin'));
    const component = {
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Component',
      metadata: { name: 'cart', namespace: 'default' },
      spec: { type: 'service', run: { command: 'node' }, port: { env: 'PORT' } },
    };
    await platform.apply([
      component,
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'ReleaseBinding',
        metadata: { name: 'cart-prod', namespace: 'default' },
        spec: { component: 'cart', environment: 'prod', replicas: 2 },
      },
    ]);
    const developer = governance.forCaller(caller('dev', 'developer'));
    await expect(developer.delete('Component', 'default', 'cart')).rejects.toThrow(
      /in production environment prod/,
    );
    const changed = { ...component, spec: { ...component.spec, run: { command: 'node', args: ['v2.js'] } } };
    await expect(developer.apply([changed], {})).rejects.toThrow(/in production environment prod/);
    // Applying what already exists is authorized too: "unchanged" must not confirm another tenant's resources.
    const outsider = governance.forCaller({
      ...caller('eve', 'developer'),
      principal: mintPrincipal({
        ...caller('eve', 'developer').principal,
        grants: [{ role: 'developer', scope: { namespace: 'sandbox' } }],
      }),
    });
    await expect(outsider.apply([component], {})).rejects.toThrow(/outside the scopes of eve/);
    const both = [
      { apiVersion: 'opspilot.dev/v1alpha1', kind: 'Namespace', metadata: { name: 'other' }, spec: {} },
      { ...component, metadata: { name: 'x', namespace: 'default' } },
      { ...component, metadata: { name: 'y', namespace: 'other' } },
    ];
    await expect(admin.apply(both, {})).rejects.toThrow(/one apply may change one namespace/);
  });
});

async function waitForStatus(governance: Governance, id: string, status: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const proposal = await governance.proposals.get(id);
    if (proposal.status === status) return proposal;
    if (Date.now() > deadline) throw new Error(`proposal ${id} is ${proposal.status}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('RoleBindings across opspilot instances on one PostgreSQL database', () => {
  let subject: TestStore;
  const instances: Governance[] = [];

  beforeEach(async () => {
    subject = await postgresStore();
  });

  afterEach(async () => {
    for (const instance of instances.splice(0)) await instance.stop();
    await subject.dispose();
  });

  it('are picked up by the instance that did not apply them', async () => {
    const platform = new PlatformService({
      store: subject.store,
      runtime: idleRuntime,
      clock: systemClock,
      ids: randomIds,
    });
    await bootstrapPlatform(platform);
    const open = async () => {
      const instance = await testGovernance({
        store: subject.store,
        platform,
        dataDir: subject.dataDir,
        config: { governance: { roleBindingSyncSeconds: 0.1 } },
      });
      instances.push(instance);
      instance.start();
      return instance;
    };
    const [writer, reader] = [await open(), await open()];
    const carol: Caller = {
      principal: mintPrincipal({ subject: 'carol', kind: 'user', autonomy: 2, issuer: 'test', grants: [] }),
      edge: 'rest',
      client: 'vitest',
    };
    const target = { namespace: 'default', component: 'echo', environment: 'dev' };
    expect(reader.authorizer.check(carol.principal, 'component.scale', target).allowed).toBe(false);
    await writer.forCaller(caller('root', 'platform-admin')).apply(
      [
        {
          apiVersion: 'opspilot.dev/v1alpha1',
          kind: 'RoleBinding',
          metadata: { name: 'carol-dev', namespace: 'default' },
          spec: {
            role: 'developer',
            subjects: [
              { kind: 'User', name: 'carol' },
              { kind: 'User', name: 'dave', issuer: 'https://idp.example' },
            ],
          },
        },
      ],
      {},
    );
    // The writer reloads at once; the reader on its next pass.
    expect(writer.authorizer.check(carol.principal, 'component.scale', target).allowed).toBe(true);
    // A binding names a kind of principal, and may name an issuer: same names elsewhere get nothing.
    const as = (subject: string, kind: PrincipalKind, issuer: string) =>
      writer.authorizer.check(
        mintPrincipal({ subject, kind, autonomy: 2, issuer, grants: [] }),
        'component.scale',
        target,
      ).allowed;
    expect(as('carol', 'agent', 'test')).toBe(false);
    expect(as('dave', 'user', 'test')).toBe(false);
    expect(as('dave', 'user', 'https://idp.example')).toBe(true);
    await waitFor(
      () => Promise.resolve(reader.authorizer.check(carol.principal, 'component.scale', target).allowed),
      (allowed) => allowed,
      { what: 'the other instance to grant carol developer', timeoutMs: 5_000 },
    );
    expect(
      reader.authorizer.check(carol.principal, 'component.scale', {
        ...target,
        environment: 'prod',
        production: true,
      }).allowed,
    ).toBe(false);
  });
});
