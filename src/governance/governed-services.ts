// What edges call: every platform, telemetry, alert, proposal and audit operation for one caller, each one
// authorized (Casbin, scoped to the caller's tenants), audited (fail closed: no audit record, no answer),
// and, for writes, turned into a proposal that guardrails judge.
import { digest } from '../core/canonical-json.js';
import type { Change } from '../core/change-feed.js';
import { compareRuns } from '../analysis/builds/compare-runs.js';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, isDomainError } from '../core/errors.js';
import type {
  ApplyItem,
  ApplyOutcome,
  ComponentStatus,
  PlatformEvent,
  ReplicaLogLine,
  WorkflowLogLineView,
  NodeAllocation,
  NodeView,
  WorkflowComparison,
} from '../platform/contracts.js';
import {
  sumAllocations,
  type ApplyOptions,
  type EventFilter,
  type ListFilter,
  type LogRequest,
} from '../platform/platform-service.js';
import {
  kindInfo,
  sloSpecSchema,
  type Kind,
  type ReleaseBindingSpec,
  type Resource,
} from '../platform/resource-kinds.js';
import type { AuditFilter } from '../state/ports.js';
import type {
  AlertEventView,
  AlertView,
  AlertmanagerPayload,
  SloStatusView,
} from '../telemetry/alerting/contracts.js';
import { errorBudgetRemaining } from '../telemetry/alerting/warm-up.js';
import { durationMs } from '../core/duration.js';
import type {
  DependencyGraph,
  DependencyQuery,
  ErrorSummary,
  ErrorSummaryQuery,
  LogQuery,
  LogResult,
  MetricQuery,
  MetricResult,
  ResourceUsage,
  ResourceUsageQuery,
  TraceQuery,
  TraceSample,
  TraceSearchResult,
  TraceView,
} from '../telemetry/query/contracts.js';
import type { AuditDecision, VerifyResult } from './audit/audit-log.js';
import { isWriteAction, type Action } from './authz/actions.js';
import { describeTarget, type Target } from './authz/authorizer.js';
import { locationOfResource } from '../platform/resource-location.js';
import type { Governance } from './governance.js';
import type { Caller } from './principal.js';
import type {
  FieldDiff,
  Proposal,
  ProposalStatus,
  ResourceChange,
  ResourceDocument,
} from './proposals/contracts.js';
import type { ChangePlanner } from './proposals/change-plans.js';
import { diffChange, type ChangePlan, type ProposeOptions } from './proposals/proposal-service.js';
import type { AuditRecord } from '../state/ports.js';
import type { LlmUsageView, RcaReportView, RcaStatus, RemediationView } from '../rca/contracts.js';
import type { RcaReportService, StartInvestigation } from '../rca/rca-report-service.js';
import type { LlmUsage } from '../rca/writer.js';

/** The answer to a write: either it ran (outcome) or it waits / was refused (proposal). */
export interface WriteResult {
  readonly proposal: Proposal;
}

/** Which action writing each kind needs (apply and delete of documents). */
const writeActionByKind: Readonly<Record<Kind, Action>> = {
  Namespace: 'platform.manage',
  Environment: 'platform.manage',
  DeploymentPipeline: 'platform.manage',
  Project: 'resources.apply',
  Component: 'resources.apply',
  Release: 'resources.apply',
  ReleaseBinding: 'resources.apply',
  Workflow: 'resources.apply',
  WorkflowRun: 'workflow.run',
  AlertRule: 'alerts.manage',
  SLO: 'alerts.manage',
  RoleBinding: 'rbac.manage',
};

export class GovernedServices {
  private scopedPlanner: ChangePlanner | undefined;

  constructor(
    private readonly governance: Governance,
    readonly caller: Caller,
  ) {}

  /**
   * Builds change plans from current state (reads only); writes go through propose(). Its errors and hints name
   * only what the caller may read.
   */
  get planner(): ChangePlanner {
    this.scopedPlanner ??= this.governance.planner.scopedTo(this.visible);
    return this.scopedPlanner;
  }

  /** Whether the caller may read there: the only names hints and "known: …" lists give. */
  private readonly visible = (where: Target): boolean => this.allows('platform.read', where);

  // ── authorization primitives ────────────────────────────────────────────────────────────────────────

  /** Whether the caller may do this anywhere (in `namespace`, when given): hides tools, gates routes. */
  may(action: Action, namespace?: string): boolean {
    return this.governance.authorizer.permitsSomewhere(this.caller.principal, action, namespace);
  }

  /** Authorizes one call, runs it and audits it (a write also before it runs); no audit record, no call. */
  async guard<T>(
    action: Action,
    target: Target,
    args: unknown,
    work: () => Promise<T>,
    summarize: (result: T) => string = () => 'ok',
  ): Promise<T> {
    const started = performance.now();
    const decision = this.governance.authorizer.check(this.caller.principal, action, target);
    if (!decision.allowed) {
      await this.record(action, target, args, 'deny', [decision.reason], 'forbidden', started);
      throw new ForbiddenError(decision.reason, { hint: forbiddenHint(action) });
    }
    // A write that is not a proposal (its record would commit with it) is recorded before it runs: with the
    // audit store broken it fails here, not after a change nobody can find in the log.
    if (isWriteAction(action)) {
      await this.record(action, target, args, 'allow', [decision.reason], 'started', started);
    }
    let result: T;
    try {
      result = await work();
    } catch (error) {
      const code = isDomainError(error) ? error.code : 'internal';
      await this.record(action, target, args, 'allow', [decision.reason], `error:${code}`, started);
      throw error;
    }
    await this.record(action, target, args, 'allow', [decision.reason], summarize(result), started);
    return result;
  }

