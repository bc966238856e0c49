// Authorization with Casbin: roles (with inheritance) are policies, grants are (role, scope) pairs from the
// token and from RoleBinding resources, and the matcher adds the scope hierarchy and the production condition.
import { newEnforcer, newModelFromString, type Enforcer } from 'casbin';
import {
  formatScope,
  type Grant,
  type Principal,
  type PrincipalKind,
  type Role,
  type Scope,
} from '../principal.js';
import { actionInfo, roleDefinitions, type Action } from './actions.js';

// r.grant is one grant's scope pattern; r.target the scope acted on. Both are namespace|project|component|env.
const model = `
[request_definition]
r = role, grant, target, act, env

[policy_definition]
p = role, act, env

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.role, p.role) && r.act == p.act && scopeMatch(r.target, r.grant) && (p.env == "any" || r.env != "production")
`;

/** What an action is applied to. `namespace` is empty for cluster-wide things (environments, namespaces). */
export interface Target {
  readonly namespace: string;
  readonly project?: string | undefined;
  readonly component?: string | undefined;
  readonly environment?: string | undefined;
  /** Whether `environment` is a production environment. */
  readonly production?: boolean | undefined;
  /**
   * What the caller named (`Component shop/web`). A refusal for scope names only this, never what was found
   * under that name (its project, its environments), so that it reads the same whether or not it exists.
   */
  readonly asked?: string | undefined;
}

export interface Decision {
  readonly allowed: boolean;
  /** Which grant allowed it, or why nothing did. */
  readonly reason: string;
}

/** A RoleBinding, flattened: one subject, one role, one scope. */
export interface BindingGrant {
  readonly subject: string;
  /** The kind of principal the binding names (a User binding does not grant an agent of the same name). */
  readonly kind: PrincipalKind;
  /** Only principals of this token issuer; undefined: any configured issuer. */
  readonly issuer?: string | undefined;
  readonly role: Role;
  readonly scope: Scope;
  /** `namespace/name` of the RoleBinding, for reasons. */
  readonly source: string;
}

const clusterSegment = '(cluster)';

export class Authorizer {
  private bindings = new Map<string, BindingGrant[]>();
  /**
   * Casbin decisions by request. Policies never change after create(), and a request names the grant's scope,
   * so an entry stays right when RoleBindings change; the map is only bounded.
   */
  private readonly decisions = new Map<string, boolean>();

  private constructor(private readonly enforcer: Enforcer) {}

  static async create(): Promise<Authorizer> {
    const enforcer = await newEnforcer(newModelFromString(model));
    await enforcer.addFunction('scopeMatch', (target: string, grant: string) => scopeMatch(target, grant));
    for (const [role, definition] of Object.entries(roleDefinitions)) {
      for (const parent of definition.inherits) await enforcer.addGroupingPolicy(role, parent);
      for (const [action, condition] of definition.allow) {
        await enforcer.addPolicy(role, action, condition);
      }
    }
    return new Authorizer(enforcer);
  }

  /** Replaces the RoleBinding grants (called whenever RoleBindings change). */
  setBindings(grants: readonly BindingGrant[]): void {
    const bySubject = new Map<string, BindingGrant[]>();
    for (const grant of grants) {
      const list = bySubject.get(grant.subject) ?? [];
      list.push(grant);
      bySubject.set(grant.subject, list);
    }
    this.bindings = bySubject;
  }

  /** The token's grants plus the RoleBindings naming the subject. */
  grantsOf(principal: Principal): Grant[] {
    const fromBindings = (this.bindings.get(principal.subject) ?? []).filter(
      (grant) =>
        grant.kind === principal.kind && (grant.issuer === undefined || grant.issuer === principal.issuer),
    );
    return [...principal.grants, ...fromBindings.map(({ role, scope }) => ({ role, scope }))];
  }

