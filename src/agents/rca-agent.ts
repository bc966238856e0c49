// The RCA agent: every firing alert with `triggerAiRca` is investigated before a human opens a dashboard. It acts
// as the `rca-agent` principal through the governed services (so every read it makes is authorized and audited),
// runs one investigation per alert group, stores the report (running → completed | failed), and proposes a
// remediation where one fits; the proposal waits for a person's approval. No LLM is needed: the narrative below
// is written from the report itself.
import type { RootCause } from '../analysis/rca/model.js';
import { analyzeRootCauses } from '../analysis/rca/rank-root-causes.js';
import { withErrorTemplates } from '../analysis/rca/error-templates.js';
import { findTraceOrigins, withTraceOrigins } from '../analysis/rca/trace-origins.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { EventBus } from '../core/event-bus.js';
import type { Logger } from '../core/logger.js';
import { parseMemory } from '../core/quantity.js';
import type { Governance } from '../governance/governance.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Caller, Principal } from '../governance/principal.js';
import type { ChangePlan } from '../governance/proposals/proposal-service.js';
import type { ReleaseBindingSpec } from '../platform/resource-kinds.js';
import type { RcaReportView } from '../rca/contracts.js';
import type { ReportNotifier } from '../rca/notifier.js';
import type { ReportWriter } from '../rca/writer.js';
import { alertSchema, alertTopics, type AlertView } from '../telemetry/alerting/contracts.js';
import { gatherErrorTemplates, gatherEvidence, gatherTraceSample } from './rca-evidence.js';
import { defaultReuseSettings, reusableReport } from './report-reuse.js';

/** Who alert-triggered investigations run as. */
export const rcaAgentPrincipal: Principal = {
  subject: 'rca-agent',
  kind: 'agent',
  autonomy: 2,
  issuer: 'opspilot',
  grants: [{ role: 'rca-agent', scope: { namespace: '*' } }],
};

export interface RcaAgentOptions {
  readonly governance: Governance;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A completed report of the alert's incident older than this is never reused (default 30). */
  readonly reuseMinutes?: number;
  /** Announces finished reports (Slack, PagerDuty, webhooks). */
  readonly notifier?: ReportNotifier;
  /** Writes the narrative with an LLM when one is configured; the deterministic one stays if it fails. */
  readonly writer?: ReportWriter | undefined;
}

export class RcaAgent {
  private readonly inFlight = new Map<string, Promise<RcaReportView>>();
  private unsubscribe: (() => void) | undefined;
  private readonly caller: Caller = {
    principal: rcaAgentPrincipal,
    edge: 'agent',
    client: 'opspilot-rca-agent',
  };

  constructor(private readonly options: RcaAgentOptions) {}