  private async record(
    action: Action,
    target: Target,
    args: unknown,
    decision: AuditDecision,
    reasons: readonly string[],
    result: string,
    started: number,
  ): Promise<void> {
    await this.governance.audit.append({
      principal: this.caller.principal.subject,
      principalKind: this.caller.principal.kind,
      client: this.caller.client,
      edge: this.caller.edge,
      action,
      namespace: target.namespace,
      target: targetText(target),
      argsDigest: digest(args ?? null),
      decision,
      reasons,
      result,
      latencyMs: performance.now() - started,
      trail: this.caller.trail,
    });
  }

  /** A list read within one namespace, or over all namespaces the caller may see. */
  private readIn<T>(
    action: Action,
    namespace: string | undefined,
    noun: string,
    args: unknown,
    work: () => Promise<T>,
  ): Promise<T> {
    return this.guardList(
      action,
      { namespace: namespace ?? '' },
      args,
      this.namespaceGate(action, namespace, noun),
      work,
    );
  }

  /** The gate of a list: the caller holds the action somewhere (in `namespace`, when given). */
  private namespaceGate(action: Action, namespace: string | undefined, noun: string): () => void {
    return () => {
      if (!this.may(action, namespace)) {
        throw new ForbiddenError(
          `${this.caller.principal.subject} may not read ${noun}${namespace === undefined ? '' : ` in ${namespace}`}`,
          { hint: forbiddenHint(action) },
        );
      }
    };
  }

  /** Namespaces a list over "all namespaces" may show. */
  private visibleNamespaces(action: Action): '*' | string[] {
    return this.governance.authorizer.namespacesFor(this.caller.principal, action);
  }

  private allows(action: Action, target: Target): boolean {
    return this.governance.authorizer.check(this.caller.principal, action, target).allowed;
  }

  // ── platform reads ──────────────────────────────────────────────────────────────────────────────────

  async list(kind: Kind, filter: ListFilter = {}): Promise<Resource[]> {
    const cluster = kindInfo[kind].scope === 'cluster';
    const target: Target =
      cluster || filter.namespace === undefined ? { namespace: '' } : { namespace: filter.namespace };
    const gate = this.namespaceGate(
      'platform.read',
      cluster ? undefined : filter.namespace,
      kindInfo[kind].plural,
    );
    return this.guardList('platform.read', target, { kind, ...filter }, gate, async () => {
      const items = await this.governance.options.platform.list(kind, filter);
      if (kind === 'Namespace') return items.filter((item) => this.may('platform.read', item.metadata.name));
      if (cluster) return items;
      return items.filter((item) => this.allows('platform.read', locationOfResource(item)));
    });
  }

  async get(kind: Kind, namespace: string, name: string): Promise<Resource> {
    const platform = this.governance.options.platform;
    if (kind === 'Namespace') {
      // A namespace is visible to whoever may read anything in it, and to nobody else, whether or not it exists.
      const target: Target = { namespace: name, asked: `Namespace ${name}` };
      return this.guardList(
        'platform.read',
        target,
        { kind, name },
        () => {
          if (!this.may('platform.read', name)) {
            const decision = this.governance.authorizer.check(this.caller.principal, 'platform.read', target);
            throw new ForbiddenError(decision.reason, { hint: forbiddenHint('platform.read') });
          }
        },
        () => platform.get(kind, '', name),
      );
    }
    if (kindInfo[kind].scope === 'cluster') {
      return this.guardList(
        'platform.read',
        { namespace: '' },
        { kind, name },
        this.namespaceGate('platform.read', undefined, kindInfo[kind].plural),
        () => platform.get(kind, namespace, name),
      );
    }
    // Read first to learn the project/component/environment, then authorize on the full target. A resource
    // outside the caller's scope answers exactly like one that does not exist in it: forbidden.
    const target = await this.targetOf(kind, namespace, name);
    return this.guard('platform.read', target, { kind, namespace, name }, () =>
      platform.get(kind, namespace, name),
    );
  }

  async componentStatus(namespace: string, component: string): Promise<ComponentStatus> {
    const target = await this.componentTarget(namespace, component);
    return this.guard('platform.read', target, { namespace, component }, () =>
      this.governance.options.platform.componentStatus(namespace, component),
    );
  }

  async events(filter: EventFilter & { namespace?: string | undefined }): Promise<PlatformEvent[]> {
    const namespace = filter.namespace;
    const target: Target = {
      namespace: namespace ?? '',
      ...(filter.component === undefined ? {} : { component: filter.component }),
      ...(filter.environment === undefined ? {} : { environment: filter.environment }),
    };
    return this.guardList(
      'platform.read',
      target,
      filter,
      this.namespaceGate('platform.read', namespace, 'events'),
      async () => {
        const events = await this.governance.options.platform.events(filter);
        return events.filter((event) =>
          this.allows('platform.read', {
            namespace: event.namespace,
            ...(event.component === null ? {} : { component: event.component }),
            ...(event.environment === null ? {} : { environment: event.environment }),
          }),
        );
      },
    );
  }

  /** Nodes with capacity and totals; allocations outside the caller's scope are summed, not named. */
  async nodes(): Promise<NodeView[]> {
    return this.guardList(
      'platform.read',
      { namespace: '' },
      {},
      this.namespaceGate('platform.read', undefined, 'nodes'),
      () =>
        Promise.resolve(
          this.governance.options.platform.nodes().map((node) => {
            const visible: NodeAllocation[] = [];
            const hidden: NodeAllocation[] = [];
            for (const item of node.allocations) {
              const target: Target = {
                namespace: item.namespace,
                component: item.component,
                ...(item.project === null ? {} : { project: item.project }),
                ...(item.environment === null ? {} : { environment: item.environment }),
              };
              (this.allows('platform.read', target) ? visible : hidden).push(item);
            }
            return { ...node, allocations: visible, otherAllocations: sumAllocations(hidden) };
          }),
        ),
    );
  }

