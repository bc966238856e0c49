// The governance gateway: all that edges (REST, MCP, CLI, agents, demo) get of governance. It authenticates, hands
// out per-caller authorized services, and answers the few identity questions an edge has to answer itself (its
// keys, OAuth client credentials, who a caller is). The platform, the stores, the token service, the authorizer
// and the audit log stay behind it: edges may import this module and its types, and lint refuses the rest
// (eslint-rules/edge-imports.js).
import type { Config } from '../config/config-schema.js';
import type { Action } from './authz/actions.js';
import type { Governance } from './governance.js';
import type { GovernedServices } from './governed-services.js';
import type { IssuedToken, TokenService } from './identity/token-service.js';
import { AuditTrail, type AuditDecision } from './audit/audit-log.js';
import type { Caller, Grant, Principal } from './principal.js';

/** One request as an edge audits it (see Governance.recordAtEdge). */
export interface EdgeRecord {
  /** Undefined when the request carried no valid token. */
  readonly principal: Principal | undefined;
  readonly client: string;
  readonly edge: string;
  readonly action: string;
  readonly namespace: string;
  readonly target: string;
  /** What the request asked for; only its digest is kept. */
  readonly args: unknown;
  readonly decision: AuditDecision;
  readonly reasons: readonly string[];
  readonly result: string;
  readonly details?: unknown;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly trail?: AuditTrail | undefined;
}

/** What an edge may know of the configuration: the audience and issuers of the tokens it accepts. */
export type GatewayAuth = Pick<Config['auth'], 'audience' | 'issuer' | 'externalIssuers'>;

export class GovernanceGateway {
  readonly #governance: Governance;

  constructor(governance: Governance) {
    this.#governance = governance;
  }

  get auth(): GatewayAuth {
    const { audience, issuer, externalIssuers } = this.#governance.options.config.auth;
    return { audience, issuer, externalIssuers };
  }

  /** The principal of a bearer token accepted by an endpoint with these audiences (401 otherwise). */
  authenticate(authorization: string | undefined, audiences: readonly string[]): Promise<Principal> {
    return this.#governance.authenticate(authorization, audiences);
  }

  /** The caller's services: every call authorized as this caller and audited. Refuses a principal not minted. */
  forCaller(caller: Caller): GovernedServices {
    return this.#governance.forCaller(caller);
  }

  /** The namespaces a telemetry sender may write into (refusals audited). */
  ingestPermit(authorization: string | undefined, client: string): Promise<'*' | ReadonlySet<string>> {
    return this.#governance.ingestPermit(authorization, client);
  }

  /** Audits a request an edge refused before any service ran (unauthenticated, or no such action anywhere). */
  recordDenial(
    request: Parameters<Governance['recordDenial']>[0],
    reason: string,
    started: number,
  ): Promise<void> {
    return this.#governance.recordDenial(request, reason, started);
  }

  /** This server's own URL (`server.publicUrl`, or the listen address once listening): never a request's Host. */
  get serverUrl(): string {
    return this.#governance.tokens.serverUrl;
  }

  /** The issuer of this server's own tokens. */
  get issuer(): string {
    return this.#governance.tokens.issuer;
  }

  /**
   * Audits a request as its edge saw it, for what no service recorded: refused before it reached one (its shape,
   * an unknown route or tool, invalid arguments) or answered by the edge alone. Resolves once committed.
   */
  recordAtEdge(record: EdgeRecord): Promise<void> {
    return this.#governance.recordAtEdge(record);
  }

  /** A request's audit trail: counts the records written for it, so the edge knows whether to write one. */
  newTrail(): AuditTrail {
    return new AuditTrail();
  }

  /** The public keys of this server's tokens (JWKS). */
  jwks(): ReturnType<TokenService['jwks']> {
    return this.#governance.tokens.jwks();
  }

  /** OAuth 2.0 client credentials: a token for a service account's id and secret (401 otherwise). */
  clientCredentials(clientId: string, clientSecret: string): Promise<IssuedToken> {
    return this.#governance.tokens.clientCredentials(clientId, clientSecret);
  }

  /** The secret that keys MCP request state (confirmations) to this server. */
  get requestStateSecret(): Buffer {
    return this.#governance.tokens.requestStateSecret;
  }

  /** A principal's grants: its token's and its RoleBindings'. */
  grantsOf(principal: Principal): readonly Grant[] {
    return this.#governance.authorizer.grantsOf(principal);
  }

  /** The namespaces where a principal may do an action (`*` for all). */
  namespacesFor(principal: Principal, action: Action): '*' | string[] {
    return this.#governance.authorizer.namespacesFor(principal, action);
  }
}
