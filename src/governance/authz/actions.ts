// The closed set of actions. Every REST route and MCP tool maps to exactly one of them (tables typed
// Record<RouteId | ToolName, Action>), and every role is a set of actions, some limited to non-production.
import type { Role } from '../principal.js';

export const actionInfo = {
  'platform.read': { write: false, summary: 'read resources, status, events, releases, builds' },
  'telemetry.read': { write: false, summary: 'query logs, metrics, traces, errors, dependencies' },
  'alerts.read': { write: false, summary: 'read alerts and their history' },
  'proposals.read': { write: false, summary: 'read proposals' },
  'audit.read': { write: false, summary: 'read and verify the audit log' },
  'telemetry.ingest': { write: false, summary: 'send telemetry (with a token for the otlp audience)' },
  'rca.run': { write: false, summary: 'start root-cause investigations and store their reports' },
  'resources.apply': { write: true, summary: 'create or change projects, components, bindings, workflows' },
  'resources.delete': { write: true, summary: 'delete resources' },
  'alerts.manage': { write: true, summary: 'create or change AlertRules and SLOs' },
  'alerts.ingest': { write: true, summary: 'post alerts to the Alertmanager webhook' },
  'component.scale': { write: true, summary: 'change replica counts' },
  'component.restart': { write: true, summary: 'restart replicas' },
  'component.rollback': { write: true, summary: 'roll back to an earlier release' },
  'component.update': { write: true, summary: 'change a release binding (release, resources, env, state)' },
  'release.promote': { write: true, summary: 'promote a release to the next environment' },
  'workflow.run': { write: true, summary: 'start builds' },
  'node.cordon': { write: true, summary: 'cordon a node' },
  'proposal.approve': { write: true, summary: 'approve or reject proposals of others' },
  'rbac.manage': { write: true, summary: 'create or change RoleBindings' },
  'platform.manage': { write: true, summary: 'create or change namespaces, environments, pipelines' },
} as const satisfies Record<string, { write: boolean; summary: string }>;

export type Action = keyof typeof actionInfo;
export const actions = Object.keys(actionInfo) as Action[];

export function isWriteAction(action: Action): boolean {
  return actionInfo[action].write;
}

/** `any`: in every environment; `non-production`: only where the target environment is not production. */
export type EnvironmentCondition = 'any' | 'non-production';

export interface RoleDefinition {
  readonly summary: string;
  /** Roles whose actions this one includes. */
  readonly inherits: readonly Role[];
  readonly allow: readonly (readonly [Action, EnvironmentCondition])[];
}

const reads: RoleDefinition['allow'] = [
  ['platform.read', 'any'],
  ['telemetry.read', 'any'],
  ['alerts.read', 'any'],
  ['proposals.read', 'any'],
  // Only tokens issued for the `otlp` audience reach the receiver: an API token of any role cannot send.
  ['telemetry.ingest', 'any'],
];

const changes: readonly Action[] = [
  'resources.apply',
  'resources.delete',
  'component.scale',
  'component.restart',
  'component.rollback',
  'component.update',
  'release.promote',
  'workflow.run',
];

export const roleDefinitions: Readonly<Record<Role, RoleDefinition>> = {
  viewer: { summary: 'reads everything in scope', inherits: [], allow: reads },
  developer: {
    summary: 'viewer + changes and builds outside production, root-cause investigations',
    inherits: ['viewer'],
    allow: [...changes.map((action) => [action, 'non-production'] as const), ['rca.run', 'any']],
  },
  operator: {
    summary: 'developer + changes in production, alert rules, approvals, audit',
    inherits: ['developer'],
    allow: [
      ...changes.map((action) => [action, 'any'] as const),
      ['alerts.manage', 'any'],
      ['proposal.approve', 'any'],
      ['audit.read', 'any'],
    ],
  },
  'platform-admin': {
    summary: 'everything, including RoleBindings, namespaces, environments and nodes',
    inherits: ['operator'],
    allow: [
      ['rbac.manage', 'any'],
      ['platform.manage', 'any'],
      ['node.cordon', 'any'],
      ['alerts.ingest', 'any'],
    ],
  },
  'rca-agent': {
    summary: 'reads; investigates alerts; proposes remediations (never approves, never runs them itself)',
    inherits: ['viewer'],
    allow: [
      ['rca.run', 'any'],
      ['component.scale', 'any'],
      ['component.restart', 'any'],
      ['component.rollback', 'any'],
      ['component.update', 'any'],
    ],
  },
  'sre-agent': {
    summary: 'reads; proposes and, at autonomy level 3 within guardrails, runs scaling and restarts',
    inherits: ['viewer'],
    allow: [
      ['rca.run', 'any'],
      ['component.scale', 'any'],
      ['component.restart', 'any'],
      ['component.rollback', 'any'],
      ['component.update', 'any'],
      ['alerts.ingest', 'any'],
    ],
  },
};
