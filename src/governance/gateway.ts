// The governance gateway: all that edges (REST, MCP, CLI, agents, demo) get of governance. It authenticates, hands
// out per-caller authorized services, and answers the few identity questions an edge has to answer itself (its
// keys, OAuth client credentials, who a caller is). The platform, the stores, the token service, the authorizer
// and the audit log stay behind it: edges may import this module and its types, and lint refuses the rest
// (eslint.config.js, `edgeImports`).
import type { Config } from '../config/config-schema.js';
import type { Action } from './authz/actions.js';
import type { Governance } from './governance.js';
import type { GovernedServices } from './governed-services.js';
import type { IssuedToken, TokenService } from './identity/token-service.js';
import { digest } from '../core/canonical-json.js';
import type { Caller, Edge, Grant, Principal } from './principal.js';

/** A request an edge refused before any governed service ran. */
export interface EdgeRefusal {
  readonly caller: Caller | undefined;
  /** Without a caller: where the request came in and with what client. */
  readonly edge: Edge;
  readonly client?: string | undefined;
  readonly action: string;
  /** The namespace the request named, when it is a valid name ('' otherwise). */
  readonly namespace: string;
  readonly target: string;
  /** The request's arguments (digested, never stored). */
  readonly args: unknown;
  readonly reason: string;
  /** Why, as a short code: `unknown_tool`, `invalid_params`, `invalid_request`, … */
  readonly result: string;
  /** `performance.now()` when the request arrived. */
  readonly started: number;
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
   * Audits a request an edge refused itself (an unknown tool, invalid arguments, a body it cannot read, …), with
   * the caller when there is one. Resolves once the record is committed (fail closed).
   */
  recordRefusal(refusal: EdgeRefusal): Promise<void> {
    const { caller } = refusal;
    return this.#governance.audit
      .append({
        principal: caller?.principal.subject ?? '(unauthenticated)',
        principalKind: caller?.principal.kind ?? 'anonymous',
        client: caller?.client ?? refusal.client ?? 'unknown',
        edge: caller?.edge ?? refusal.edge,
        action: refusal.action,
        namespace: refusal.namespace,
        target: refusal.target,
        argsDigest: digest(refusal.args ?? null),
        decision: 'deny',
        reasons: [refusal.reason],
        result: refusal.result,
        latencyMs: performance.now() - refusal.started,
      })
      .then(() => undefined);
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
