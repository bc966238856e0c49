// Guardrails: a pure function from the facts of a proposed change to a verdict (allow | needs_approval |
// deny) with the reason for every check. Defaults follow the SLA blueprint (docs/governance.md).
import type { Config } from '../../config/config-schema.js';
import type { Action } from '../authz/actions.js';
import type { PrincipalKind } from '../principal.js';

export interface BlastRadiusLimits {
  readonly maxTenants: number;
  readonly maxCapacityChangePercent: number;
  readonly maxServices: number;
  readonly rollbackBudgetSeconds: number;
}

export interface GuardrailPolicy {
  readonly maxScaleUpFactor: number;
  readonly minProductionReplicas: number;
  readonly cooldownSeconds: number;
  readonly maxConcurrentActions: number;
  readonly productionApproval: boolean;
  readonly autonomousInProduction: boolean;
  /** Humans and autonomy level 1–2 agents. */
  readonly supervised: BlastRadiusLimits;
  /** Autonomy level 3 agents. */
  readonly autonomous: BlastRadiusLimits;
}

export const defaultGuardrailPolicy: GuardrailPolicy = {
  maxScaleUpFactor: 3,
  minProductionReplicas: 2,
  cooldownSeconds: 300,
  maxConcurrentActions: 3,
  productionApproval: true,
  autonomousInProduction: false,
  supervised: { maxTenants: 3, maxCapacityChangePercent: 50, maxServices: 5, rollbackBudgetSeconds: 900 },
  autonomous: { maxTenants: 1, maxCapacityChangePercent: 30, maxServices: 2, rollbackBudgetSeconds: 300 },
};

type GovernanceConfig = Config['governance'];
type PolicyOverride = GovernanceConfig['guardrails'];

