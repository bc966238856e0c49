import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/config-schema.js';
import { defaultGuardrailPolicy, evaluateGuardrails, resolvePolicy, type ChangeFacts } from './guardrails.js';

const now = new Date('2026-11-21T12:00:00Z');

function facts(overrides: Partial<ChangeFacts> = {}): ChangeFacts {
  return {
    action: 'component.scale',
    principal: { kind: 'user', autonomy: 2 },
    namespace: 'shop',
    environment: { name: 'dev', production: false },
    tenants: ['shop'],
    services: ['cart'],
    replicaChanges: [{ component: 'cart', environment: 'dev', before: 2, after: 3 }],
    lastScaledAt: {},
    inFlight: 0,
    freezeWindows: [],
    now,
    ...overrides,
  };
}

describe('guardrails', () => {
  it('allows a person to scale within the rules outside production', () => {
    const result = evaluateGuardrails(facts(), defaultGuardrailPolicy);
    expect(result.verdict).toBe('allow');
    expect(result.capacityChangePercent).toBe(50);
    expect(result.reasons).toEqual([]);
  });

  it('asks for approval in production and denies going under two replicas there', () => {
    const production = { environment: { name: 'prod', production: true } };
    expect(evaluateGuardrails(facts(production), defaultGuardrailPolicy)).toMatchObject({
      verdict: 'needs_approval',
      reasons: ["writes in production environment prod need another person's approval"],
    });
    const down = evaluateGuardrails(
      facts({
        ...production,
        replicaChanges: [{ component: 'cart', environment: 'prod', before: 3, after: 1 }],
      }),
      defaultGuardrailPolicy,
    );
    expect(down.verdict).toBe('deny');
    expect(down.reasons.join()).toContain('production keeps at least 2 replicas');
  });

  it('denies more than 3× in one action, counting from 1 when restoring from 0', () => {
    const change = (before: number, after: number) =>
      evaluateGuardrails(
        facts({ replicaChanges: [{ component: 'cart', environment: 'dev', before, after }] }),
        defaultGuardrailPolicy,
      ).verdict;
    expect(change(2, 6)).toBe('allow');
    expect(change(2, 7)).toBe('deny');
    expect(change(0, 3)).toBe('allow');
    expect(change(0, 4)).toBe('deny');
  });

  it('denies scaling the same binding again within the cooldown, and when too much is in flight', () => {
    const recent = evaluateGuardrails(
      facts({ lastScaledAt: { 'cart@dev': '2026-11-21T11:58:00Z' } }),
      defaultGuardrailPolicy,
    );
    expect(recent.verdict).toBe('deny');
    expect(recent.reasons.join()).toContain('next scaling from 2026-11-21T12:03:00.000Z');
    expect(
      evaluateGuardrails(
        facts({ lastScaledAt: { 'cart@prod': '2026-11-21T11:58:00Z' } }),
        defaultGuardrailPolicy,
      ).verdict,
    ).toBe('allow');
    expect(evaluateGuardrails(facts({ inFlight: 3 }), defaultGuardrailPolicy).verdict).toBe('deny');
  });

  it('lets a person approve undoing the last scaling within the cooldown', () => {
    // cart@dev went 3 → 2 at 11:58; going back to 3 now is a revert, not flapping.
    const revert = evaluateGuardrails(
      facts({ lastScaledAt: { 'cart@dev': '2026-11-21T11:58:00Z' }, lastScaledFrom: { 'cart@dev': 3 } }),
      defaultGuardrailPolicy,
    );
    expect(revert.verdict).toBe('needs_approval');
    expect(revert.checks).toContainEqual(
      expect.objectContaining({ name: 'cooldown', outcome: 'needs_approval' }),
    );
    const further = evaluateGuardrails(
      facts({
        lastScaledAt: { 'cart@dev': '2026-11-21T11:58:00Z' },
        lastScaledFrom: { 'cart@dev': 1 },
      }),
      defaultGuardrailPolicy,
    );
    expect(further.verdict).toBe('deny');
  });

  it('denies every write in a change-freeze window that covers it', () => {
    const window = {
      name: 'black-friday',
      namespaces: ['shop'],
      start: '2026-11-21T00:00:00Z',
      end: '2026-11-22T00:00:00Z',
    };
    const frozen = evaluateGuardrails(facts({ freezeWindows: [window] }), defaultGuardrailPolicy);
    expect(frozen).toMatchObject({
      verdict: 'deny',
      reasons: ["change freeze 'black-friday' until 2026-11-22T00:00:00Z"],
    });
    expect(
      evaluateGuardrails(
        facts({ freezeWindows: [{ ...window, namespaces: ['bank'] }] }),
        defaultGuardrailPolicy,
      ).verdict,
    ).toBe('allow');
    expect(
      evaluateGuardrails(
        facts({ freezeWindows: [{ ...window, end: '2026-11-21T11:00:00Z' }] }),
        defaultGuardrailPolicy,
      ).verdict,
    ).toBe('allow');
  });

  it('holds agents to the blast radius of their autonomy level, and level 1–2 agents to approval', () => {
    const agent = (autonomy: 1 | 2 | 3, after: number) =>
      evaluateGuardrails(
        facts({
          principal: { kind: 'agent', autonomy },
          replicaChanges: [{ component: 'cart', environment: 'dev', before: 10, after }],
        }),
        defaultGuardrailPolicy,
      );
    expect(agent(3, 12).verdict).toBe('allow');
    expect(agent(3, 14)).toMatchObject({
      verdict: 'deny',
      reasons: ['capacity change 40 % is beyond ±30 %'],
    });
    expect(agent(2, 14).verdict).toBe('needs_approval');
    expect(agent(2, 16).verdict).toBe('deny');
    expect(agent(1, 11).reasons).toEqual(['autonomy level 1 agents only advise: a person must approve']);
    // People see the blast radius but are not held to an agent's limits.
    expect(
      evaluateGuardrails(
        facts({ replicaChanges: [{ component: 'cart', environment: 'dev', before: 10, after: 20 }] }),
        defaultGuardrailPolicy,
      ).verdict,
    ).toBe('allow');
  });

  it('layers configuration: defaults < global < */env < namespace < namespace/env', () => {
    const config = configSchema.parse({
      governance: {
        guardrails: { cooldownSeconds: 60 },
        overrides: {
          '*/prod': { minProductionReplicas: 3, cooldownSeconds: 600 },
          shop: { maxConcurrentActions: 9 },
          'shop/prod': { supervised: { maxCapacityChangePercent: 100 } },
        },
      },
    }).governance;
    expect(resolvePolicy(config, 'bank', 'dev')).toMatchObject({
      cooldownSeconds: 60,
      minProductionReplicas: 2,
      maxConcurrentActions: 3,
    });
    expect(resolvePolicy(config, 'shop', 'prod')).toMatchObject({
      cooldownSeconds: 600,
      minProductionReplicas: 3,
      maxConcurrentActions: 9,
      supervised: { maxCapacityChangePercent: 100, maxTenants: 3 },
    });
  });
});
