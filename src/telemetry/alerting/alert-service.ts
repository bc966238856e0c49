// Alert instances and their history: the pending → firing → resolved state machine, deduplicated by
// fingerprint (rule + labels) and grouped into incidents (the group key; see incident-grouping.ts), for
// opspilot's own rules, the built-in platform signals and alerts Alertmanager sends to the webhook. Firing and
// resolved alerts are published on the event bus for agents.
import { createHash } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import type { EventBus } from '../../core/event-bus.js';
import type { AlertRecord, AlertState, StateStore } from '../../state/ports.js';
import { alertTopics, type AlertEventView, type AlertView, type AlertmanagerPayload } from './contracts.js';
import { chooseIncident, type GroupableAlert } from './incident-grouping.js';

/** One evaluation of one alert instance: what the alert records, and whether its condition holds. */
export type AlertObservation = Pick<
  AlertRecord,
  | 'rule'
  | 'namespace'
  | 'component'
  | 'environment'
  | 'severity'
  | 'labels'
  | 'annotations'
  | 'summary'
  | 'triggerAiRca'
  | 'value'
> & {
  /** Whether the condition holds now. */
  readonly active: boolean;
  /** How long it must hold before the alert fires. */
  readonly forMs: number;
};

/** Services one call away from a component (its callers and callees), from the dependency graph of traces. */
export type NeighbourSource = (
  namespace: string,
  environment: string | null,
  component: string,
) => Promise<ReadonlySet<string>>;

export interface AlertServiceOptions {
  readonly store: StateStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  /** Without it, only alerts of the same component join one incident. */
  readonly neighbours?: NeighbourSource;
}

export class AlertService {
  constructor(private readonly options: AlertServiceOptions) {}

  /** Applies one evaluation of one alert instance. Returns its fingerprint. */
  async observe(observation: AlertObservation): Promise<string> {
    const now = this.options.clock.now().toISOString();
    const fingerprint = fingerprintOf(
      'opspilot',
      observation.rule,
      observation.namespace,
      observation.labels,
    );
    const existing = await this.options.store.alerts.get(fingerprint);
    const base = {
      fingerprint,
      source: 'opspilot',
      rule: observation.rule,
      namespace: observation.namespace,
      component: observation.component,
      environment: observation.environment,
      severity: observation.severity,
      labels: observation.labels,
      annotations: observation.annotations,
      value: observation.value,
      summary: observation.summary,
      triggerAiRca: observation.triggerAiRca,
      updatedAt: now,
    };
    const current = existing?.state === 'resolved' ? undefined : existing;
    if (observation.active) {
      if (current === undefined) {
        // A new instance (or a new firing after it resolved) is new evidence: its incident is chosen afresh.
        const incident = await this.incidentOf({ ...base, startedAt: now });
        const firing = observation.forMs === 0;
        await this.save(
          {
            ...base,
            groupKey: incident.groupKey,
            state: firing ? 'firing' : 'pending',
            startedAt: now,
            firedAt: firing ? now : null,
            resolvedAt: null,
          },
          `${
            firing
              ? `fired: ${observation.summary}`
              : `pending for ${observation.forMs / 1000}s: ${observation.summary}`
          } (${incident.reason})`,
        );
      } else if (
        current.state === 'pending' &&
        Date.parse(now) - Date.parse(current.startedAt) >= observation.forMs
      ) {
        await this.save(
          {
            ...base,
            groupKey: current.groupKey,
            state: 'firing',
            startedAt: current.startedAt,
            firedAt: now,
            resolvedAt: null,
          },
          `fired: ${observation.summary}`,
        );
      } else {
        await this.options.store.alerts.upsert({ ...current, ...base, state: current.state });
      }
    } else if (current !== undefined) {
      await this.clear(
        current,
        now,
        current.state === 'firing' ? 'resolved: the condition no longer holds' : 'cleared before it fired',
      );
    }
    return fingerprint;
  }

  /** Resolves the alerts of a rule that the last evaluation did not see active (their target went away). */
  async resolveOthers(rule: string, namespace: string, active: ReadonlySet<string>): Promise<void> {
    const now = this.options.clock.now().toISOString();
    for (const alert of await this.options.store.alerts.list({ namespace, rule })) {
      if (alert.state === 'resolved' || alert.source !== 'opspilot' || active.has(alert.fingerprint))
        continue;
      await this.clear(
        alert,
        now,
        alert.state === 'firing' ? 'resolved: no longer reported' : 'cleared before it fired',
      );
    }
  }

