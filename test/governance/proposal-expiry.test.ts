// Pending proposals whose "before" no longer holds expire, committed with an audit record, on SQLite and
// PostgreSQL: healed (the state they aim for came about another way), superseded (the resource changed
// otherwise, or the release a rollback is from no longer runs), already done (another proposal made exactly this
// change); a proposal whose before still holds stays pending, and approving a stale one is refused and audited.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import type { Governance } from '../../src/governance/governance.js';
import type { Caller, Role } from '../../src/governance/principal.js';
import type { Proposal } from '../../src/governance/proposals/contracts.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import type { ReleaseBindingSpec } from '../../src/platform/resource-kinds.js';
import { testGovernance } from '../helpers/governance.js';
import { idleRuntime } from '../helpers/idle-runtime.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

function caller(subject: string, role: Role, kind: 'user' | 'agent' = 'user'): Caller {
  return {
    principal: mintPrincipal({
      subject,
      kind,
      autonomy: 2,
      issuer: 'test',
      grants: [{ role, scope: { namespace: 'default' } }],
    }),
    edge: kind === 'agent' ? 'agent' : 'rest',
    client: 'vitest',
  };
}

const component = (env: Record<string, string>) => ({
  apiVersion: 'opspilot.dev/v1alpha1',
  kind: 'Component',
  metadata: { name: 'echo', namespace: 'default' },
  spec: { type: 'service', run: { command: 'node', env }, port: { env: 'PORT' } },
});