  async logs(request: LogRequest): Promise<ReplicaLogLine[]> {
    const target = await this.componentTarget(request.namespace, request.component, request.environment);
    return this.guard('platform.read', target, request, async () => {
      // The planner's lookup names only the environments the caller may see when the binding is missing.
      await this.planner.binding(request.namespace, request.component, request.environment);
      return this.governance.options.platform.logs(request);
    });
  }

  async workflowLogs(
    namespace: string,
    run: string,
    options: { afterSequence?: number | undefined; limit?: number | undefined } = {},
  ): Promise<WorkflowLogLineView[]> {
    const target = await this.targetOf('WorkflowRun', namespace, run);
    return this.guard('platform.read', target, { namespace, run, ...options }, () =>
      this.governance.options.platform.workflowLogs(namespace, run, options),
    );
  }

  /**
   * A build run next to a baseline (the given one, or the last successful run of the same component/workflow
   * before it): changed inputs, steps that ended differently, the first differing output line per step.
   */
  async compareWorkflowRuns(
    namespace: string,
    runName: string,
    baselineName?: string,
  ): Promise<WorkflowComparison> {
    const run = await this.get('WorkflowRun', namespace, runName);
    const spec = run.spec as { component?: string; workflow?: string };
    let baseline: Resource | undefined;
    if (baselineName !== undefined) baseline = await this.get('WorkflowRun', namespace, baselineName);
    else {
      const runs = await this.list('WorkflowRun', {
        namespace: namespace,
        ...(spec.component === undefined ? {} : { component: spec.component }),
      });
      baseline = runs
        .filter((candidate) => {
          const other = candidate.spec as { component?: string; workflow?: string };
          return (
            candidate.metadata.name !== run.metadata.name &&
            other.workflow === spec.workflow &&
            other.component === spec.component &&
            (candidate.status as { phase?: string } | undefined)?.phase === 'Succeeded' &&
            candidate.metadata.createdAt <= run.metadata.createdAt
          );
        })
        .sort((a, b) => (a.metadata.createdAt < b.metadata.createdAt ? 1 : -1))[0];
    }
    if (baseline === undefined) {
      return {
        run: run.metadata.name,
        baseline: null,
        changedInputs: [],
        changedSteps: [],
        firstDifferences: [],
        note: 'no successful run before it to compare with',
      };
    }
    const load = async (resource: Resource) => ({
      name: resource.metadata.name,
      inputs: { ...(resource.spec as Record<string, unknown>) },
      steps: (
        (
          resource.status as
            { steps?: { name: string; phase: string; exitCode: number | null }[] } | undefined
        )?.steps ?? []
      ).map(({ name, phase, exitCode }) => ({ name, phase, exitCode })),
      lines: await this.workflowLogs(namespace, resource.metadata.name, { limit: 10_000 }),
    });
    const comparison = compareRuns(await load(run), await load(baseline));
    return { run: run.metadata.name, baseline: baseline.metadata.name, ...comparison, note: null };
  }

  /**
   * Reads over many scopes: gate on "allowed somewhere", run, filter rows by scope, audit. Forbidden when the
   * caller may not read there at all.
   */
  private async guardList<T>(
    action: Action,
    target: Target,
    args: unknown,
    gate: () => void,
    work: () => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    try {
      gate();
    } catch (error) {
      await this.record(action, target, args, 'deny', [(error as Error).message], 'forbidden', started);
      throw error;
    }
    const result = await work();
    await this.record(action, target, args, 'allow', ["filtered to the caller's scopes"], 'ok', started);
    return result;
  }

  // ── telemetry reads ─────────────────────────────────────────────────────────────────────────────────

  private get telemetry() {
    const telemetry = this.governance.options.telemetry;
    if (telemetry === undefined)
      throw new ForbiddenError('telemetry queries are not available on this server');
    return telemetry;
  }

  queryLogs(query: LogQuery): Promise<LogResult> {
    return this.guard(
      'telemetry.read',
      scopeTarget(query),
      query,
      () => this.telemetry.logs(query),
      (result) => `${result.entries.length} entries`,
    );
  }

  errorSummary(query: ErrorSummaryQuery): Promise<ErrorSummary> {
    return this.guard('telemetry.read', scopeTarget(query), query, () => this.telemetry.errorSummary(query));
  }

  metrics(query: MetricQuery): Promise<MetricResult> {
    return this.guard('telemetry.read', scopeTarget(query), query, () => this.telemetry.metrics(query));
  }

  traces(query: TraceQuery): Promise<TraceSearchResult> {
    return this.guard('telemetry.read', scopeTarget(query), query, () => this.telemetry.traces(query));
  }

  /** Traces matching `query` with all their spans, for the trace analyzers (one read, one audit record). */
  traceSample(query: TraceQuery): Promise<TraceSample> {
    return this.guard(
      'telemetry.read',
      scopeTarget(query),
      query,
      () => this.telemetry.traceSample(query),
      (result) => `${result.traces.length} traces`,
    );
  }

  metricNames(scope: {
    namespace: string;
    component?: string | undefined;
    environment?: string | undefined;
  }): Promise<string[]> {
    return this.guard('telemetry.read', scopeTarget(scope), scope, () =>
      this.telemetry.metricNames(this.telemetry.resourcesIn(scope)),
    );
  }

