// The platform's own actors. They hold tokens issued by identity like any agent or service account, and reach the
// platform through the gateway with them: their rights are their grants, their actions are audited under their
// names, and guardrails and approvals treat them as what they are (the RCA agent is a supervised agent).
import type { Grant, PrincipalKind } from '../principal.js';
import type { IssuedToken, TokenService } from './token-service.js';

export interface SystemActor {
  readonly subject: string;
  readonly kind: PrincipalKind;
  readonly autonomy: 1 | 2 | 3;
  readonly grants: readonly Grant[];
}

/** Investigates alerts and proposes remediations; never approves (autonomy 2: a person approves). */
export const rcaAgentActor: SystemActor = {
  subject: 'rca-agent',
  kind: 'agent',
  autonomy: 2,
  grants: [{ role: 'rca-agent', scope: { namespace: '*' } }],
};

/** The demo shop's fault injector (`--demo` only): an operator of the demo namespace whose changes need approval. */
export const demoChaosActor = (namespace: string): SystemActor => ({
  subject: 'demo:chaos',
  kind: 'service',
  autonomy: 2,
  grants: [{ role: 'operator', scope: { namespace } }],
});

/** How long a system actor's token lives; it is renewed at half its life. */
const actorTokenTtl = '1h';

/** A system actor's bearer token, issued at first use and renewed before it expires. */
export class ActorToken {
  private current: { readonly token: string; readonly renewAtMs: number } | undefined;

  constructor(
    private readonly tokens: TokenService,
    private readonly actor: SystemActor,
    private readonly now: () => number,
  ) {}

  get subject(): string {
    return this.actor.subject;
  }

  /** `Bearer <token>`, for Governance.authenticate. */
  async authorization(): Promise<string> {
    if (this.current === undefined || this.now() >= this.current.renewAtMs) {
      const issued: IssuedToken = await this.tokens.issue({
        subject: this.actor.subject,
        kind: this.actor.kind,
        autonomy: this.actor.autonomy,
        ttl: actorTokenTtl,
        grants: this.actor.grants.map((grant) => ({ role: grant.role, scope: grant.scope })),
      });
      this.current = { token: issued.token, renewAtMs: this.now() + (issued.expiresIn * 1000) / 2 };
    }
    return `Bearer ${this.current.token}`;
  }
}
