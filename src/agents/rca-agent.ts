// The RCA agent: every firing alert with `triggerAiRca` is investigated before a human opens a dashboard. It acts
// as the `rca-agent` principal through the governed services (so every read it makes is authorized and audited),
// runs one investigation per alert group, stores the report (running → completed | failed), and proposes a
// remediation where one fits; the proposal waits for a person's approval. No LLM is needed: the narrative below
// is written from the report itself.
import type { RcaWindow, RootCause } from '../analysis/rca/model.js';
import { analyzeRootCauses } from '../analysis/rca/rank-root-causes.js';
import { templateLocalisation, withErrorTemplates } from '../analysis/rca/error-templates.js';
import { findTraceOrigins, traceLocalisations, withTraceOrigins } from '../analysis/rca/trace-origins.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { EventBus } from '../core/event-bus.js';
import type { Logger } from '../core/logger.js';
import { parseMemory } from '../core/quantity.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Caller } from '../governance/principal.js';
import type { ChangePlan } from '../governance/proposals/proposal-service.js';
import type { ReleaseBindingSpec } from '../platform/resource-kinds.js';
import { percent, shownConfidence, withConfidence } from '../rca/confidence.js';
import type { RcaReportView, RemediationView } from '../rca/contracts.js';
import { cliHint, seeFor } from '../rca/hints.js';
import type { ReportNotifier } from '../rca/notifier.js';
import type { ReportWriter } from '../rca/writer.js';
import { alertSchema, alertTopics, type AlertView } from '../telemetry/alerting/contracts.js';
import {
  gatherCausalChange,
  gatherErrorTemplates,
  gatherEvidence,
  gatherTraceSample,
  incidentTimeline,
} from './rca-evidence.js';
import { defaultReuseSettings, reusableReport } from './report-reuse.js';

/** Evidence hints show from this long before onset (the window's end is the report's). */
const hintLeadMs = 15 * 60_000;

export interface RcaAgentOptions {
  readonly gateway: GovernanceGateway;
  /**
   * The agent's own bearer token (`Bearer …`, the `rca-agent` actor's): alert-triggered investigations
   * authenticate with it through the gateway like any agent's.
   */
  readonly credentials: () => Promise<string>;
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

  constructor(private readonly options: RcaAgentOptions) {}

  /** Subscribes to firing alerts. */
  start(): void {
    this.unsubscribe = this.options.bus.subscribe(alertTopics.firing, (event) => {
      const parsed = alertSchema.safeParse(event.payload);
      if (!parsed.success || !parsed.data.triggerAiRca) return;
      this.asAgent()
        .then((caller) => this.investigate(caller, parsed.data, 'alert'))
        .catch((error: unknown) => {
          this.options.logger.error(
            { err: error, alert: parsed.data.fingerprint },
            'RCA investigation failed',
          );
        });
    });
  }