  trace(traceId: string, namespace: string): Promise<TraceView> {
    return this.guard('telemetry.read', { namespace }, { traceId, namespace }, () =>
      this.telemetry.trace(traceId, namespace),
    );
  }

  /** The graph of the scope; services outside the caller's scope become one anonymous node. */
  dependencies(query: DependencyQuery): Promise<DependencyGraph> {
    return this.guard('telemetry.read', scopeTarget(query), query, async () =>
      withinScope(await this.telemetry.dependencies(query), query.namespace, (node) =>
        this.allows('telemetry.read', {
          namespace: node.namespace,
          component: node.component,
          ...(node.environment === '' ? {} : { environment: node.environment }),
        }),
      ),
    );
  }

  resourceUsage(query: ResourceUsageQuery): Promise<ResourceUsage> {
    return this.guard('telemetry.read', scopeTarget(query), query, () => this.telemetry.resourceUsage(query));
  }

  // ── alerts ──────────────────────────────────────────────────────────────────────────────────────────

  /** Each SLO of the namespace with its indicator over its window, error budget left and burn rate. */
  sloStatus(namespace: string): Promise<SloStatusView[]> {
    return this.readIn('telemetry.read', namespace, 'SLO status', { namespace }, async () => {
      // Each SLO is read where it applies: its component in its environment.
      const slos = (await this.governance.options.platform.list('SLO', { namespace })).filter((slo) => {
        const spec = slo.spec as { environment?: string };
        return this.allows('telemetry.read', {
          ...locationOfResource(slo),
          ...(spec.environment === undefined ? {} : { environment: spec.environment }),
        });
      });
      const firing = new Set(
        (await this.governance.options.alerts?.list({ namespace, state: 'firing' }))?.map(
          (alert) => alert.rule,
        ) ?? [],
      );
      return Promise.all(
        slos.map(async (slo) => {
          const spec = sloSpecSchema.parse(slo.spec);
          const scope = { namespace, component: spec.component, environment: spec.environment };
          const windowMs = durationMs(spec.window);
          const counts = await this.telemetry.sloCounts(scope, windowMs, spec.indicator);
          const hour = await this.telemetry.sloCounts(scope, 3_600_000, spec.indicator);
          const allowed = 1 - spec.objective / 100;
          const badShare = counts.total === 0 ? null : counts.bad / counts.total;
          // The window's budget, over the time actually observed (min(window, since the first request)).
          const observedMs =
            counts.firstAt === null
              ? 0
              : Math.min(windowMs, this.governance.options.clock.now().getTime() - counts.firstAt);
          return {
            name: slo.metadata.name,
            component: spec.component,
            environment: spec.environment,
            objective: spec.objective,
            window: spec.window,
            indicator:
              spec.indicator.type === 'latency'
                ? `latency < ${spec.indicator.thresholdMs} ms`
                : 'availability',
            total: counts.total,
            bad: counts.bad,
            sli: badShare === null ? null : (1 - badShare) * 100,
            observedSeconds: Math.round(observedMs / 1000),
            errorBudgetRemaining: errorBudgetRemaining({
              total: counts.total,
              bad: counts.bad,
              objective: spec.objective,
              windowMs,
              observedMs,
            }),
            burnRate1h: hour.total === 0 ? null : hour.bad / hour.total / allowed,
            firing: firing.has(`SLO/${slo.metadata.name}`),
          };
        }),
      );
    });
  }