/** Defaults < `governance.guardrails` < overrides `*\/env` < `namespace` < `namespace/env`. */
export function resolvePolicy(
  config: GovernanceConfig,
  namespace: string,
  environment: string | undefined,
): GuardrailPolicy {
  const layers: (PolicyOverride | undefined)[] = [
    config.guardrails,
    environment === undefined ? undefined : config.overrides[`*/${environment}`],
    config.overrides[namespace],
    environment === undefined ? undefined : config.overrides[`${namespace}/${environment}`],
  ];
  let policy = defaultGuardrailPolicy;
  for (const layer of layers) {
    if (layer === undefined) continue;
    const { supervised, autonomous, ...scalars } = layer;
    policy = {
      ...policy,
      ...definedOnly(scalars),
      supervised: { ...policy.supervised, ...definedOnly(supervised ?? {}) },
      autonomous: { ...policy.autonomous, ...definedOnly(autonomous ?? {}) },
    };
  }
  return policy;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

export interface ReplicaChange {
  readonly component: string;
  readonly environment: string;
  readonly before: number;
  readonly after: number;
}

export interface FreezeWindow {
  readonly name: string;
  readonly namespaces?: readonly string[] | undefined;
  readonly environments?: readonly string[] | undefined;
  readonly start: string;
  readonly end: string;
}

/** Everything the checks need, gathered by the proposal service. */
export interface ChangeFacts {
  readonly action: Action;
  readonly principal: { readonly kind: PrincipalKind; readonly autonomy: 1 | 2 | 3 };
  readonly namespace: string;
  readonly environment?: { readonly name: string; readonly production: boolean } | undefined;
  /** Namespaces (tenants) the change touches. */
  readonly tenants: readonly string[];
  /** Components (services) the change touches. */
  readonly services: readonly string[];
  readonly replicaChanges: readonly ReplicaChange[];
  /** Last executed scaling action per `component@environment`, ISO time. */
  readonly lastScaledAt: Readonly<Record<string, string>>;
  /** Replicas before that last scaling, per `component@environment`, when known. */
  readonly lastScaledFrom?: Readonly<Record<string, number>>;
  /** Proposals of the namespace being executed or verified now. */
  readonly inFlight: number;
  readonly freezeWindows: readonly FreezeWindow[];
  readonly now: Date;
}

export type Verdict = 'allow' | 'needs_approval' | 'deny';

export interface GuardrailCheck {
  readonly name: string;
  readonly outcome: Verdict;
  readonly reason: string;
}

export interface GuardrailResult {
  readonly verdict: Verdict;
  readonly checks: readonly GuardrailCheck[];
  /** Reasons of the checks that decided the verdict. */
  readonly reasons: readonly string[];
  readonly capacityChangePercent: number | null;
  readonly rollbackBudgetSeconds: number;
  readonly autonomyLevel: 1 | 2 | 3;
}

export function evaluateGuardrails(facts: ChangeFacts, policy: GuardrailPolicy): GuardrailResult {
  const checks: GuardrailCheck[] = [];
  const check = (name: string, outcome: Verdict, reason: string): void => {
    checks.push({ name, outcome, reason });
  };
  const agent = facts.principal.kind === 'agent';
  const level = agent ? facts.principal.autonomy : 2;
  const limits = agent && level === 3 ? policy.autonomous : policy.supervised;
  // Blast-radius limits belong to autonomy levels, i.e. to agents; for people they are shown, not enforced
  // (people get the always-on rules, production approval and change freezes).
  const overLimit: Verdict = agent ? 'deny' : 'allow';
  const production = facts.environment?.production === true;
  const environmentName = facts.environment === undefined ? '' : facts.environment.name;

  const freezes = facts.freezeWindows.filter((window) => freezeCovers(window, facts));
  for (const window of freezes) {
    check('change-freeze', 'deny', `change freeze '${window.name}' until ${window.end}`);
  }
  if (freezes.length === 0) check('change-freeze', 'allow', 'no change freeze is active');

  if (facts.tenants.length > limits.maxTenants) {
    check(
      'blast-radius.tenants',
      overLimit,
      `${facts.tenants.length} tenants affected; the limit is ${limits.maxTenants}`,
    );
  } else {
    check('blast-radius.tenants', 'allow', `${facts.tenants.length} of at most ${limits.maxTenants} tenants`);
  }
  if (facts.services.length > limits.maxServices) {
    check(
      'blast-radius.services',
      overLimit,
      `${facts.services.length} services affected; the limit is ${limits.maxServices}`,
    );
  } else {
    check(
      'blast-radius.services',
      'allow',
      `${facts.services.length} of at most ${limits.maxServices} services`,
    );
  }

  const before = facts.replicaChanges.reduce((sum, change) => sum + change.before, 0);
  const after = facts.replicaChanges.reduce((sum, change) => sum + change.after, 0);
  const capacityChangePercent =
    facts.replicaChanges.length === 0
      ? null
      : before === 0
        ? after === 0
          ? 0
          : Infinity
        : ((after - before) / before) * 100;
  if (capacityChangePercent !== null) {
    const shown = Number.isFinite(capacityChangePercent)
      ? `${round(capacityChangePercent)} %`
      : `from 0 to ${after} replicas`;
    // Restoring capacity from zero is recovery, not a blast radius: the scale-up factor check bounds it.
    if (before > 0 && Math.abs(capacityChangePercent) > limits.maxCapacityChangePercent) {
      check(
        'blast-radius.capacity',
        overLimit,
        `capacity change ${shown} is beyond ±${limits.maxCapacityChangePercent} %`,
      );
    } else {
      check('blast-radius.capacity', 'allow', `capacity change ${shown}`);
    }
  }

  for (const change of facts.replicaChanges) {
    const where = `${change.component} in ${change.environment}`;
    const base = Math.max(change.before, 1);
    if (change.after > base * policy.maxScaleUpFactor) {
      check(
        'max-scale-up',
        'deny',
        `${where}: ${change.before} → ${change.after} is more than ${policy.maxScaleUpFactor}× in one action`,
      );
    }
    if (production && change.after < policy.minProductionReplicas && change.after < change.before) {
      check(
        'min-production-replicas',
        'deny',
        `${where}: production keeps at least ${policy.minProductionReplicas} replicas (asked ${change.after})`,
      );
    }
    const key = `${change.component}@${change.environment}`;
    const last = facts.lastScaledAt[key];
    if (change.after !== change.before && last !== undefined) {
      const next = Date.parse(last) + policy.cooldownSeconds * 1000;
      if (next > facts.now.getTime()) {
        // Undoing the last scaling is not flapping: it may be what ends an incident. A person decides.
        const revert = facts.lastScaledFrom?.[key] === change.after;
        check(
          'cooldown',
          revert ? 'needs_approval' : 'deny',
          revert
            ? `${where} was scaled at ${last}; this returns it to ${change.after} replicas within the ${policy.cooldownSeconds} s cooldown: a person must approve`
            : `${where} was scaled at ${last}; next scaling from ${new Date(next).toISOString()} (${policy.cooldownSeconds} s cooldown)`,
        );
      }
    }
  }

  if (facts.inFlight >= policy.maxConcurrentActions) {
    check(
      'concurrent-actions',
      'deny',
      `${facts.inFlight} actions are running in ${facts.namespace}; the limit is ${policy.maxConcurrentActions}, retry when one finishes`,
    );
  }

  if (agent && level === 1) {
    check('autonomy', 'needs_approval', 'autonomy level 1 agents only advise: a person must approve');
  } else if (agent && level === 2) {
    check('autonomy', 'needs_approval', 'autonomy level 2 (supervised): a person must approve');
  }
  if (production && policy.productionApproval) {
    const autonomous = agent && level === 3 && policy.autonomousInProduction;
    if (autonomous) {
      check('production', 'allow', `autonomous agent within level-3 limits in production ${environmentName}`);
    } else {
      check(
        'production',
        'needs_approval',
        `writes in production environment ${environmentName} need another person's approval`,
      );
    }
  }

  const verdict: Verdict = checks.some((item) => item.outcome === 'deny')
    ? 'deny'
    : checks.some((item) => item.outcome === 'needs_approval')
      ? 'needs_approval'
      : 'allow';
  return {
    verdict,
    checks,
    reasons: checks
      .filter((item) => item.outcome === verdict && verdict !== 'allow')
      .map((item) => item.reason),
    /** Null when no replicas change, or when capacity is restored from zero (no percentage exists). */
    capacityChangePercent:
      capacityChangePercent === null || !Number.isFinite(capacityChangePercent)
        ? null
        : round(capacityChangePercent),
    rollbackBudgetSeconds: limits.rollbackBudgetSeconds,
    autonomyLevel: level,
  };
}

function freezeCovers(window: FreezeWindow, facts: ChangeFacts): boolean {
  const now = facts.now.getTime();
  if (now < Date.parse(window.start) || now >= Date.parse(window.end)) return false;
  if (window.namespaces !== undefined && !window.namespaces.includes(facts.namespace)) return false;
  if (window.environments !== undefined) {
    if (facts.environment === undefined || !window.environments.includes(facts.environment.name))
      return false;
  }
  return true;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