  /** Subscribes to firing alerts. */
  start(): void {
    this.unsubscribe = this.options.bus.subscribe(alertTopics.firing, (event) => {
      const parsed = alertSchema.safeParse(event.payload);
      if (!parsed.success || !parsed.data.triggerAiRca) return;
      this.investigate(this.caller, parsed.data, 'alert').catch((error: unknown) => {
        this.options.logger.error({ err: error, alert: parsed.data.fingerprint }, 'RCA investigation failed');
      });
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await Promise.allSettled([...this.inFlight.values()]);
    await this.options.notifier?.drain();
  }

  /**
   * Investigates an alert as `caller` (the agent, or a person running `opspilot rca run`). The agent runs one
   * investigation per alert group at a time and reuses a report of the group made as the alert began.
   */
  investigate(caller: Caller, alert: AlertView, trigger: RcaReportView['trigger']): Promise<RcaReportView> {
    // A person's run always runs as that person (and is authorized as them): only the agent's runs are shared.
    if (trigger === 'manual') return this.run(caller, alert, trigger);
    const running = this.inFlight.get(alert.groupKey);
    if (running !== undefined) return running;
    const work = this.run(caller, alert, trigger).finally(() => {
      this.inFlight.delete(alert.groupKey);
    });
    this.inFlight.set(alert.groupKey, work);
    return work;
  }

  private async run(
    caller: Caller,
    alert: AlertView,
    trigger: RcaReportView['trigger'],
  ): Promise<RcaReportView> {
    const services = this.options.governance.forCaller(caller);
    if (trigger === 'alert') {
      const recent = await this.recentReport(services, alert);
      if (recent !== undefined) return recent;
    }
    const report = await services.startRcaReport({
      namespace: alert.namespace,
      alert: {
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        component: alert.component,
        environment: alert.environment,
        severity: alert.severity,
        summary: alert.summary,
        startedAt: alert.startedAt,
      },
      groupKey: alert.groupKey,
      trigger,
      requestedBy: caller.principal.subject,
    });
    try {
      const input = await gatherEvidence(services, alert, this.options.clock.now());
      const [templates, traces] = await Promise.all([
        gatherErrorTemplates(services, alert, input.window),
        gatherTraceSample(services, alert, input.window),
      ]);
      const origins = findTraceOrigins(traces);
      const analysis = withTraceOrigins(
        withErrorTemplates(
          analyzeRootCauses(input),
          templates,
          input.window,
          (template) =>
            `get_error_summary ${JSON.stringify({ namespace: alert.namespace, component: template.components[0], environment: alert.environment ?? undefined })} — "${template.template}"`,
        ),
        origins,
        (origin) =>
          `query_trace_spans ${JSON.stringify({ namespace: alert.namespace, traceId: origin.exampleTraceId })}`,
      );
      const remediation = await this.remediate(services, alert, analysis.rootCauses[0]);
      const completed: RcaReportView = {
        ...report,
        status: 'completed',
        window: analysis.window,
        rootCauses: analysis.rootCauses.map((cause) => ({
          ...cause,
          evidence: [...cause.evidence],
          explains: [...cause.explains],
        })),
        excluded: [...analysis.excluded],
        timeline: [...analysis.timeline],
        noRootCause: analysis.noRootCause,
        recommendations: recommendationsFor(alert, analysis.rootCauses[0], remediation),
        traces:
          origins.errors.length + origins.latency.length === 0 && origins.sampled.traces === 0
            ? null
            : {
                errors: [...origins.errors],
                latency: [...origins.latency],
                sampled: origins.sampled,
              },
        remediation,
      };
      const written = await this.write({ ...completed, narrative: narrativeOf(completed) });
      return this.announce(await services.finishRcaReport(written));
    } catch (error) {
      this.options.logger.warn({ err: error, report: report.id }, 'RCA investigation failed');
      return this.announce(
        await services.finishRcaReport({ ...report, status: 'failed', error: errorMessage(error) }),
      );
    }
  }

  /** The LLM's narrative when it answers in time; the deterministic one (already in the report) otherwise. */
  private async write(report: RcaReportView): Promise<RcaReportView> {
    const writer = this.options.writer;
    if (writer === undefined) return report;
    try {
      const { text, usage } = await writer.narrative(report);
      return { ...report, narrative: text, llm: { used: true, note: null, ...usage } };
    } catch (error) {
      this.options.logger.warn({ err: error, report: report.id }, 'the LLM did not write the narrative');
      return {
        ...report,
        llm: { ...report.llm, note: `deterministic narrative: the LLM failed (${errorMessage(error)})` },
      };
    }
  }

  private announce(report: RcaReportView): RcaReportView {
    this.options.notifier?.reportFinished(report);
    return report;
  }

  private async recentReport(
    services: GovernedServices,
    alert: AlertView,
  ): Promise<RcaReportView | undefined> {
    // A report of the alert's incident is reused only when it already answers this alert (report-reuse.ts):
    // one that found nothing, was made before the alert began, or did not account for its service is not.
    const reports = await services.rcaReports({ namespace: alert.namespace, limit: 50 });
    return reusableReport(alert, reports, this.options.clock.now(), {
      ...defaultReuseSettings,
      ...(this.options.reuseMinutes === undefined ? {} : { maxAgeMs: this.options.reuseMinutes * 60_000 }),
    });
  }

  /** A ready proposal for the top cause where one fits; it waits for a person's approval. */
  private async remediate(
    services: GovernedServices,
    alert: AlertView,
    cause: RootCause | undefined,
  ): Promise<RcaReportView['remediation']> {
    const environment = alert.environment;
    if (cause === undefined || environment === null) return null;
    const where = { namespace: alert.namespace, component: cause.service, environment };
    const planner = services.planner;
    let plan: ChangePlan | undefined;
    try {
      if (cause.kind === 'scaled-to-zero') {
        const previous = cause.evidence
          .map((item) => /from (\d+) to 0 replicas|replicas (\d+) → 0/.exec(item.summary))
          .find((match) => match !== null);
        const before = previous?.[1] ?? previous?.[2];
        const replicas = Math.max(1, Number(before ?? '1'));
        plan = await services.plan('component.scale', where, () =>
          planner.scale(alert.namespace, cause.service, environment, replicas),
        );
      } else if (cause.evidence.some((item) => item.metric === 'Release')) {
        plan = await services.plan('component.rollback', where, () =>
          planner.rollback(alert.namespace, cause.service, environment),
        );
      } else if (cause.evidence.some((item) => item.metric === 'OOMKilled')) {
        const binding = await services.get(
          'ReleaseBinding',
          alert.namespace,
          `${cause.service}-${environment}`,
        );
        const limit = (binding.spec as ReleaseBindingSpec).resources?.limits?.memory;
        const bytes = limit === undefined ? undefined : parseMemory(limit);
        if (bytes !== undefined) {
          const raised = `${Math.ceil((bytes * 2) / 2 ** 20)}Mi`;
          plan = await services.plan('component.update', where, () =>
            planner.patchResources(alert.namespace, cause.service, environment, {
              limits: { memory: raised },
            }),
          );
        }
      }
      if (plan === undefined) return null;
      // The same remediation already waiting for a person (another alert of the incident asked first) is reused.
      const pending = await services.listProposals({ namespace: alert.namespace, statuses: ['pending'] });
      const title = plan.title;
      const same = pending.find((candidate) => candidate.title === title);
      if (same !== undefined) return { proposal: same.id, title: same.title, status: same.status };
      const proposal = await services.propose(plan);
      return { proposal: proposal.id, title: proposal.title, status: proposal.status };
    } catch (error) {
      this.options.logger.info({ err: error, cause: cause.service }, 'no remediation proposal');
      return null;
    }
  }
}

function recommendationsFor(
  alert: AlertView,
  cause: RootCause | undefined,
  remediation: RcaReportView['remediation'],
): string[] {
  if (cause === undefined) {
    return [
      'Nothing in the telemetry opspilot holds changed enough at onset: check dependencies outside the platform and widen the window with `opspilot analyze rca`.',
    ];
  }
  const out: string[] = [];
  if (remediation !== null) {
    out.push(
      `${remediation.title} — proposal ${remediation.proposal} is ${remediation.status}; approve it with \`opspilot proposals approve ${remediation.proposal}\`.`,
    );
  }
  const env = alert.environment === null ? '' : ` in ${alert.environment}`;
  switch (cause.kind) {
    case 'scaled-to-zero':
      out.push(
        `Keep ${cause.service}${env} at two replicas or more; a production minimum-replicas guardrail refuses scaling to zero.`,
      );
      break;
    case 'saturation':
      out.push(
        `Compare ${cause.service}'s memory and cpu with its limits (\`opspilot get nodes\`, resource recommendations).`,
      );
      break;
    case 'crash':
      out.push(
        `Read ${cause.service}'s last replica output: \`opspilot logs ${cause.service}${alert.environment === null ? '' : ` -e ${alert.environment}`}\`.`,
      );
      break;
    case 'change':
      out.push(`Roll ${cause.service} back if the change is not needed now; compare the releases first.`);
      break;
    default:
      out.push(`Look at ${cause.service}'s evidence first: ${cause.evidence[0]?.query ?? ''}.`);
  }
  return out;
}

/** The deterministic narrative: what fired, what most likely caused it and why, what to do. */
export function narrativeOf(report: RcaReportView): string {
  const { alert } = report;
  const where = `${alert.component ?? report.namespace}${alert.environment === null ? '' : ` in ${alert.environment}`}`;
  const lines = [`${alert.rule} fired for ${where} (${alert.summary}).`];
  const [top, ...others] = report.rootCauses;
  if (top === undefined) {
    lines.push(`No root cause found: ${report.noRootCause ?? 'nothing changed at onset'}.`);
  } else {
    lines.push(
      `Most likely cause: ${top.service} (${top.kind}, confidence ${Math.round(top.score * 100)}%): ${top.evidence[0]?.summary ?? ''}.`,
    );
    if (top.explains.length > 0) lines.push(`It explains what was seen at ${top.explains.join(', ')}.`);
    if (others.length > 0) {
      lines.push(
        `Also considered: ${others
          .slice(0, 2)
          .map((cause) => `${cause.service} (${Math.round(cause.score * 100)}%)`)
          .join(', ')}.`,
      );
    }
  }
  const traces = report.traces;
  const errorOrigin = traces?.errors[0];
  if (errorOrigin !== undefined) {
    lines.push(
      `In the traces, failures begin at ${errorOrigin.service} (${errorOrigin.operation}) in ${errorOrigin.traces} of ${errorOrigin.of} failing traces.`,
    );
  }
  const latencyOrigin = traces?.latency[0];
  if (latencyOrigin !== undefined) {
    lines.push(
      `Of the latency added to requests, ${Math.round(latencyOrigin.share * 100)}% is spent in ${latencyOrigin.service} (+${Number(latencyOrigin.addedMs.toPrecision(3))} ms per request, mostly ${latencyOrigin.operation}).`,
    );
  }
  for (const excluded of report.excluded.slice(0, 3))
    lines.push(`Not ${excluded.service}: ${excluded.reason}.`);
  if (report.remediation !== null) {
    lines.push(
      `Ready: ${report.remediation.title} (proposal ${report.remediation.proposal}, ${report.remediation.status}).`,
    );
  }
  return lines.join(' ');
}