  // ── live changes ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Calls `listener` with each change in `namespace` the caller may see (alerts with alerts.read, approvals with
   * proposals.read, the rest with platform.read); the subscription itself is one audited read. Returns the
   * unsubscribe.
   */
  async watchChanges(namespace: string, listener: (change: Change) => void): Promise<() => void> {
    const feed = this.governance.options.changes;
    if (feed === undefined) throw new ForbiddenError('live changes are not available on this server');
    return this.readIn('platform.read', namespace, 'changes', { namespace, stream: true }, () => {
      const needs: Readonly<Record<Change['topic'], Action>> = {
        alert: 'alerts.read',
        approval: 'proposals.read',
        change: 'platform.read',
        status: 'platform.read',
      };
      return Promise.resolve(
        feed.subscribe((change) => {
          if (change.namespace !== namespace) return;
          const where: Target = {
            namespace,
            ...(change.project === undefined ? {} : { project: change.project }),
            ...(change.component === undefined ? {} : { component: change.component }),
            ...(change.environment === undefined ? {} : { environment: change.environment }),
          };
          if (this.allows(needs[change.topic], where)) listener(change);
        }),
      );
    });
  }

  // ── RCA reports ─────────────────────────────────────────────────────────────────────────────────────

  private get reports(): RcaReportService {
    const reports = this.governance.options.rcaReports;
    if (reports === undefined) throw new ForbiddenError('RCA reports are not available on this server');
    return reports;
  }

  rcaReports(filter: {
    namespace?: string | undefined;
    status?: RcaStatus | undefined;
    limit?: number | undefined;
  }): Promise<RcaReportView[]> {
    return this.readIn('alerts.read', filter.namespace, 'RCA reports', filter, async () => {
      const reports = await this.reports.list({
        namespaces:
          filter.namespace === undefined ? this.visibleNamespaces('alerts.read') : [filter.namespace],
        ...(filter.status === undefined ? {} : { statuses: [filter.status] }),
        ...(filter.limit === undefined ? {} : { limit: filter.limit }),
      });
      return Promise.all(
        reports
          .filter((report) => this.allows('alerts.read', reportTarget(report)))
          .map((report) => this.withLiveRemediations(report)),
      );
    });
  }

  async rcaReport(id: string): Promise<RcaReportView> {
    const report = await this.reports.get(id);
    return this.guard('alerts.read', reportTarget(report), { id }, () => this.withLiveRemediations(report));
  }

  /**
   * A report's proposals as they stand now, not as they were when it was written: approved, run, or expired
   * (a pending one whose before no longer holds expires here, on read, as the periodic pass would).
   */
  private async withLiveRemediations(report: RcaReportView): Promise<RcaReportView> {
    const proposals = this.governance.proposals;
    const live = async (remedy: RemediationView): Promise<RemediationView> => {
      try {
        const stored = await proposals.get(remedy.proposal);
        const proposal = stored.status === 'pending' ? await proposals.expireIfStale(stored) : stored;
        return {
          ...remedy,
          status: proposal.status,
          ...(proposal.expiry === undefined ? {} : { expired: proposal.expiry.message }),
        };
      } catch (error) {
        if (error instanceof NotFoundError || error instanceof ConflictError) return remedy;
        throw error;
      }
    };
    if (report.remediation === null && report.alternatives.length === 0) return report;
    return {
      ...report,
      remediation: report.remediation === null ? null : await live(report.remediation),
      alternatives: await Promise.all(report.alternatives.map(live)),
    };
  }

  /** LLM tokens and cost of the namespace's reports this month, with the configured budget. */
  llmUsage(namespace: string): Promise<LlmUsageView> {
    return this.readIn('alerts.read', namespace, 'LLM usage', { namespace }, async () => {
      const now = this.governance.options.clock.now();
      const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
      const reports = (await this.reports.list({ namespaces: [namespace], limit: 5000 })).filter(
        (report) => report.createdAt >= since && this.allows('alerts.read', reportTarget(report)),
      );
      const byRequester = new Map<string, LlmUsageView['byRequester'][number]>();
      for (const report of reports) {
        const item = byRequester.get(report.requestedBy) ?? {
          requestedBy: report.requestedBy,
          reports: 0,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
        };
        item.reports += 1;
        item.inputTokens += report.llm.inputTokens;
        item.outputTokens += report.llm.outputTokens;
        item.costUsd += report.llm.costUsd;
        byRequester.set(report.requestedBy, item);
      }
      const sum = (pick: (report: RcaReportView) => number) =>
        reports.reduce((total, report) => total + pick(report), 0);
      return {
        namespace,
        since,
        budgetUsd: this.governance.options.config.llm.monthlyBudgetUsd ?? null,
        costUsd: sum((report) => report.llm.costUsd),
        inputTokens: sum((report) => report.llm.inputTokens),
        outputTokens: sum((report) => report.llm.outputTokens),
        byRequester: [...byRequester.values()].sort((a, b) => b.costUsd - a.costUsd),
        reports: reports
          .filter((report) => report.llm.inputTokens + report.llm.outputTokens > 0)
          .map((report) => ({
            id: report.id,
            rule: report.alert.rule,
            requestedBy: report.requestedBy,
            createdAt: report.createdAt,
            model: report.llm.model,
            inputTokens: report.llm.inputTokens,
            outputTokens: report.llm.outputTokens,
            costUsd: report.llm.costUsd,
          })),
      };
    });
  }

  /** Records what answering a question about a report cost (reading it is what the caller may do). */
  async addRcaUsage(id: string, usage: LlmUsage): Promise<RcaReportView> {
    const report = await this.reports.get(id);
    return this.guard('alerts.read', reportTarget(report), { id, usage }, () =>
      this.reports.addUsage(id, usage),
    );
  }

  /** Opens a running report for an investigation of `alert`. */
  startRcaReport(input: StartInvestigation): Promise<RcaReportView> {
    const target: Target = {
      namespace: input.namespace,
      ...(input.alert.component === null ? {} : { component: input.alert.component }),
      ...(input.alert.environment === null ? {} : { environment: input.alert.environment }),
    };
    return this.guard(
      'rca.run',
      target,
      input,
      () => this.reports.start(input),
      (report) => report.id,
    );
  }

  /** Stores a finished (completed or failed) report. */
  finishRcaReport(report: RcaReportView): Promise<RcaReportView> {
    return this.guard(
      'rca.run',
      reportTarget(report),
      { id: report.id, status: report.status },
      () => this.reports.finish(report),
      (done) => `${done.id} ${done.status}`,
    );
  }

  private get alertService() {
    const alerts = this.governance.options.alerts;
    if (alerts === undefined) throw new ForbiddenError('alerting is not available on this server');
    return alerts;
  }

  alerts(filter: {
    namespace?: string | undefined;
    state?: AlertView['state'] | undefined;
    limit?: number | undefined;
  }): Promise<AlertView[]> {
    return this.readIn('alerts.read', filter.namespace, 'alerts', filter, async () => {
      const alerts = await this.alertService.list(filter);
      return alerts.filter((alert) => this.allows('alerts.read', alertTarget(alert)));
    });
  }

  alertHistory(filter: {
    namespace?: string | undefined;
    fingerprint?: string | undefined;
    since?: string | undefined;
    limit?: number | undefined;
  }): Promise<AlertEventView[]> {
    return this.readIn('alerts.read', filter.namespace, 'alerts', filter, async () => {
      const events = await this.alertService.history(filter);
      return events.filter((event) => this.allows('alerts.read', { namespace: event.namespace }));
    });
  }

  receiveAlertmanager(payload: AlertmanagerPayload): Promise<number> {
    return this.guard(
      'alerts.ingest',
      { namespace: '' },
      { alerts: payload.alerts.length },
      () => this.alertService.receiveAlertmanager(payload),
      (changed) => `${changed} changed`,
    );
  }

  // ── writes: every one is a proposal ─────────────────────────────────────────────────────────────────

  /**
   * Declarative apply. Authorized per document (its kind's action at its scope). A dry run goes to the platform,
   * which rolls it back, and answers with the field diff too; an apply that changes nothing is audited as such;
   * anything else becomes a proposal. Items keep the numbers of their documents in `raw`.
   */
  async apply(
    raw: readonly unknown[],
    options: ApplyOptions,
  ): Promise<{ outcome: ApplyOutcome | null; proposal: Proposal | null; diff?: FieldDiff[] }> {
    const started = performance.now();
    const plan = await this.planner.apply(raw, options);
    // Every document is authorized, changed or not: "unchanged" would otherwise confirm what others' look like.
    // A change is judged on what the resource is and on what it becomes: moving a production binding to dev is
    // a production change, and taking a component out of a project needs that project's scope too.
    for (const change of plan.documents) {
      const kind = change.kind as Kind;
      const action = writeActionByKind[kind];
      for (const document of [change.before, change.after]) {
        if (document === null) continue;
        const target = await this.documentTarget(kind, change, document);
        const decision = this.governance.authorizer.check(this.caller.principal, action, target);
        if (!decision.allowed) {
          await this.record(action, target, raw, 'deny', [decision.reason], 'forbidden', started);
          throw new ForbiddenError(decision.reason, { hint: forbiddenHint(action) });
        }
      }
    }
    if (options.dryRun === true) {
      // The platform applies it in a transaction it rolls back: nothing is written, every check still runs.
      const outcome = await this.governance.options.platform.apply(raw, {
        ...options,
        visible: this.visible,
      });
      await this.record(
        'resources.apply',
        plan.target,
        raw,
        'allow',
        [`dry run: ${plan.changes.length} of ${plan.documents.length} document(s) would change`],
        'dry run',
        started,
      );
      return { outcome, proposal: null, diff: plan.changes.flatMap(diffChange) };
    }
    if (plan.changes.length === 0) {
      await this.record(
        'resources.apply',
        plan.target,
        raw,
        'none',
        ['every document already looks like that'],
        'no change',
        started,
      );
      return { outcome: { dryRun: false, items: plan.unchanged }, proposal: null };
    }
    const proposal = await this.governance.proposals.propose(this.caller, plan);
    if (plan.kinds.includes('RoleBinding') && proposal.status === 'succeeded')
      await this.governance.syncRoleBindings();
    return {
      outcome: { dryRun: false, items: byDocument([...proposal.execution.items, ...plan.unchanged]) },
      proposal,
    };
  }

  /** Where one document of an apply lands: its scope, and the environments it reaches (production first). */
  private async documentTarget(
    kind: Kind,
    change: ResourceChange,
    document: ResourceDocument,
  ): Promise<Target> {
    const planner = this.governance.planner;
    const spec = document.spec as Partial<ReleaseBindingSpec> | undefined;
    const component =
      kind === 'Component' ? change.name : typeof spec?.component === 'string' ? spec.component : undefined;
    const reach =
      kind === 'ReleaseBinding' && spec?.environment !== undefined
        ? { environment: spec.environment, production: await planner.isProduction(spec.environment) }
        : kind === 'Component'
          ? await planner.componentReach(change.namespace, change.name, { pinnedToo: false })
          : { environment: undefined, production: false };
    // A component's project is in its document; anything else of a component sits in the component's project.
    const project =
      kind === 'Component'
        ? document.metadata.project
        : component === undefined
          ? undefined
          : (await this.governance.options.platform.locate('Component', change.namespace, component))
              ?.project;
    return {
      namespace: change.namespace,
      ...(typeof project === 'string' ? { project } : {}),
      ...(component === undefined ? {} : { component }),
      ...(reach.environment === undefined ? {} : { environment: reach.environment }),
      production: reach.production,
      asked: `${change.kind} ${change.namespace === '' ? '' : `${change.namespace}/`}${change.name}`,
    };
  }

  async delete(kind: Kind, namespace: string, name: string): Promise<Proposal> {
    // Scope first: outside it, a missing name is refused exactly like an existing one.
    if (kind === 'Namespace')
      await this.authorizeScope(
        'platform.manage',
        { namespace: name, asked: `Namespace ${name}` },
        { kind, name },
      );
    else if (kindInfo[kind].scope === 'namespaced')
      await this.authorizeScope(writeActionByKind[kind], await this.targetOf(kind, namespace, name), {
        kind,
        namespace,
        name,
      });
    const plan = await this.planner.delete(kind, namespace, name);
    const proposal = await this.write(writeActionByKind[kind], plan);
    if (kind === 'RoleBinding' && proposal.status === 'succeeded') await this.governance.syncRoleBindings();
    return proposal;
  }

  scale(
    namespace: string,
    component: string,
    environment: string,
    replicas: number,
    options?: ProposeOptions,
  ): Promise<Proposal> {
    return this.plannedWrite(
      'component.scale',
      { namespace, component, environment },
      () => this.planner.scale(namespace, component, environment, replicas),
      options,
    );
  }

  restart(
    namespace: string,
    component: string,
    environment: string,
    options?: ProposeOptions,
  ): Promise<Proposal> {
    return this.plannedWrite(
      'component.restart',
      { namespace, component, environment },
      () => this.planner.restart(namespace, component, environment),
      options,
    );
  }

  /** Proposes running in `to` the release `from` runs (the target environment's approval rules apply). */
  promote(
    namespace: string,
    component: string,
    from: string,
    to: string,
    options?: ProposeOptions,
  ): Promise<Proposal> {
    return this.plannedWrite(
      'release.promote',
      { namespace, component, environment: to },
      () => this.planner.promote(namespace, component, from, to),
      options,
    );
  }

  rollback(
    namespace: string,
    component: string,
    environment: string,
    release?: string,
    options?: ProposeOptions,
  ): Promise<Proposal> {
    return this.plannedWrite(
      'component.rollback',
      { namespace, component, environment },
      () => this.planner.rollback(namespace, component, environment, release),
      options,
    );
  }

  /** Builds the plan of an intent write after checking the caller may act on its scope at all. */
  async plan(
    action: Action,
    where: { namespace: string; component?: string | undefined; environment?: string | undefined },
    build: () => Promise<ChangePlan>,
  ): Promise<ChangePlan> {
    const started = performance.now();
    if (where.component !== undefined) {
      // The component's own scope, before the plan looks anything up: no "not found" or hint for what lies
      // outside it.
      await this.authorizeScope(
        action,
        await this.componentTarget(where.namespace, where.component, where.environment),
        where,
      );
      return build();
    }
    const coarse: Target = { namespace: where.namespace };
    if (!this.may(action, where.namespace)) {
      const decision = this.governance.authorizer.check(this.caller.principal, action, coarse);
      await this.record(
        action,
        { ...coarse, ...where },
        where,
        'deny',
        [decision.reason],
        'forbidden',
        started,
      );
      throw new ForbiddenError(decision.reason, { hint: forbiddenHint(action) });
    }
    return build();
  }

  /** The proposal a plan would make, for a confirmation prompt; stores nothing. */
  async preview(plan: ChangePlan): Promise<Proposal> {
    await this.authorizeWrite(plan.action, plan);
    return this.governance.proposals.preview(this.caller, plan);
  }

  async propose(plan: ChangePlan, options?: ProposeOptions): Promise<Proposal> {
    return this.write(plan.action, plan, options);
  }

  private async plannedWrite(
    action: Action,
    where: { namespace: string; component: string; environment: string },
    build: () => Promise<ChangePlan>,
    options?: ProposeOptions,
  ): Promise<Proposal> {
    const plan = await this.plan(action, where, build);
    return this.write(action, plan, options);
  }

  private async write(action: Action, plan: ChangePlan, options?: ProposeOptions): Promise<Proposal> {
    const started = performance.now();
    await this.authorizeWrite(action, plan);
    if (plan.changes.length === 0) {
      const error = new InvalidError('nothing would change: the resources already look like that', [], {
        hint: 'Read the current state (opspilot describe, get_component_status) before asking again.',
      });
      await this.record(
        action,
        plan.target,
        { digest: plan.argsDigest },
        'none',
        [error.message],
        'no change',
        started,
      );
      throw error;
    }
    return this.governance.proposals.propose(this.caller, plan, options);
  }

  private async authorizeWrite(action: Action, plan: ChangePlan): Promise<void> {
    const decision = this.governance.authorizer.check(this.caller.principal, action, plan.target);
    if (!decision.allowed) {
      await this.record(
        action,
        plan.target,
        { digest: plan.argsDigest },
        'deny',
        [decision.reason],
        'forbidden',
        performance.now(),
      );
      throw new ForbiddenError(decision.reason, { hint: forbiddenHint(action) });
    }
  }

  // ── proposals and audit ─────────────────────────────────────────────────────────────────────────────

  listProposals(filter: {
    namespace?: string | undefined;
    statuses?: readonly ProposalStatus[];
    limit?: number;
  }): Promise<Proposal[]> {
    const namespaces =
      filter.namespace === undefined ? this.visibleNamespaces('proposals.read') : [filter.namespace];
    return this.readIn('proposals.read', filter.namespace, 'proposals', filter, async () => {
      const proposals = await this.governance.proposals.list({
        namespaces,
        statuses: filter.statuses,
        limit: filter.limit,
      });
      return proposals.filter((proposal) => this.allows('proposals.read', proposal.target));
    });
  }

  async getProposal(id: string): Promise<Proposal> {
    const proposal = await this.governance.proposals.get(id);
    return this.guard('proposals.read', proposal.target, { id }, () => Promise.resolve(proposal));
  }

  approve(id: string, comment?: string): Promise<Proposal> {
    return this.governance.proposals.approve(this.caller, id, comment);
  }

  reject(id: string, comment?: string): Promise<Proposal> {
    return this.governance.proposals.reject(this.caller, id, comment);
  }

  auditEvents(filter: AuditFilter): Promise<AuditRecord[]> {
    const namespaces = this.visibleNamespaces('audit.read');
    return this.guardList(
      'audit.read',
      { namespace: filter.namespace ?? '' },
      filter,
      () => {
        const allowed =
          filter.namespace === undefined ? namespaces === '*' : this.may('audit.read', filter.namespace);
        if (!allowed) {
          throw new ForbiddenError(
            filter.namespace === undefined
              ? `${this.caller.principal.subject} may read the audit log only per namespace (${namespaces === '*' ? '' : namespaces.join(', ')})`
              : `${this.caller.principal.subject} may not read the audit log of ${filter.namespace}`,
            { hint: 'Pass a namespace you operate, or ask a platform-admin.' },
          );
        }
      },
      () => this.governance.audit.list(filter),
    );
  }

  verifyAudit(): Promise<VerifyResult> {
    return this.guardList(
      'audit.read',
      { namespace: '' },
      {},
      () => {
        if (this.visibleNamespaces('audit.read') !== '*')
          throw new ForbiddenError(
            `verifying the whole audit chain needs audit.read on every namespace (platform-admin)`,
          );
      },
      () => this.governance.audit.verify(),
    );
  }

  // ── targets ─────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Where a named resource sits, to authorize on. An unknown one is authorized on what its name says (the
   * namespace; for a component, the component): "not found" is only told to who may read there, and a refusal
   * names only what was asked for, so that it reads the same whether or not the resource exists.
   */
  private async targetOf(kind: Kind, namespace: string, name: string): Promise<Target> {
    const located = await this.governance.options.platform.locate(kind, namespace, name);
    return {
      ...(located ?? { namespace, ...(kind === 'Component' ? { component: name } : {}) }),
      asked: `${kind} ${namespace}/${name}`,
    };
  }

  private async componentTarget(namespace: string, component: string, environment?: string): Promise<Target> {
    const base = await this.targetOf('Component', namespace, component);
    return {
      ...base,
      component,
      ...(environment === undefined ? {} : { environment }),
    };
  }

  /**
   * Refuses (audited) when the target lies outside every scope of the caller where the action is allowed,
   * before anything about it is looked up; production rules are judged later on the full plan.
   */
  private async authorizeScope(action: Action, target: Target, args: unknown): Promise<void> {
    const decision = this.governance.authorizer.check(this.caller.principal, action, {
      ...target,
      production: false,
    });
    if (decision.allowed) return;
    await this.record(action, target, args, 'deny', [decision.reason], 'forbidden', performance.now());
    throw new ForbiddenError(decision.reason, { hint: forbiddenHint(action) });
  }

  /** Whether a write action is in the closed set (used by tests of the tables). */
  static isWrite(action: Action): boolean {
    return isWriteAction(action);
  }
}

