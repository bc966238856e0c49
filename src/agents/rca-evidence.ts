// Gathers what the RCA engine needs about an alert through the governed services, as the caller (the rca-agent
// principal, or the person who asked): per-component metric series, the dependency graph, platform events and
// changes around onset. Every read is authorized and audited like any other.
import type { TemplateTrend } from '../analysis/rca/error-templates.js';
import type { TraceSample, TraceSide } from '../analysis/rca/trace-origins.js';
import type {
  PlatformSignal,
  RcaInput,
  RcaReport,
  RcaWindow,
  Series,
  TimelineEntry,
} from '../analysis/rca/model.js';
import { NotFoundError } from '../core/errors.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Proposal } from '../governance/proposals/contracts.js';
import type { ReleaseBindingSpec } from '../platform/resource-kinds.js';
import type { AlertView } from '../telemetry/alerting/contracts.js';
import {
  errorSummaryQuerySchema,
  metricQuerySchema,
  traceQuerySchema,
  type MetricResult,
} from '../telemetry/query/contracts.js';

export interface EvidenceWindow {
  /** Minutes of normal operation before onset to compare with. */
  readonly baselineMinutes: number;
  /** The incident is taken to begin this long before the alert's condition first held (rules look back). */
  readonly onsetLeadSeconds: number;
  /** How long telemetry takes to arrive (SDK exporters batch for about 5 s): newer buckets are not whole yet. */
  readonly ingestLagSeconds: number;
}

export const evidenceWindow: EvidenceWindow = {
  baselineMinutes: 60,
  onsetLeadSeconds: 60,
  ingestLagSeconds: 5,
};

/** The metrics judged for every component: what users feel, what the component consumes, and load. */
const metrics: readonly { name: string; kind: Series['kind'] }[] = [
  { name: 'error_rate', kind: 'performance' },
  { name: 'latency_p95', kind: 'performance' },
  { name: 'cpu', kind: 'performance' },
  { name: 'memory', kind: 'performance' },
  { name: 'request_rate', kind: 'traffic' },
];

export async function gatherEvidence(
  services: GovernedServices,
  alert: AlertView,
  now: Date,
  settings: EvidenceWindow = evidenceWindow,
): Promise<RcaInput> {
  const onsetUs = (Date.parse(alert.startedAt) - settings.onsetLeadSeconds * 1000) * 1000;
  const baselineStartUs = onsetUs - settings.baselineMinutes * 60_000_000;
  // About 300 points over the whole window, and never coarser than a minute.
  const stepSeconds = Math.max(
    5,
    Math.min(60, Math.round((now.getTime() * 1000 - baselineStartUs) / 1e6 / 300)),
  );
  const endUs = Math.max(now.getTime() * 1000, onsetUs + 1_000_000);
  // Metric series end at the last whole bucket that telemetry in flight (exporters batch for seconds) no longer
  // fills: a bucket still filling reads as traffic falling to nothing everywhere. Events and changes need no wait.
  const stepUs = stepSeconds * 1_000_000;
  const settledUs = endUs - settings.ingestLagSeconds * 1_000_000;
  const metricsEndUs = Math.max(
    onsetUs + stepUs,
    baselineStartUs + Math.floor((settledUs - baselineStartUs) / stepUs) * stepUs,
  );
  const from = new Date(baselineStartUs / 1000).toISOString();
  const to = new Date(metricsEndUs / 1000).toISOString();
  const environment = alert.environment ?? undefined;
  const namespace = alert.namespace;

  // The metric the alert itself watches, when it is not one of the above (a threshold on any stored metric).
  const watched = await watchedMetric(services, alert);
  const judged =
    watched === undefined || metrics.some((metric) => metric.name === watched)
      ? metrics
      : [...metrics, { name: watched, kind: 'performance' as const }];
  const results = await Promise.all(
    judged.map(async ({ name, kind }) => {
      const result = await absentAsEmpty(() =>
        services.metrics(
          metricQuerySchema.parse({
            namespace,
            environment,
            metric: name,
            from,
            to,
            step: `${stepSeconds}s`,
            groupBy: 'component',
          }),
        ),
      );
      return result === undefined ? [] : seriesOf(result, kind);
    }),
  );
  const graph = await absentAsEmpty(() => services.dependencies({ namespace, environment, from, to }));
  const signals = [
    ...(await eventSignals(services, namespace, environment, from)),
    ...(await changeSignals(services, namespace, environment, baselineStartUs)),
  ];
  return {
    series: results.flat(),
    edges: (graph?.edges ?? []).map((edge) => [edge.from, edge.to] as const),
    window: { onsetUs, endUs, baselineStartUs, baselineEndUs: onsetUs },
    focus: alert.component ?? undefined,
    signals,
  };
}

