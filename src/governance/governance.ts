// Governance: identity, authorization, guardrails, proposals and audit, built once by the composition root.
// Edges never see this object: they get its GovernanceGateway (gateway.ts), which authenticates and hands out a
// GovernedServices per caller, and lint forbids them the rest.
import type { Config } from '../config/config-schema.js';
import type { Clock } from '../core/clock.js';
import { ForbiddenError, UnauthenticatedError } from '../core/errors.js';
import { digest } from '../core/canonical-json.js';
import type { IdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { PlatformService } from '../platform/platform-service.js';
import type { RoleBindingSpec } from '../platform/resource-kinds.js';
import type { RcaReportService } from '../rca/rca-report-service.js';
import type { StateStore } from '../state/ports.js';
import type { AlertService } from '../telemetry/alerting/alert-service.js';
import type { ChangeFeed } from '../core/change-feed.js';
import type { TelemetryQueryService } from '../telemetry/query/telemetry-query-service.js';
import { PeriodicTask } from '../core/periodic-task.js';
import { AuditLog, type AuditTrail } from './audit/audit-log.js';
import { Authorizer, type BindingGrant } from './authz/authorizer.js';
import { GovernanceGateway, type EdgeRecord } from './gateway.js';
import { GovernedServices } from './governed-services.js';
import { isMinted } from './identity/credentials.js';
import { ActorToken, type SystemActor } from './identity/system-actors.js';
import { TokenService } from './identity/token-service.js';
import type { Caller, Principal, PrincipalKind } from './principal.js';
import { ChangePlanner } from './proposals/change-plans.js';
import { ProposalService } from './proposals/proposal-service.js';

export interface GovernanceOptions {
  readonly config: Config;
  readonly store: StateStore;
  readonly platform: PlatformService;
  readonly telemetry?: TelemetryQueryService | undefined;
  readonly alerts?: AlertService | undefined;
  readonly rcaReports?: RcaReportService | undefined;
  /** What changed, per namespace, for live views (the dashboard's event stream). */
  readonly changes?: ChangeFeed | undefined;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
}

const principalKinds: Record<RoleBindingSpec['subjects'][number]['kind'], PrincipalKind> = {
  User: 'user',
  ServiceAccount: 'service',
  Agent: 'agent',
};

/** The audience of tokens accepted by the OTLP receiver, and only there. */
export const otlpAudience = 'otlp';

export class Governance {
  /**
   * On PostgreSQL other opspilot instances may change RoleBindings: reload them now and then. (A SQLite data dir
   * belongs to one process, which reloads after each of its own changes.)
   */
  private readonly bindingSync: PeriodicTask | undefined;

  private constructor(
    readonly options: GovernanceOptions,
    readonly tokens: TokenService,
    readonly authorizer: Authorizer,
    readonly audit: AuditLog,
    readonly proposals: ProposalService,
    readonly planner: ChangePlanner,
  ) {
    this.bindingSync =
      options.store.dialect === 'postgres'
        ? new PeriodicTask(() => this.syncRoleBindings(), {
            intervalMs: options.config.governance.roleBindingSyncSeconds * 1000,
            onError: (error) => {
              options.logger.warn({ err: error }, 'reloading RoleBindings failed; keeping the previous set');
            },
          })
        : undefined;
  }

  static async create(options: GovernanceOptions): Promise<Governance> {
    const tokens = await TokenService.open({ config: options.config, clock: options.clock });
    const authorizer = await Authorizer.create();
    const audit = await AuditLog.open({
      store: options.store,
      clock: options.clock,
      ids: options.ids,
      logger: options.logger.child({ component: 'audit' }),
      config: options.config,
    });
    const proposals = new ProposalService({
      store: options.store,
      platform: options.platform,
      audit,
      authorizer,
      clock: options.clock,
      ids: options.ids,
      logger: options.logger.child({ component: 'proposals' }),
      config: options.config.governance,
    });
    const planner = new ChangePlanner(options.platform, options.clock);
    const governance = new Governance(options, tokens, authorizer, audit, proposals, planner);
    await governance.syncRoleBindings();
    return governance;
  }

  /** The principal of a bearer token accepted by an endpoint with these audiences. */
  async authenticate(authorization: string | undefined, audiences: readonly string[]): Promise<Principal> {
    if (authorization === undefined || authorization === '') {
      throw new UnauthenticatedError('no bearer token was sent', {
        hint: 'Send `Authorization: Bearer <token>`; `opspilot token create` makes one (the CLI reads OPSPILOT_TOKEN).',
      });
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match?.[1] === undefined) {
      throw new UnauthenticatedError('the Authorization header is not `Bearer <token>`', {
        hint: 'Send `Authorization: Bearer <token>` with a token of `opspilot token create` or POST /oauth/token.',
      });
    }
    return this.tokens.verify(match[1], audiences);
  }

  /** What edges get: authentication and per-caller services, nothing else. */
  readonly gateway: GovernanceGateway = new GovernanceGateway(this);

  /** A caller's services. Only a principal identity minted (from a verified token) is a caller. */
  forCaller(caller: Caller): GovernedServices {
    if (!isMinted(caller.principal)) {
      throw new UnauthenticatedError("the caller's principal was not issued by identity", {
        hint: 'Authenticate a bearer token through the gateway; principals are not built by hand.',
      });
    }
    return new GovernedServices(this, caller);
  }

  /** A bearer token for one of the platform's own actors (the RCA agent, the demo's chaos), renewed as needed. */
  actorToken(actor: SystemActor): ActorToken {
    return new ActorToken(this.tokens, actor, () => this.options.clock.now().getTime());
  }

  /**
   * The namespaces a telemetry sender may write into: its token must be issued for the `otlp` audience (so that no
   * API or MCP token can send) and hold telemetry.ingest there. Refusals are audited; accepted batches are not
   * (they are data, not actions, and would drown the chain).
   */
  async ingestPermit(authorization: string | undefined, client: string): Promise<'*' | ReadonlySet<string>> {
    const started = performance.now();
    const refuse = async (principal: Principal | undefined, error: Error): Promise<never> => {
      await this.recordDenial(
        { principal, client, edge: 'otlp', action: 'telemetry.ingest', target: 'otlp' },
        error.message,
        started,
      );
      throw error;
    };
    let principal: Principal;
    try {
      principal = await this.authenticate(authorization, [otlpAudience]);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      return refuse(
        undefined,
        new UnauthenticatedError(error.message, {
          hint: 'Send a token for the otlp audience (`opspilot token create … --audience otlp`), e.g. OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>".',
        }),
      );
    }
    const namespaces = this.authorizer.namespacesFor(principal, 'telemetry.ingest');
    if (namespaces !== '*' && namespaces.length === 0) {
      return refuse(
        principal,
        new ForbiddenError(`${principal.subject} may not send telemetry to any namespace`, {
          hint: 'Grant its subject a role in the namespaces it reports for.',
        }),
      );
    }
    return namespaces === '*' ? '*' : new Set(namespaces);
  }

  /**
   * Audits a request refused before any service ran: unauthenticated (no principal) or without the action
   * anywhere. Resolves once the record is committed.
   */
  async recordDenial(
    request: {
      readonly principal: Principal | undefined;
      readonly client: string;
      readonly edge: string;
      readonly action: string;
      readonly target: string;
      readonly trail?: AuditTrail | undefined;
    },
    reason: string,
    started: number,
  ): Promise<void> {
    await this.recordAtEdge({
      ...request,
      namespace: '',
      args: null,
      decision: 'deny',
      reasons: [reason],
      result: request.principal === undefined ? 'unauthenticated' : 'forbidden',
      started,
    });
  }

  /**
   * Audits a request as its edge saw it, for what no service recorded: a request refused before it reached one
   * (its shape, an unknown route) or answered by the edge alone. Resolves once the record is committed.
   */
  async recordAtEdge(request: EdgeRecord): Promise<void> {
    const { principal } = request;
    await this.audit.append({
      principal: principal?.subject ?? '(unauthenticated)',
      principalKind: principal?.kind ?? 'anonymous',
      client: request.client,
      edge: request.edge,
      action: request.action,
      namespace: request.namespace,
      target: request.target,
      argsDigest: digest(request.args ?? null),
      decision: request.decision,
      reasons: request.reasons,
      result: request.result,
      ...(request.details === undefined ? {} : { details: request.details }),
      latencyMs: performance.now() - request.started,
      trail: request.trail,
    });
  }

  /** Reloads RoleBinding grants into the authorizer (after every platform change that touched them). */
  async syncRoleBindings(): Promise<void> {
    const bindings = await this.options.platform.list('RoleBinding');
    const grants: BindingGrant[] = bindings.flatMap((binding) => {
      const spec = binding.spec as RoleBindingSpec;
      const namespace = binding.metadata.namespace ?? '';
      return spec.subjects.map((subject) => ({
        subject: subject.name,
        kind: principalKinds[subject.kind],
        issuer: subject.issuer,
        role: spec.role,
        scope: {
          namespace,
          ...(spec.scope?.project === undefined ? {} : { project: spec.scope.project }),
          ...(spec.scope?.component === undefined ? {} : { component: spec.scope.component }),
          ...(spec.scope?.environment === undefined ? {} : { environment: spec.scope.environment }),
        },
        source: `${namespace}/${binding.metadata.name}`,
      }));
    });
    this.authorizer.setBindings(grants);
  }

  start(): void {
    this.proposals.start();
    this.bindingSync?.start();
    this.audit.start();
  }

  async stop(): Promise<void> {
    await this.bindingSync?.stop();
    await this.proposals.stop();
    await this.audit.stop();
  }
}