function scopeTarget(query: {
  namespace: string;
  project?: string | undefined;
  component?: string | undefined;
  environment?: string | undefined;
}): Target {
  return {
    namespace: query.namespace,
    ...(query.project === undefined ? {} : { project: query.project }),
    ...(query.component === undefined ? {} : { component: query.component }),
    ...(query.environment === undefined ? {} : { environment: query.environment }),
  };
}

function reportTarget(report: RcaReportView): Target {
  return {
    namespace: report.namespace,
    ...(report.alert.component === null ? {} : { component: report.alert.component }),
    ...(report.alert.environment === null ? {} : { environment: report.alert.environment }),
  };
}

function alertTarget(alert: AlertView): Target {
  return {
    namespace: alert.namespace,
    ...(alert.component === null ? {} : { component: alert.component }),
    ...(alert.environment === null ? {} : { environment: alert.environment }),
  };
}

/** The one node a dependency graph shows for every service outside the caller's scope. */
export const outsideScopeNode = '(outside your scope)';

/**
 * A dependency graph with the services `visible` refuses folded into one anonymous node: the caller learns that
 * calls leave its scope (and how they fare), not where they go.
 */
function withinScope(
  graph: DependencyGraph,
  namespace: string,
  visible: (node: { namespace: string; component: string; environment: string }) => boolean,
): DependencyGraph {
  const hidden = new Set(
    graph.nodes
      .filter((node) => {
        if (node.kind !== 'service') return false;
        const component =
          node.namespace === namespace ? node.service : node.service.slice(node.namespace.length + 1);
        return !visible({ namespace: node.namespace, component, environment: node.environment });
      })
      .map((node) => node.service),
  );
  if (hidden.size === 0) return graph;
  const named = (service: string): string => (hidden.has(service) ? outsideScopeNode : service);
  const edges = new Map<string, DependencyGraph['edges'][number]>();
  for (const edge of graph.edges) {
    const from = named(edge.from);
    const to = named(edge.to);
    if (from === outsideScopeNode && to === outsideScopeNode) continue;
    const key = `${from}\u0000${to}`;
    const current = edges.get(key);
    if (current === undefined) {
      edges.set(key, { ...edge, from, to });
      continue;
    }
    const calls = current.calls + edge.calls;
    edges.set(key, {
      from,
      to,
      calls,
      requestRate: current.requestRate + edge.requestRate,
      errorRate: calls === 0 ? 0 : (current.errorRate * current.calls + edge.errorRate * edge.calls) / calls,
      latencyP95Ms:
        current.latencyP95Ms === null && edge.latencyP95Ms === null
          ? null
          : Math.max(current.latencyP95Ms ?? 0, edge.latencyP95Ms ?? 0),
    });
  }
  return {
    window: graph.window,
    nodes: [
      ...graph.nodes.filter((node) => !hidden.has(node.service)),
      {
        service: outsideScopeNode,
        namespace: '',
        environment: '',
        kind: 'outside',
        requestRate: 0,
        errorRate: 0,
        latencyP95Ms: null,
      },
    ],
    edges: [...edges.values()],
  };
}

/** Apply items in the order of the documents that caused them (deletes, without one, last). */
function byDocument(items: readonly ApplyItem[]): ApplyItem[] {
  return items
    .map((item, position) => ({ item, position }))
    .sort((a, b) => (a.item.document ?? Infinity) - (b.item.document ?? Infinity) || a.position - b.position)
    .map(({ item }) => item);
}

function targetText(target: Target): string {
  return target.namespace === '' ? '(platform)' : describeTarget(target);
}

function forbiddenHint(action: Action): string {
  return `Ask an admin for a RoleBinding whose role includes ${action} on this scope (see docs/governance.md).`;
}