/** A query with no data in scope (a metric nobody reports) is no evidence, not a failed investigation. */
async function absentAsEmpty<T>(query: () => Promise<T>): Promise<T | undefined> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** The stored metric a threshold AlertRule watches, if the alert comes from one the caller may read. */
async function watchedMetric(services: GovernedServices, alert: AlertView): Promise<string | undefined> {
  const name = /^AlertRule\/(.+)$/.exec(alert.rule)?.[1];
  if (name === undefined) return undefined;
  try {
    const rule = await services.get('AlertRule', alert.namespace, name);
    return (rule.spec as { threshold?: { metric?: string } }).threshold?.metric;
  } catch {
    return undefined;
  }
}

/** Error templates of the namespace over the whole window, with their trend, for withErrorTemplates(). */
export async function gatherErrorTemplates(
  services: GovernedServices,
  alert: AlertView,
  window: RcaWindow,
): Promise<TemplateTrend[]> {
  const from = new Date(window.baselineStartUs / 1000).toISOString();
  const to = new Date(window.endUs / 1000).toISOString();
  const summary = await absentAsEmpty(() =>
    services.errorSummary(
      errorSummaryQuerySchema.parse({
        namespace: alert.namespace,
        environment: alert.environment ?? undefined,
        from,
        to,
        limit: 30,
        buckets: 60,
        newSince: new Date(window.onsetUs / 1000).toISOString(),
      }),
    ),
  );
  return (summary?.templates ?? []).map((template) => ({
    template: template.template,
    components: template.components,
    firstEverSeenUs: Date.parse(template.firstEverSeen) * 1000,
    trend: template.trend.map((point) => [Date.parse(point.time) * 1000, point.count] as const),
    samples: template.samples,
    traceIds: template.traceIds,
  }));
}

/** Traces sampled before and after onset (failing ones and any), for findTraceOrigins(). */
export async function gatherTraceSample(
  services: GovernedServices,
  alert: AlertView,
  window: RcaWindow,
  perSide = 50,
): Promise<TraceSample> {
  const iso = (us: number) => new Date(us / 1000).toISOString();
  const scope = { namespace: alert.namespace, environment: alert.environment ?? undefined, limit: perSide };
  const sample = async (fromUs: number, toUs: number, status?: 'error'): Promise<TraceSide> => {
    const query = traceQuerySchema.parse({ ...scope, from: iso(fromUs), to: iso(toUs), status });
    const found = await absentAsEmpty(() => services.traceSample(query));
    return { traces: found?.traces ?? [], fromUs, toUs, truncated: found?.truncated ?? false };
  };
  const [failing, failingBefore, all, allBefore] = await Promise.all([
    sample(window.onsetUs, window.endUs, 'error'),
    sample(window.baselineStartUs, window.baselineEndUs, 'error'),
    sample(window.onsetUs, window.endUs),
    sample(window.baselineStartUs, window.baselineEndUs),
  ]);
  return { failing, failingBefore, all, allBefore };
}

