// How writes are judged, on SQLite and PostgreSQL through the governed services: on the document before and
// after the change, with a deleted binding's replicas remembered for the cooldown, without a cooldown from a
// proposal that failed, and executed as a compare-and-set on what the proposal was judged on.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { randomIds } from '../../src/core/ids.js';
import type { Governance } from '../../src/governance/governance.js';
import type { GovernedServices } from '../../src/governance/governed-services.js';
import type { Caller, Role } from '../../src/governance/principal.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import type { ReleaseBindingSpec } from '../../src/platform/resource-kinds.js';
import { testGovernance } from '../helpers/governance.js';
import { idleRuntime } from '../helpers/idle-runtime.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';
import { mintPrincipal } from '../../src/governance/identity/credentials.js';

const apiVersion = 'opspilot.dev/v1alpha1';

const component = {
  apiVersion,
  kind: 'Component',
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'service', run: { command: 'node', args: ['server.js'] }, port: { env: 'PORT' } },
};

const binding = (environment: string, replicas: number, name = `web-${environment}`) => ({
  apiVersion,
  kind: 'ReleaseBinding',
  metadata: { name, namespace: 'default' },
  spec: { component: 'web', environment, replicas, state: 'Active' },
});

function caller(subject: string, role: Role): Caller {
  return {
    principal: mintPrincipal({
      subject,
      kind: 'user',
      autonomy: 2,
      issuer: 'test',
      grants: [{ role, scope: { namespace: 'default' } }],
    }),
    edge: 'rest',
    client: 'vitest',
  };
}

describe.each(stateStores)('judging writes on %s', (_name, open) => {
  let subject: TestStore;
  let platform: PlatformService;
  let governance: Governance;
  let developer: GovernedServices;
  let operator: GovernedServices;

  beforeEach(async () => {
    subject = await open();
    platform = new PlatformService({
      store: subject.store,
      runtime: idleRuntime,
      clock: systemClock,
      ids: randomIds,
    });
    await bootstrapPlatform(platform);
    // Bindings never become ready on the idle runtime, so proposals stay verifying: allow many at once.
    governance = await testGovernance({
      store: subject.store,
      platform,
      dataDir: subject.dataDir,
      config: { governance: { guardrails: { maxConcurrentActions: 100 } } },
    });
    await platform.apply([component, binding('dev', 2), binding('prod', 2)]);
    developer = governance.forCaller(caller('dev', 'developer'));
    operator = governance.forCaller(caller('oscar', 'operator'));
  });

  afterEach(async () => {
    await governance.stop();
    await subject.dispose();
  });

  const replicasOf = async (name: string) =>
    ((await platform.get('ReleaseBinding', 'default', name)).spec as ReleaseBindingSpec).replicas;

  it('judges a change on the document it replaces as well: moving a production binding is a production write', async () => {
    const moved = binding('dev', 3, 'web-prod');
    await expect(developer.apply([moved], {})).rejects.toThrow(
      /may not resources\.apply on ReleaseBinding default\/web-prod in production environment prod/,
    );
    const proposal = (await operator.apply([moved], {})).proposal;
    expect(proposal?.status).toBe('pending');
    expect(proposal?.target).toMatchObject({ environment: 'prod', production: true });
    expect(await replicasOf('web-prod')).toBe(2);
  });

  it('starts no cooldown with a proposal that failed before it changed anything', async () => {
    const broken = { ...binding('dev', 3), spec: { ...binding('dev', 3).spec, release: 'web-99' } };
    const failed = (await developer.apply([broken], {})).proposal;
    expect(failed?.status).toBe('failed');
    expect(failed?.execution.message).toContain('release web-99 of component web does not exist');
    const scaled = await developer.scale('default', 'web', 'dev', 4);
    expect(scaled.guardrails.checks.map((check) => check.name)).not.toContain('cooldown');
    expect(scaled.status).toBe('verifying');
    expect(await replicasOf('web-dev')).toBe(4);
  });

  it('judges a binding created again within the cooldown against the replicas it was deleted with', async () => {
    expect((await developer.delete('ReleaseBinding', 'default', 'web-dev')).status).toBe('succeeded');
    const eightfold = (await developer.apply([binding('dev', 16)], {})).proposal;
    expect(eightfold?.status).toBe('denied');
    expect(eightfold?.guardrails.reasons.join('\n')).toContain('2 → 16 is more than 3×');
    expect(eightfold?.blastRadius.replicas).toEqual({ before: 2, after: 16 });

    // Within the factor it is a scaling action, so the cooldown starts and holds for the next one.
    expect((await developer.apply([binding('dev', 6)], {})).proposal?.status).toBe('verifying');
    expect((await developer.delete('ReleaseBinding', 'default', 'web-dev')).status).toBe('succeeded');
    const again = (await developer.apply([binding('dev', 12)], {})).proposal;
    expect(again?.status).toBe('denied');
    expect(again?.guardrails.checks.find((check) => check.name === 'cooldown')?.reason).toContain(
      'web in dev was scaled at',
    );
    // The same replicas as before the delete are no scaling at all.
    expect((await developer.apply([binding('dev', 6)], {})).proposal?.status).toBe('verifying');
  });

  it('remembers the bindings a component took with it when it was deleted', async () => {
    const deleted = await operator.delete('Component', 'default', 'web');
    // web-prod makes it a production change; another operator approves deleting both bindings with it.
    expect(deleted.status).toBe('pending');
    expect(deleted.changes.map((change) => change.name)).toEqual(['web-dev', 'web-prod', 'web']);
    const approver = governance.forCaller(caller('olga', 'operator'));
    expect((await approver.approve(deleted.id)).status).toBe('succeeded');
    const recreated = (await developer.apply([component, binding('dev', 16)], {})).proposal;
    expect(recreated?.status).toBe('denied');
    expect(recreated?.guardrails.reasons.join('\n')).toContain('2 → 16 is more than 3×');
  });

  it('runs only one of two proposals judged on the same state, and says the other must be proposed again', async () => {
    // One component per round: each round's winner starts a cooldown on its own binding only.
    for (let round = 0; round < 5; round += 1) {
      const name = `race-${round}`;
      await platform.apply([
        { ...component, metadata: { ...component.metadata, name } },
        { ...binding('dev', 2, `${name}-dev`), spec: { ...binding('dev', 2).spec, component: name } },
      ]);
      const first = await developer.scale('default', name, 'dev', 3, { requireApproval: 'race' });
      const second = await developer.scale('default', name, 'dev', 4, { requireApproval: 'race' });
      expect([first.status, second.status]).toEqual(['pending', 'pending']);
      const results = await Promise.all([
        operator.approve(first.id).catch((error: unknown) => error as Error),
        operator.approve(second.id).catch((error: unknown) => error as Error),
      ]);
      const outcomes = await Promise.all(
        [first, second].map((proposal) => governance.proposals.get(proposal.id)),
      );
      const ran = outcomes.filter((proposal) => proposal.status === 'verifying');
      expect(
        ran,
        JSON.stringify(results.map((result) => ('status' in result ? result.status : result.message))),
      ).toHaveLength(1);
      const lost = outcomes.find((proposal) => proposal.status !== 'verifying');
      // It failed at execution, or its approval found it stale and it expired: either way nothing of it ran.
      expect(lost?.status === 'failed' ? lost.execution.message : lost?.expiry?.message).toMatch(
        /changed since it was proposed/,
      );
      const winner = ran[0]?.changes[0]?.after?.spec as ReleaseBindingSpec;
      expect(await replicasOf(`${name}-dev`)).toBe(winner.replicas);
    }
  });
});
