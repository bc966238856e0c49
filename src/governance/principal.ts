// Who is asking, and through what. Every governed call carries a Caller; nothing below the edges guesses it.
import { z } from 'zod';
import type { AuditTrail } from './audit/audit-log.js';

export const roles = ['viewer', 'developer', 'operator', 'platform-admin', 'rca-agent', 'sre-agent'] as const;
export type Role = (typeof roles)[number];
export const roleSchema = z.enum(roles);

/** Agents act on their own identity; humans and service accounts on theirs. Agents never approve. */
export type PrincipalKind = 'user' | 'service' | 'agent';

/**
 * Where a role applies: a namespace (or `*` for every namespace), optionally narrowed to a project, component or
 * environment. Unset levels mean "all".
 */
export interface Scope {
  readonly namespace: string;
  readonly project?: string | undefined;
  readonly component?: string | undefined;
  readonly environment?: string | undefined;
}

export interface Grant {
  readonly role: Role;
  readonly scope: Scope;
}

/** What a principal claims: the fields of a verified token. */
export interface PrincipalClaims {
  /** `sub` of the token: a user name, a service account's client id, or an agent's name. */
  readonly subject: string;
  readonly kind: PrincipalKind;
  /** Grants carried by the token itself; RoleBinding resources add more at authorization time. */
  readonly grants: readonly Grant[];
  /** 1 advise only, 2 supervised, 3 autonomous (agents only; humans are treated as supervised). */
  readonly autonomy: 1 | 2 | 3;
  readonly issuer: string;
  readonly tokenId?: string | undefined;
}

declare const issuedByIdentity: unique symbol;

/**
 * A principal identity vouched for: only src/governance/identity mints one (from a verified token), and the
 * gateway refuses a caller whose principal it did not mint. An object literal is not a Principal.
 */
export type Principal = PrincipalClaims & { readonly [issuedByIdentity]: true };

export type Edge = 'rest' | 'mcp' | 'cli' | 'agent' | 'system' | 'otlp';

export interface Caller {
  readonly principal: Principal;
  readonly edge: Edge;
  /** The client software: MCP clientInfo name/version, `opspilot-cli/0.1.0`, a user agent. */
  readonly client: string;
  /** Counts the audit records of the request it arrived with (REST), so that none goes unaudited. */
  readonly trail?: AuditTrail | undefined;
}

export function isAgent(principal: Principal): boolean {
  return principal.kind === 'agent';
}

/** `shop`, `shop/checkout`, `shop/checkout/cart@prod`: how a scope reads in messages and audit records. */
/**
 * The scope an audit record's target names: formatScope's form (`ns`, `ns/project`, `ns/*\/component`,
 * `ns/project/component`, each with `@env` or not) or a proposal's (`ns/project/component/env`, `*` where
 * unset). Undefined for anything else.
 */
export function parseScope(text: string): Scope | undefined {
  const star = (value: string | undefined) => (value === '*' ? undefined : value);
  const scope = (namespace: string, project?: string, component?: string, environment?: string): Scope => ({
    namespace,
    ...(star(project) === undefined ? {} : { project }),
    ...(star(component) === undefined ? {} : { component }),
    ...(star(environment) === undefined ? {} : { environment }),
  });
  const proposal = /^([\w.-]+)\/([\w.*-]+)\/([\w.*-]+)\/([\w.*-]+)$/.exec(text);
  if (proposal?.[1] !== undefined) return scope(proposal[1], proposal[2], proposal[3], proposal[4]);
  const match = /^([\w.-]+)(?:\/([\w.*-]+))?(?:\/([\w.-]+))?(?:@([\w.-]+))?$/.exec(text);
  if (match?.[1] === undefined) return undefined;
  const [, namespace, first, second, environment] = match;
  return second === undefined
    ? scope(namespace, first, undefined, environment)
    : scope(namespace, first, second, environment);
}

export function formatScope(scope: Scope): string {
  let text = scope.namespace;
  if (scope.project !== undefined) text += `/${scope.project}`;
  if (scope.component !== undefined) text += `${scope.project === undefined ? '/*' : ''}/${scope.component}`;
  if (scope.environment !== undefined) text += `@${scope.environment}`;
  return text;
}