function seriesOf(result: MetricResult, kind: Series['kind']): Series[] {
  return result.series.map((series) => ({
    service: series.labels.component ?? series.labels.service ?? 'unknown',
    metric: result.metric,
    kind,
    source: 'metric' as const,
    unit: result.unit,
    points: series.points
      .filter((point): point is { time: string; value: number } => point.value !== null)
      .map((point) => [Date.parse(point.time) * 1000, point.value] as const),
  }));
}

const certainReasons = new Set(['OOMKilled', 'BackOff']);

async function eventSignals(
  services: GovernedServices,
  namespace: string,
  environment: string | undefined,
  since: string,
): Promise<PlatformSignal[]> {
  // Releases belong to no environment: read the namespace's events and keep this environment's and those.
  const events = await services.events({ namespace, since, limit: 2000 });
  const signals: PlatformSignal[] = [];
  for (const event of events) {
    if (event.component === null) continue;
    if (environment !== undefined && event.environment !== null && event.environment !== environment)
      continue;
    const where = `${event.component}${event.environment === null ? '' : `@${event.environment}`}`;
    const query = `opspilot get events -n ${namespace} --component ${event.component}${event.environment === null ? '' : ` --environment ${event.environment}`} --reason ${event.reason}`;
    const base = { service: event.component, atUs: Date.parse(event.lastTimestamp) * 1000, query };
    if (event.reason === 'Scaled' && / to 0 replicas$/.test(event.message)) {
      signals.push({
        ...base,
        source: 'event',
        reason: 'ScaledToZero',
        summary: `${where}: ${event.message}`,
        strength: 'certain',
      });
    } else if (certainReasons.has(event.reason)) {
      signals.push({
        ...base,
        source: 'event',
        reason: event.reason,
        summary: `${where}: ${event.reason} ×${event.count}: ${event.message}`,
        strength: 'certain',
      });
    } else if (event.reason === 'ReleaseCreated' && !/-1 /.test(`${event.message} `)) {
      // A new release of the component (not its first): a change that often causes incidents.
      signals.push({
        ...base,
        source: 'change',
        reason: 'Release',
        summary: `${where}: ${event.message}`,
        strength: 'suggestive',
      });
    } else if (event.reason === 'BindingChanged') {
      signals.push({
        ...base,
        source: 'change',
        reason: / → 0\)$/.test(event.message) ? 'ScaledToZero' : 'ConfigChange',
        summary: `${where}: ${event.message}`,
        strength: / → 0\)$/.test(event.message) ? 'certain' : 'suggestive',
      });
    } else if (event.reason === 'Unhealthy') {
      signals.push({
        ...base,
        source: 'event',
        reason: event.reason,
        summary: `${where}: ${event.message}`,
        strength: 'suggestive',
      });
    }
  }
  return signals;
}

/** Changes that ran: binding changes through proposals (releases, replicas, resources, env). */
async function changeSignals(
  services: GovernedServices,
  namespace: string,
  environment: string | undefined,
  sinceUs: number,
): Promise<PlatformSignal[]> {
  const proposals = await services.listProposals({
    namespace,
    statuses: ['succeeded', 'verifying', 'executing'],
    limit: 200,
  });
  const signals: PlatformSignal[] = [];
  for (const proposal of proposals) {
    const at = proposal.execution.startedAt;
    if (at === null || Date.parse(at) * 1000 < sinceUs) continue;
    for (const change of proposal.changes) {
      if (change.kind !== 'ReleaseBinding') continue;
      const before = change.before?.spec as ReleaseBindingSpec | undefined;
      const after = change.after?.spec as ReleaseBindingSpec | undefined;
      const spec = after ?? before;
      if (spec === undefined || (environment !== undefined && spec.environment !== environment)) continue;
      signals.push(bindingSignal(proposal, spec, before, after, Date.parse(at) * 1000));
    }
  }
  return signals;
}