  /** The agent as a caller: its token, verified by the gateway. */
  private async asAgent(): Promise<Caller> {
    const { gateway } = this.options;
    const principal = await gateway.authenticate(await this.options.credentials(), [gateway.auth.audience]);
    return { principal, edge: 'agent', client: 'opspilot-rca-agent' };
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
    const services = this.options.gateway.forCaller(caller);
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
      const localisations = [...traceLocalisations(origins), templateLocalisation(templates, input.window)];
      const analysis = withTraceOrigins(
        withErrorTemplates(
          analyzeRootCauses({ ...input, localisations, callChanges: origins.callChanges }),
          templates,
          input.window,
          (template) =>
            `get_error_summary ${JSON.stringify({ namespace: alert.namespace, component: template.components[0], environment: alert.environment ?? undefined })} — "${template.template}"`,
        ),
        origins,
        (origin) =>
          `query_trace_spans ${JSON.stringify({ namespace: alert.namespace, traceId: origin.exampleTraceId })}`,
      );
      const remedies = await this.remediate(services, alert, analysis.rootCauses[0], input.window);
      const hintScope = (service: string) => ({
        namespace: alert.namespace,
        service,
        environment: alert.environment,
        from: new Date(input.window.onsetUs / 1000 - hintLeadMs).toISOString(),
        to: analysis.window.end,
      });
      const rootCauses = withConfidence(
        analysis.rootCauses.map((cause) => ({
          ...cause,
          evidence: cause.evidence.map((item) => ({ ...item, see: seeFor(item, hintScope(cause.service)) })),
          explains: [...cause.explains],
        })),
      );
      const completed: RcaReportView = {
        ...report,
        status: 'completed',
        window: analysis.window,
        rootCauses,
        excluded: [...analysis.excluded],
        timeline: incidentTimeline(analysis, input),
        noRootCause: analysis.noRootCause,
        recommendations: recommendationsFor(alert, rootCauses[0], remedies),
        traces:
          origins.errors.length + origins.latency.length === 0 && origins.sampled.traces === 0
            ? null
            : {
                errors: [...origins.errors],
                latency: [...origins.latency],
                sampled: origins.sampled,
              },
        remediation: remedies[0] ?? null,
        alternatives: remedies.slice(1),
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

  /**
   * Ready proposals for the top cause, in the order to approve them; each waits for a person. When the cause is
   * a change (a release, a binding change) shortly before onset, the first undoes it; relieving the symptom
   * (more memory for an OOM-killed service) comes second, for when undoing is not possible, and says why.
   */
  private async remediate(
    services: GovernedServices,
    alert: AlertView,
    cause: RootCause | undefined,
    window: RcaWindow,
  ): Promise<RemediationView[]> {
    const environment = alert.environment;
    if (cause === undefined || environment === null) return [];
    const namespace = alert.namespace;
    const where = { namespace, component: cause.service, environment };
    const planner = services.planner;
    const steps: { role: 'undo' | 'mitigate'; why: string; plan: () => Promise<ChangePlan | undefined> }[] =
      [];
    const before = (atUs: number) => {
      const minutes = (window.onsetUs - atUs) / 60_000_000;
      return minutes <= 0 ? 'after onset' : `${Number(minutes.toPrecision(2))} min before onset`;
    };
    if (cause.kind === 'scaled-to-zero') {
      const previous = cause.evidence
        .map((item) => /from (\d+) to 0 replicas|replicas (\d+) → 0/.exec(item.summary))
        .find((match) => match !== null);
      const replicas = Math.max(1, Number(previous?.[1] ?? previous?.[2] ?? '1'));
      steps.push({
        role: 'undo',
        why: `${cause.service} was scaled to zero; scaling it back to ${replicas} undoes that`,
        plan: () =>
          services.plan('component.scale', where, () =>
            planner.scale(namespace, cause.service, environment, replicas),
          ),
      });
    } else {
      const change = await gatherCausalChange(services, alert, cause.service, window).catch(
        (error: unknown) => {
          this.options.logger.info({ err: error, cause: cause.service }, 'changes of the cause not read');
          return undefined;
        },
      );
      const released = cause.evidence.find((item) => item.metric === 'Release');
      if (change?.kind === 'release' || (change === undefined && released !== undefined)) {
        const what = change?.summary ?? released?.summary ?? '';
        const at = change?.atUs ?? Date.parse(released?.peak.at ?? '') * 1000;
        steps.push({
          role: 'undo',
          why: `the change that caused it: ${what} (${before(at)}); rolling it back undoes it`,
          plan: () =>
            services.plan('component.rollback', where, () =>
              planner.rollback(namespace, cause.service, environment),
            ),
        });
      } else if (change?.kind === 'config' && change.restore !== undefined) {
        const restore = change.restore;
        steps.push({
          role: 'undo',
          why: `the change that caused it: ${change.summary} (${before(change.atUs)}); undoing it puts the binding back as it was`,
          plan: () =>
            services.plan('component.update', where, async () => {
              const binding = await planner.binding(namespace, cause.service, environment);
              const spec = binding.spec as ReleaseBindingSpec;
              const restored = { ...spec.env, ...restore.env };
              const env = Object.fromEntries(
                Object.entries(restored).filter((entry): entry is [string, string] => entry[1] !== null),
              );
              const resources =
                restore.resources === undefined
                  ? undefined
                  : {
                      requests: { ...spec.resources?.requests, ...restore.resources.requests },
                      limits: { ...spec.resources?.limits, ...restore.resources.limits },
                    };
              const plan = await planner.updateBinding(namespace, cause.service, environment, {
                env: restore.env === undefined ? undefined : env,
                resources,
              });
              const fields = [
                ...Object.keys(restore.env ?? {}),
                ...(restore.resources === undefined ? [] : ['resources']),
              ];
              return {
                ...plan,
                title: `undo the change of ${fields.join(', ')} on ${cause.service} in ${environment}`,
              };
            }),
        });
      }
      const oom = cause.evidence.find((item) => item.metric === 'OOMKilled');
      if (oom !== undefined) {
        const binding = await services.get('ReleaseBinding', namespace, `${cause.service}-${environment}`);
        const limit = (binding.spec as ReleaseBindingSpec).resources?.limits?.memory;
        const bytes = limit === undefined ? undefined : parseMemory(limit);
        if (bytes !== undefined) {
          const raised = `${Math.ceil((bytes * 2) / 2 ** 20)}Mi`;
          const kills = /×(\d+)/.exec(oom.summary)?.[1] ?? 'several';
          const because = `because it was OOM-killed ${kills === '1' ? 'once' : `${kills} times`} at its limit of ${limit ?? '?'}`;
          steps.push({
            role: 'mitigate',
            why:
              steps.length === 0
                ? `raise memory to ${raised}, ${because}`
                : `if ${steps[0]?.why.includes('rolling it back') === true ? 'the rollback' : 'undoing the change'} is not possible: raise memory to ${raised}, ${because}; it buys time, it does not remove the cause`,
            plan: () =>
              services.plan('component.update', where, () =>
                planner.patchResources(namespace, cause.service, environment, {
                  limits: { memory: raised },
                }),
              ),
          });
        }
      }
    }
    const remedies: RemediationView[] = [];
    for (const step of steps) {
      try {
        const plan = await step.plan();
        if (plan === undefined) continue;
        // The same remediation already waiting for a person (another alert of the incident asked first) is reused.
        const pending = await services.listProposals({ namespace, statuses: ['pending'] });
        const proposal =
          pending.find((candidate) => candidate.title === plan.title) ?? (await services.propose(plan));
        remedies.push({
          proposal: proposal.id,
          title: proposal.title,
          status: proposal.status,
          role: step.role,
          why: step.why,
        });
      } catch (error) {
        this.options.logger.info(
          { err: error, cause: cause.service, role: step.role },
          'no remediation proposal',
        );
      }
    }
    return remedies;
  }
}

function recommendationsFor(
  alert: AlertView,
  cause: RcaReportView['rootCauses'][number] | undefined,
  remedies: readonly RemediationView[],
): string[] {
  if (cause === undefined) {
    return [
      'Nothing in the telemetry opspilot holds changed enough at onset: check dependencies outside the platform and widen the window with `opspilot analyze rca`.',
    ];
  }
  const out: string[] = [];
  remedies.forEach((remedy, index) => {
    out.push(
      `${index === 0 ? 'First' : 'Then'}: ${remedy.title} — ${remedy.why ?? ''}. Proposal ${remedy.proposal} is ${remedy.status}; approve it with \`opspilot proposals approve ${remedy.proposal}\`.`,
    );
  });
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
        `Read ${cause.service}'s last replica output: \`opspilot logs ${cause.service} -n ${alert.namespace}${alert.environment === null ? '' : ` -e ${alert.environment}`}\`.`,
      );
      break;
    case 'change':
      if (remedies.every((remedy) => remedy.role !== 'undo')) {
        out.push(`Roll ${cause.service} back if the change is not needed now; compare the releases first.`);
      }
      break;
    default: {
      const first = cause.evidence[0];
      const hint = first === undefined ? null : cliHint(first);
      out.push(`Look at ${cause.service}'s evidence first${hint === null ? '' : `: \`${hint}\``}.`);
    }
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
      `Most likely cause: ${top.service} (${top.kind}, confidence ${percent(shownConfidence(top))}${top.agreeing === undefined || top.agreeing.length < 2 ? '' : `; ${top.agreeing.join(', ')} agree`}): ${top.evidence[0]?.summary ?? ''}.`,
    );
    if (top.explains.length > 0) lines.push(`It explains what was seen at ${top.explains.join(', ')}.`);
    if (others.length > 0) {
      lines.push(
        `Also considered: ${others
          .slice(0, 2)
          .map((cause) => `${cause.service} (${percent(shownConfidence(cause))})`)
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
  for (const alternative of report.alternatives) {
    lines.push(
      `Otherwise: ${alternative.title} (proposal ${alternative.proposal}): ${alternative.why ?? ''}.`,
    );
  }
  return lines.join(' ');
}