  check(principal: Principal, action: Action, target: Target): Decision {
    const grants = this.grantsOf(principal);
    const targetKey = targetPattern(target);
    const environment = target.production === true ? 'production' : 'non-production';
    for (const grant of grants) {
      if (this.enforce(grant.role, grantPattern(grant.scope), targetKey, action, environment)) {
        return { allowed: true, reason: `${grant.role} on ${formatScope(grant.scope)}` };
      }
    }
    return { allowed: false, reason: this.denial(principal, grants, action, target) };
  }

  /** Whether some grant allows the action anywhere (within `namespace`, when given): tool lists, list gates. */
  permitsSomewhere(principal: Principal, action: Action, namespace?: string): boolean {
    return this.grantsOf(principal).some(
      (grant) =>
        (namespace === undefined || grant.scope.namespace === '*' || grant.scope.namespace === namespace) &&
        this.roleAllows(grant.role, action),
    );
  }

  /** Namespaces where the action is allowed somewhere; `*` when every namespace is. */
  namespacesFor(principal: Principal, action: Action): '*' | string[] {
    const namespaces = new Set<string>();
    for (const grant of this.grantsOf(principal)) {
      if (!this.roleAllows(grant.role, action)) continue;
      if (grant.scope.namespace === '*') return '*';
      namespaces.add(grant.scope.namespace);
    }
    return [...namespaces].sort();
  }

  /** Whether the role allows the action in at least some environment. */
  roleAllows(role: Role, action: Action): boolean {
    return this.enforce(role, '*|*|*|*', '*|-|-|-', action, 'non-production');
  }

  private enforce(role: Role, grant: string, target: string, action: Action, environment: string): boolean {
    const key = `${role}\n${grant}\n${target}\n${action}\n${environment}`;
    let allowed = this.decisions.get(key);
    if (allowed === undefined) {
      allowed = this.enforcer.enforceSync(role, grant, target, action, environment);
      if (this.decisions.size >= 100_000) this.decisions.clear();
      this.decisions.set(key, allowed);
    }
    return allowed;
  }

  private denial(principal: Principal, grants: readonly Grant[], action: Action, target: Target): string {
    const where = target.asked ?? describeTarget(target);
    if (grants.length === 0) return `${principal.subject} has no roles; ask an admin for a RoleBinding`;
    const withAction = grants.filter((grant) => this.roleAllows(grant.role, action));
    if (withAction.length === 0) {
      const held = [...new Set(grants.map((grant) => grant.role))].join(', ');
      return `no role of ${principal.subject} (${held}) may ${actionInfo[action].summary}`;
    }
    const inScope = withAction.filter((grant) =>
      scopeMatch(targetPattern(target), grantPattern(grant.scope)),
    );
    if (inScope.length > 0 && target.production === true) {
      return `${inScope.map((grant) => grant.role).join(', ')} may not ${action} on ${where} in production environment ${target.environment ?? ''}`;
    }
    const scopes = withAction.map((grant) => formatScope(grant.scope)).join(', ');
    return `${action} on ${where} is outside the scopes of ${principal.subject} (${scopes})`;
  }
}

function grantPattern(scope: Scope): string {
  return [scope.namespace, scope.project ?? '*', scope.component ?? '*', scope.environment ?? '*'].join('|');
}

function targetPattern(target: Target): string {
  return [
    target.namespace === '' ? clusterSegment : target.namespace,
    target.project ?? '-',
    target.component ?? '-',
    target.environment ?? '-',
  ].join('|');
}

/** Each segment of the grant is `*` or equal to the target's; `-` in the target (not specific) only matches `*`. */
export function scopeMatch(target: string, grant: string): boolean {
  const targetSegments = target.split('|');
  const grantSegments = grant.split('|');
  if (targetSegments.length !== grantSegments.length) return false;
  return grantSegments.every((segment, index) => segment === '*' || segment === targetSegments[index]);
}

export function describeTarget(target: Target): string {
  if (target.namespace === '') return 'the whole platform';
  return formatScope({
    namespace: target.namespace,
    project: target.project,
    component: target.component,
    environment: target.environment,
  });
}