function bindingSignal(
  proposal: Proposal,
  spec: ReleaseBindingSpec,
  before: ReleaseBindingSpec | undefined,
  after: ReleaseBindingSpec | undefined,
  atUs: number,
): PlatformSignal {
  const where = `${spec.component}@${spec.environment}`;
  const base = {
    service: spec.component,
    atUs,
    source: 'change' as const,
    query: `opspilot proposals show ${proposal.id}`,
  };
  if (after !== undefined && after.replicas === 0 && (before?.replicas ?? 1) > 0) {
    return {
      ...base,
      reason: 'ScaledToZero',
      summary: `${where} scaled from ${before?.replicas ?? '?'} to 0 replicas by ${proposal.createdBy.subject} (proposal ${proposal.id})`,
      strength: 'certain',
    };
  }
  if (before?.release !== after?.release) {
    return {
      ...base,
      reason: 'Release',
      summary: `${where} moved from release ${before?.release ?? '(latest)'} to ${after?.release ?? '(latest)'} (proposal ${proposal.id}, ${proposal.createdBy.subject})`,
      strength: 'suggestive',
    };
  }
  return {
    ...base,
    reason: 'ConfigChange',
    summary: `${where} changed: ${proposal.title} (proposal ${proposal.id}, ${proposal.createdBy.subject})`,
    strength: 'suggestive',
  };
}

/**
 * A change of a service that may have caused the incident: a new release, or a binding change (env, resources,
 * replicas, release) made through a proposal or straight to the platform, with what undoing it restores.
 */
export interface CausalChange {
  readonly kind: 'release' | 'config';
  readonly service: string;
  readonly atUs: number;
  readonly summary: string;
  /** For a binding change: the fields as they were before it (null: the key was unset). */
  readonly restore?: {
    readonly env?: Readonly<Record<string, string | null>>;
    readonly resources?: ReleaseBindingSpec['resources'];
    readonly release?: string | null;
  };
  /** The proposal that made it, when it went through one. */
  readonly proposal?: string;
}

/** A change counts as the cause when it landed inside the incident window or this long before onset. */
export const causalChangeLeadUs = 10 * 60_000_000;

/**
 * The latest release or binding change of `service` from a few minutes before onset until the end of the
 * window (events and proposals, read as the caller). Scaling to zero is left to its own remedy (scale back).
 */
export async function gatherCausalChange(
  services: GovernedServices,
  alert: AlertView,
  service: string,
  window: RcaWindow,
): Promise<CausalChange | undefined> {
  const environment = alert.environment ?? undefined;
  const sinceUs = window.onsetUs - causalChangeLeadUs;
  const found: CausalChange[] = [];
  const events = await services.events({
    namespace: alert.namespace,
    component: service,
    since: new Date(sinceUs / 1000).toISOString(),
    limit: 200,
  });
  for (const event of events) {
    const atUs = Date.parse(event.lastTimestamp) * 1000;
    if (atUs < sinceUs || atUs > window.endUs) continue;
    if (event.reason === 'ReleaseCreated' && !/-1 /.test(`${event.message} `)) {
      found.push({ kind: 'release', service, atUs, summary: `${service}: ${event.message}` });
    } else if (
      event.reason === 'BindingChanged' &&
      (environment === undefined || event.environment === environment) &&
      !/ → 0\)$/.test(event.message)
    ) {
      const restore = restoreOf(event.message);
      if (restore !== undefined) {
        found.push({
          kind: 'config',
          service,
          atUs,
          summary: `${service}@${event.environment ?? ''}: ${event.message}`,
          restore,
        });
      }
    }
  }
  const proposals = await services.listProposals({
    namespace: alert.namespace,
    statuses: ['succeeded', 'verifying'],
    limit: 200,
  });
  for (const proposal of proposals) {
    const at = proposal.execution.startedAt;
    if (at === null) continue;
    const atUs = Date.parse(at) * 1000;
    if (atUs < sinceUs || atUs > window.endUs) continue;
    for (const change of proposal.changes) {
      const before = change.before?.spec as ReleaseBindingSpec | undefined;
      const after = change.after?.spec as ReleaseBindingSpec | undefined;
      if (change.kind !== 'ReleaseBinding' || before === undefined || after === undefined) continue;
      if (after.component !== service || (environment !== undefined && after.environment !== environment))
        continue;
      if (after.replicas === 0 && before.replicas > 0) continue;
      const same = (field: keyof ReleaseBindingSpec) =>
        JSON.stringify(before[field] ?? null) === JSON.stringify(after[field] ?? null);
      if (same('env') && same('resources') && same('release')) continue;
      const env: Record<string, string | null> = {};
      for (const key of new Set([...Object.keys(before.env), ...Object.keys(after.env)])) {
        if (before.env[key] !== after.env[key]) env[key] = before.env[key] ?? null;
      }
      found.push({
        kind: same('release') ? 'config' : 'release',
        service,
        atUs,
        summary: `${service}@${after.environment}: ${proposal.title} (proposal ${proposal.id}, ${proposal.createdBy.subject})`,
        proposal: proposal.id,
        restore: {
          ...(same('env') ? {} : { env }),
          ...(same('resources') ? {} : { resources: before.resources }),
          ...(same('release') ? {} : { release: before.release ?? null }),
        },
      });
    }
  }
  // Events of changes made through proposals duplicate them: the newest change is the one to undo.
  return found.sort((a, b) => b.atUs - a.atUs || (a.proposal === undefined ? 1 : -1))[0];
}