  /** Takes Alertmanager's webhook body; its alerts join the same history. Returns how many alerts changed. */
  async receiveAlertmanager(payload: AlertmanagerPayload): Promise<number> {
    let changed = 0;
    for (const alert of payload.alerts) {
      const labels = alert.labels;
      const rule = labels.alertname ?? 'alertmanager';
      const namespace = labels.namespace ?? labels.opspilot_namespace ?? 'default';
      const environment = labels.environment ?? labels.env ?? null;
      const fingerprint = `am-${alert.fingerprint ?? fingerprintOf('alertmanager', rule, namespace, labels)}`;
      const existing = await this.options.store.alerts.get(fingerprint);
      const now = this.options.clock.now().toISOString();
      const summary = alert.annotations.summary ?? alert.annotations.description ?? rule;
      const state: AlertState = alert.status;
      if (existing?.state === state) continue;
      const startedAt =
        existing !== undefined && existing.state !== 'resolved'
          ? existing.startedAt
          : (validTime(alert.startsAt) ?? now);
      const component = labels.component ?? labels.service ?? labels.job ?? null;
      // An alert already open keeps its incident; a new one (or one firing again) is grouped afresh.
      const incident =
        existing !== undefined && existing.state !== 'resolved'
          ? { groupKey: existing.groupKey, reason: `in incident ${existing.groupKey}` }
          : await this.incidentOf({ fingerprint, rule, namespace, component, environment, startedAt });
      const record: AlertRecord = {
        fingerprint,
        source: 'alertmanager',
        rule,
        namespace,
        component,
        environment,
        severity: labels.severity ?? 'warning',
        labels,
        annotations: {
          ...alert.annotations,
          ...(alert.generatorURL === undefined ? {} : { generatorURL: alert.generatorURL }),
        },
        state,
        value: null,
        summary,
        triggerAiRca: labels.trigger_ai_rca === 'true' || alert.annotations.trigger_ai_rca === 'true',
        groupKey: incident.groupKey,
        startedAt,
        firedAt: state === 'firing' ? (validTime(alert.startsAt) ?? now) : (existing?.firedAt ?? null),
        resolvedAt: state === 'resolved' ? (validTime(alert.endsAt) ?? now) : null,
        updatedAt: now,
      };
      await this.save(
        record,
        state === 'firing'
          ? `fired (Alertmanager): ${summary} (${incident.reason})`
          : `resolved (Alertmanager): ${summary}`,
      );
      changed += 1;
    }
    return changed;
  }

  async list(filter: {
    namespace?: string | undefined;
    state?: AlertState | undefined;
    limit?: number | undefined;
  }): Promise<AlertView[]> {
    const alerts = await this.options.store.alerts.list(filter);
    return alerts.map((alert) => ({
      ...alert,
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
    }));
  }

  async history(filter: {
    namespace?: string | undefined;
    fingerprint?: string | undefined;
    since?: string | undefined;
    limit?: number | undefined;
  }): Promise<AlertEventView[]> {
    const events = await this.options.store.alerts.events(filter);
    return events.map(({ id: _id, ...event }) => event);
  }

  /** The incident a new alert instance joins or opens, among the namespace's open (pending or firing) alerts. */
  private async incidentOf(alert: GroupableAlert): Promise<{ groupKey: string; reason: string }> {
    const [firing, pending] = await Promise.all([
      this.options.store.alerts.list({ namespace: alert.namespace, state: 'firing' }),
      this.options.store.alerts.list({ namespace: alert.namespace, state: 'pending' }),
    ]);
    const neighbours =
      alert.component === null || this.options.neighbours === undefined
        ? new Set<string>()
        : await this.options.neighbours(alert.namespace, alert.environment, alert.component).catch(
            () => new Set<string>(), // no graph: only the same component joins
          );
    return chooseIncident(alert, [...firing, ...pending], neighbours);
  }

  private async clear(alert: AlertRecord, now: string, message: string): Promise<void> {
    await this.save({ ...alert, state: 'resolved', resolvedAt: now, updatedAt: now }, message);
  }

  /** Stores the alert and its state change together, then tells agents about firing and resolved alerts. */
  private async save(alert: AlertRecord, message: string): Promise<void> {
    await this.options.store.transaction(async (tx) => {
      await tx.alerts.upsert(alert);
      await tx.alerts.appendEvent({
        fingerprint: alert.fingerprint,
        namespace: alert.namespace,
        rule: alert.rule,
        state: alert.state,
        at: alert.updatedAt,
        value: alert.value,
        message,
      });
    });
    if (alert.state === 'firing') this.options.bus.publish(alertTopics.firing, alert);
    if (alert.state === 'resolved' && alert.firedAt !== null)
      this.options.bus.publish(alertTopics.resolved, alert);
  }
}

export function fingerprintOf(
  source: string,
  rule: string,
  namespace: string,
  labels: Readonly<Record<string, string>>,
): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256')
    .update(JSON.stringify([source, rule, namespace, sorted]))
    .digest('hex')
    .slice(0, 16);
}

function validTime(text: string | undefined): string | undefined {
  if (text === undefined || text.startsWith('0001-')) return undefined; // Alertmanager's zero time
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}