describe.each(stateStores)('proposal expiry on %s', (_name, open) => {
  let subject: TestStore;
  let platform: PlatformService;
  let governance: Governance;
  const agent = () => governance.forCaller(caller('rca-agent', 'rca-agent', 'agent'));

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
    // echo-1 runs in prod; then a release echo-2 with a slow setting rolls out (the incident's change).
    await platform.apply([
      component({}),
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'ReleaseBinding',
        metadata: { name: 'echo-prod', namespace: 'default' },
        spec: {
          component: 'echo',
          environment: 'prod',
          replicas: 2,
          resources: { limits: { memory: '64Mi' } },
        },
      },
    ]);
    await platform.apply([component({ EXTRA_LATENCY_MS: '600' })]);
  });

  afterEach(async () => {
    await governance.stop();
    await subject.dispose();
  });

  async function rollbackProposal(): Promise<Proposal> {
    const proposal = await agent().propose(await governance.planner.rollback('default', 'echo', 'prod'));
    expect(proposal).toMatchObject({
      status: 'pending',
      title: 'roll back echo in prod from echo-2 to echo-1',
    });
    expect(proposal.preconditions).toEqual([
      { component: 'echo', environment: 'prod', runsRelease: 'echo-2' },
    ]);
    return proposal;
  }

  async function expiryRecords(id: string) {
    const records = await governance.audit.list({ principal: 'system:opspilot', limit: 50 });
    return records.filter(
      (record) =>
        (record.details as { proposal?: string } | null)?.proposal === id &&
        record.result.startsWith('expired'),
    );
  }

  it('keeps a proposal pending while its before still holds', async () => {
    const proposal = await rollbackProposal();
    expect(await governance.proposals.staleness(proposal)).toBeUndefined();
    const checked = await governance.proposals.expireIfStale(proposal);
    expect(checked.status).toBe('pending');
    expect((await governance.proposals.get(proposal.id)).status).toBe('pending');
    expect(await expiryRecords(proposal.id)).toEqual([]);
  });

  it('expires a rollback as healed when the component runs what it would roll back to, with an audit record', async () => {
    const proposal = await rollbackProposal();
    // The fix lands another way: the component's spec is put back, a new release echo-3 equal to echo-1 rolls out.
    await platform.apply([component({})]);
    const expired = await governance.proposals.expireIfStale(proposal);
    expect(expired.status).toBe('expired');
    expect(expired.expiry).toMatchObject({ reason: 'healed' });
    expect(expired.expiry?.message).toContain('now runs echo-3, the same as echo-1');
    const stored = await governance.proposals.get(proposal.id);
    expect(stored).toMatchObject({ status: 'expired', expiry: { reason: 'healed' } });
    const [record] = await expiryRecords(proposal.id);
    expect(record).toMatchObject({ result: 'expired: healed', decision: 'system' });
    expect(record?.reasons[0]).toContain('echo-3');
    expect((await governance.audit.verify()).ok).toBe(true);
  });

  it('expires a proposal as healed when its resource already looks as it would make it', async () => {
    const raise = await agent().propose(
      await governance.planner.patchResources('default', 'echo', 'prod', { limits: { memory: '128Mi' } }),
    );
    expect(raise.status).toBe('pending');
    const binding = await platform.get('ReleaseBinding', 'default', 'echo-prod');
    const spec = binding.spec as ReleaseBindingSpec;
    await platform.apply([
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'ReleaseBinding',
        metadata: { name: 'echo-prod', namespace: 'default' },
        spec: { ...spec, resources: { requests: {}, limits: { memory: '128Mi' } } },
      },
    ]);
    const expired = await governance.proposals.expireIfStale(raise);
    expect(expired.expiry).toMatchObject({ reason: 'healed' });
  });

  it('expires a proposal as superseded when its resource changed otherwise, and refuses to approve it', async () => {
    const raise = await agent().propose(
      await governance.planner.patchResources('default', 'echo', 'prod', { limits: { memory: '128Mi' } }),
    );
    const binding = await platform.get('ReleaseBinding', 'default', 'echo-prod');
    const spec = binding.spec as ReleaseBindingSpec;
    await platform.apply([
      {
        apiVersion: 'opspilot.dev/v1alpha1',
        kind: 'ReleaseBinding',
        metadata: { name: 'echo-prod', namespace: 'default' },
        spec: { ...spec, env: { LEAK_KB_PER_REQUEST: '0' } },
      },
    ]);
    // Approving it now expires it (its before no longer holds) and refuses the approval, both audited.
    await expect(governance.forCaller(caller('olga', 'operator')).approve(raise.id)).rejects.toThrow(
      /expired: superseded: ReleaseBinding\/default\/echo-prod changed since it was proposed \(spec\.env/,
    );
    expect(await governance.proposals.get(raise.id)).toMatchObject({
      status: 'expired',
      expiry: { reason: 'superseded' },
    });
    const refusals = await governance.audit.list({ principal: 'olga', limit: 10 });
    expect(refusals[0]).toMatchObject({ action: 'proposal.approve', decision: 'deny' });
    expect(await expiryRecords(raise.id)).toHaveLength(1);
    // The binding was not changed by the refused approval.
    const after = (await platform.get('ReleaseBinding', 'default', 'echo-prod')).spec as ReleaseBindingSpec;
    expect(after.resources?.limits?.memory).toBe('64Mi');
  });

  it('expires a rollback as superseded when another release replaced the one it is from', async () => {
    const proposal = await rollbackProposal();
    await platform.apply([component({ EXTRA_LATENCY_MS: '50' })]);
    const expired = await governance.proposals.expireIfStale(proposal);
    expect(expired.expiry).toMatchObject({ reason: 'superseded' });
    expect(expired.expiry?.message).toContain('now runs echo-3, not echo-2');
  });

  it('expires a proposal as already done when another proposal made the same change', async () => {
    const mine = await rollbackProposal();
    // An operator rolls back by hand (their own proposal, approved by another person).
    const theirs = await governance
      .forCaller(caller('alice', 'operator'))
      .propose(await governance.planner.rollback('default', 'echo', 'prod'));
    const approved = await governance.forCaller(caller('bob', 'operator')).approve(theirs.id);
    expect(approved.status).toMatch(/verifying|succeeded/);
    const expired = await governance.proposals.expireIfStale(mine);
    expect(expired.expiry).toMatchObject({ reason: 'done' });
    expect(expired.expiry?.message).toBe(`already done by proposal ${theirs.id} (${theirs.title})`);
    const [record] = await expiryRecords(mine.id);
    expect(record?.result).toBe('expired: done');
  });
});