/** `[env.KEY: "old" → "new"; resources.limits.memory: …]` of a BindingChanged event, as the fields to restore. */
function restoreOf(message: string): CausalChange['restore'] | undefined {
  const details = /\[(.*)\]/.exec(message)?.[1];
  if (details === undefined) return undefined;
  const env: Record<string, string | null> = {};
  let resources: Record<string, Record<string, string>> | undefined;
  for (const part of details.split('; ')) {
    const match = /^([\w.-]+): (.*) → (.*)$/.exec(part);
    if (match === null) continue;
    const [, path = '', beforeText = ''] = match;
    const before = beforeText === 'unset' ? null : (JSON.parse(beforeText) as unknown);
    const [field, ...rest] = path.split('.');
    if (field === 'env' && rest.length > 0) env[rest.join('.')] = typeof before === 'string' ? before : null;
    if (field === 'resources' && rest.length === 2 && typeof before === 'string') {
      const [group = '', name = ''] = rest;
      resources = { ...resources, [group]: { ...resources?.[group], [name]: before } };
    }
  }
  return {
    ...(Object.keys(env).length === 0 ? {} : { env }),
    ...(resources === undefined ? {} : { resources }),
  };
}

/** How long before onset the report's timeline begins. */
export const timelineLeadUs = 5 * 60_000_000;

/**
 * The incident's own timeline: entries of the top causes, the alerted service and the services they call or
 * are called by, from a few minutes before onset until the end of the window (not the last incident's events).
 */
export function incidentTimeline(
  analysis: Pick<RcaReport, 'rootCauses' | 'timeline'>,
  input: Pick<RcaInput, 'edges' | 'window' | 'focus'>,
  topCauses = 3,
): TimelineEntry[] {
  const core = new Set(analysis.rootCauses.slice(0, topCauses).map((cause) => cause.service));
  if (input.focus !== undefined) core.add(input.focus);
  const services = new Set(core);
  for (const [caller, callee] of input.edges) {
    if (core.has(caller)) services.add(callee);
    if (core.has(callee)) services.add(caller);
  }
  const fromUs = input.window.onsetUs - timelineLeadUs;
  return analysis.timeline.filter((entry) => {
    const atUs = Date.parse(entry.at) * 1000;
    return services.has(entry.service) && atUs >= fromUs && atUs <= input.window.endUs;
  });
}
