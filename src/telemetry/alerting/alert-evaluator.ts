// Evaluates AlertRules and SLOs on a timer, through the telemetry queries, and feeds the results to the alert
// state machine. Threshold, error-rate and latency rules compare one value per component and environment over
// their window; anomaly rules score each component's series with the streaming anomaly detector; SLOs fire on
// multi-window, multi-burn-rate conditions (Google SRE workbook).
import { StreamingAnomalyDetector, defaultDetectorOptions } from '../../analysis/anomaly/detector.js';
import { describeReading } from '../../analysis/anomaly/describe.js';
import { formatMeasure } from '../../core/measure.js';
import type { Clock } from '../../core/clock.js';
import { PeriodicTask } from '../../core/periodic-task.js';
import { NotFoundError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { AlertRuleSpec, Kind, Resource, SloSpec } from '../../platform/resource-kinds.js';
import type { Aggregation } from '../query/contracts.js';
import type { TelemetryQueryService } from '../query/telemetry-query-service.js';
import { durationMs } from '../../core/duration.js';
import type { AlertService } from './alert-service.js';
import {
  defaultPlatformSignalSettings,
  isUnready,
  judgePlatformSignals,
  platformRule,
  platformSignalNames,
  type PlatformSignal,
  type PlatformSignalSettings,
} from './platform-signals.js';
import type { EnvironmentStatus } from '../../platform/contracts.js';
import type { NamespaceSpec, ReleaseBindingSpec } from '../../platform/resource-kinds.js';
import { defaultWarmUp, judgedWindow, warmingUp, type WarmUpSettings } from './warm-up.js';

/** Where rules come from: the platform's resources (and, for platform signals, its bindings and events). */
export interface RuleSource {
  list(kind: Kind, filter?: { namespace?: string }): Promise<Resource[]>;
  events?(filter: { namespace?: string; reason?: string; since?: string; limit?: number }): Promise<
    readonly {
      reason: string;
      message: string;
      component: string | null;
      environment: string | null;
      count: number;
      lastTimestamp: string;
    }[]
  >;
}

export interface AlertEvaluatorOptions {
  readonly rules: RuleSource;
  readonly queries: TelemetryQueryService;
  readonly alerts: AlertService;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** New series are not judged at once (warm-up.ts); defaults to defaultWarmUp. */
  readonly warmUp?: WarmUpSettings;
  /** Thresholds of the built-in platform signals (platform-signals.ts). */
  readonly platformSignals?: PlatformSignalSettings;
}

/** How late data may arrive and still count for its bucket (replicas export metrics every 10 s by default). */
const lateDataMs = 15_000;

interface Observation {
  component: string;
  value: number | null;
  holds: boolean;
  summary: string;
}

interface Condition {
  metric: string;
  aggregation: Aggregation | undefined;
  operator: '>' | '>=' | '<' | '<=';
  value: number;
  windowMs: number;
  window: string;
}

export class AlertEvaluator {
  private readonly task: PeriodicTask;
  /** When each namespace/environment/component first reported (it only moves later when retention drops data). */
  private readonly firstSeen = new Map<string, number>();
  /** Per binding: since when it has been rolling out the same release, and since when it has had no ready replica. */
  private readonly progressingSince = new Map<string, { release: string | null; since: number }>();
  private readonly unreadySince = new Map<string, number>();

  constructor(private readonly options: AlertEvaluatorOptions) {
    this.task = new PeriodicTask(() => this.evaluate(), {
      intervalMs: options.intervalMs,
      onError: (error) => {
        options.logger.error({ err: error }, 'alert evaluation failed; will retry');
      },
      unref: false,
    });
  }

  start(): void {
    this.task.start();
  }

  /** Runs an evaluation now unless one is running. */
  trigger(): void {
    this.task.trigger();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** One pass over every rule and SLO of every namespace. */
  async evaluate(): Promise<void> {
    for (const namespace of await this.options.rules.list('Namespace')) {
      const name = namespace.metadata.name;
      for (const rule of await this.options.rules.list('AlertRule', { namespace: name })) {
        await this.guard(`AlertRule/${rule.metadata.name}`, () =>
          this.evaluateRule(name, rule.metadata.name, rule.spec as AlertRuleSpec),
        );
      }
      for (const slo of await this.options.rules.list('SLO', { namespace: name })) {
        await this.guard(`SLO/${slo.metadata.name}`, () =>
          this.evaluateSlo(name, slo.metadata.name, slo.spec as SloSpec),
        );
      }
      const enabled = (namespace.spec as NamespaceSpec | undefined)?.platformSignals !== false;
      await this.guard('Platform signals', () => this.evaluatePlatformSignals(name, enabled));
    }
  }

  /**
   * The built-in platform alerts of every binding in the namespace (platform-signals.ts), through the same
   * state machine as rules; with the namespace's `platformSignals: false` they resolve and stay quiet.
   */
  private async evaluatePlatformSignals(namespace: string, enabled: boolean): Promise<void> {
    const active = new Map<PlatformSignal, Set<string>>(
      platformSignalNames.map((signal) => [signal, new Set<string>()]),
    );
    const source = this.options.rules;
    if (enabled && source.events !== undefined) {
      const settings = this.options.platformSignals ?? defaultPlatformSignalSettings;
      const nowMs = this.options.clock.now().getTime();
      const since = new Date(nowMs - Math.max(settings.quietMs, settings.restartWindowMs)).toISOString();
      const events = [
        ...(await source.events({ namespace, reason: 'OOMKilled', since, limit: 500 })),
        ...(await source.events({ namespace, reason: 'BackOff', since, limit: 500 })),
      ];
      for (const binding of await source.list('ReleaseBinding', { namespace })) {
        const spec = binding.spec as ReleaseBindingSpec;
        const status = binding.status as EnvironmentStatus | undefined;
        if (status === undefined) continue;
        const key = `${namespace}/${binding.metadata.name}`;
        const progressing = status.state === 'Active' && status.phase === 'Progressing';
        const previous = this.progressingSince.get(key);
        if (!progressing) this.progressingSince.delete(key);
        else if (previous === undefined || previous.release !== status.release)
          this.progressingSince.set(key, { release: status.release, since: nowMs });
        if (!isUnready(status)) this.unreadySince.delete(key);
        else if (!this.unreadySince.has(key)) this.unreadySince.set(key, nowMs);
        const observations = judgePlatformSignals(
          {
            component: spec.component,
            environment: spec.environment,
            state: status.state,
            phase: status.phase,
            message: status.message,
            release: status.release,
            desiredReplicas: status.desiredReplicas,
            readyReplicas: status.readyReplicas,
            serves: status.endpoint !== null,
            events: events.filter(
              (event) => event.component === spec.component && event.environment === spec.environment,
            ),
            progressingSinceMs: this.progressingSince.get(key)?.since,
            unreadySinceMs: this.unreadySince.get(key),
          },
          nowMs,
          settings,
        );
        for (const observation of observations) {
          const fingerprint = await this.options.alerts.observe({
            rule: platformRule(observation.signal),
            namespace,
            component: spec.component,
            environment: spec.environment,
            severity: observation.severity,
            labels: {
              alertname: observation.signal,
              namespace,
              component: spec.component,
              environment: spec.environment,
              severity: observation.severity,
              source: 'platform',
            },
            annotations: { summary: observation.summary },
            summary: observation.summary,
            triggerAiRca: true,
            active: observation.active,
            value: observation.value,
            forMs: 0, // each signal already says how long its condition must hold
          });
          if (observation.active) active.get(observation.signal)?.add(fingerprint);
        }
      }
    }
    for (const [signal, fingerprints] of active)
      await this.options.alerts.resolveOthers(platformRule(signal), namespace, fingerprints);
  }

  private async guard(rule: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      // One broken rule must not stop the others.
      this.options.logger.warn({ rule, err: errorMessage(error) }, 'could not evaluate a rule');
    }
  }

  private async evaluateRule(namespace: string, name: string, spec: AlertRuleSpec): Promise<void> {
    const rule = `AlertRule/${name}`;
    const environments =
      spec.environment !== undefined
        ? [spec.environment]
        : this.options.queries.environmentsIn(namespace, spec.component);
    const active = new Set<string>();
    for (const environment of environments) {
      const observations =
        spec.anomaly !== undefined
          ? await this.anomalies(namespace, environment, spec.component, spec.anomaly)
          : await this.thresholds(namespace, environment, spec.component, conditionOf(spec));
      for (const { component, value, holds, summary } of observations) {
        const fingerprint = await this.options.alerts.observe({
          rule,
          namespace,
          component,
          environment,
          severity: spec.severity,
          labels: {
            alertname: name,
            namespace,
            component,
            environment,
            severity: spec.severity,
            ...spec.labels,
          },
          annotations: {
            ...(spec.description === undefined ? {} : { description: spec.description }),
            ...spec.annotations,
            summary,
          },
          summary,
          triggerAiRca: spec.triggerAiRca,
          active: holds,
          value,
          forMs: durationMs(spec.for),
        });
        if (holds) active.add(fingerprint);
      }
    }
    await this.options.alerts.resolveOthers(rule, namespace, active);
  }

  /**
   * One value per component over the condition's window, compared with its threshold. A component that began
   * reporting recently is judged only past its startup grace (warm-up.ts), over the part of the window since.
   */
  private async thresholds(
    namespace: string,
    environment: string,
    component: string | undefined,
    condition: Condition,
  ): Promise<Observation[]> {
    const series = await this.series(namespace, environment, component, {
      metric: condition.metric,
      aggregation: condition.aggregation,
      period: `last_${condition.window}`,
      step: condition.window,
    });
    const nowMs = this.options.clock.now().getTime();
    const observations: Observation[] = [];
    for (const { component: name, points, unit } of series) {
      const firstSeen = await this.firstSeenOf(namespace, environment, name);
      const judged = judgedWindow(nowMs, condition.windowMs, firstSeen, this.options.warmUp ?? defaultWarmUp);
      const describe = (value: number | null, note = ''): string =>
        `${condition.metric} of ${name} in ${environment} is ${value === null ? 'no data' : formatMeasure(value, unit)} (${condition.operator} ${formatMeasure(condition.value, unit)} over ${condition.window}${note})`;
      if (judged === undefined) {
        const value = points.at(-1)?.value ?? null;
        observations.push({
          component: name,
          value,
          holds: false,
          summary: describe(value, `; ${warmingUp(nowMs, firstSeen, this.options.warmUp ?? defaultWarmUp)}`),
        });
        continue;
      }
      let value = points.at(-1)?.value ?? null;
      if (judged.observedMs < condition.windowMs) {
        // Only the part of the window past the startup grace: one bucket from there to now.
        const [young] = await this.series(namespace, environment, name, {
          metric: condition.metric,
          aggregation: condition.aggregation,
          from: new Date(judged.fromMs).toISOString(),
          to: new Date(nowMs).toISOString(),
          step: condition.window,
        });
        value = young?.points.at(-1)?.value ?? null;
      }
      const note =
        judged.observedMs < condition.windowMs ? `; ${Math.round(judged.observedMs / 1000)} s observed` : '';
      observations.push({
        component: name,
        value,
        holds: value !== null && compare(value, condition.operator, condition.value),
        summary: describe(value, note),
      });
    }
    return observations;
  }

  /** When the component first reported, cached once known. */
  private async firstSeenOf(
    namespace: string,
    environment: string,
    component: string,
  ): Promise<number | null> {
    const key = `${namespace}\u0000${environment}\u0000${component}`;
    const known = this.firstSeen.get(key);
    if (known !== undefined) return known;
    const first = await this.options.queries.firstSeen({ namespace, environment, component });
    if (first !== null) this.firstSeen.set(key, first);
    return first;
  }

  /**
   * The metric's history per component, scored by the streaming anomaly detector: the latest complete point
   * is anomalous when its score exceeds the rule's bound.
   */
  private async anomalies(
    namespace: string,
    environment: string,
    component: string | undefined,
    anomaly: NonNullable<AlertRuleSpec['anomaly']>,
  ): Promise<Observation[]> {
    const stepMs = durationMs(anomaly.step);
    // Whole buckets only, ending a little in the past: a bucket still filling up (or whose data is still on its
    // way, exported every few seconds) would look like a drop.
    const toMs = Math.floor((this.options.clock.now().getTime() - lateDataMs) / stepMs) * stepMs;
    const series = await this.series(namespace, environment, component, {
      metric: anomaly.metric,
      aggregation: anomaly.aggregation,
      from: new Date(toMs - durationMs(anomaly.history)).toISOString(),
      to: new Date(toMs).toISOString(),
      step: anomaly.step,
    });
    return series.map(({ component: name, points, unit }) => {
      const complete = points.filter(
        (point): point is { time: string; value: number } => point.value !== null,
      );
      // The detector `opspilot analyze anomalies` runs, with its one configuration, fed point by point.
      const detector = new StreamingAnomalyDetector();
      let score = 0;
      for (const point of complete) score = detector.update(point.value, Date.parse(point.time));
      const latest = complete.at(-1)?.value;
      const learning = latest === undefined || complete.length <= defaultDetectorOptions.warmup;
      const series = `${anomaly.metric} of ${name} in ${environment}`;
      const summary = learning
        ? `${series}: learning its usual behaviour (${complete.length} of ${defaultDetectorOptions.warmup + 1} points of ${anomaly.step})`
        : describeReading({
            series,
            value: latest,
            unit,
            expected: detector.expected(),
            score,
            bound: anomaly.above,
          });
      return { component: name, value: score, holds: !learning && score > anomaly.above, summary };
    });
  }

  private async series(
    namespace: string,
    environment: string,
    component: string | undefined,
    query: {
      metric: string;
      aggregation: Aggregation | undefined;
      step: string;
    } & ({ period: string } | { from: string; to: string }),
  ): Promise<{ component: string; unit: string; points: { time: string; value: number | null }[] }[]> {
    try {
      const result = await this.options.queries.metrics({
        namespace,
        component,
        environment,
        ...query,
        groupBy: 'component',
      });
      return result.series.map((entry) => ({
        component: entry.labels.component ?? '',
        unit: result.unit,
        points: entry.points,
      }));
    } catch (error) {
      if (error instanceof NotFoundError) return []; // no data for the metric: nothing fires
      throw error;
    }
  }

  /**
   * Burn rates over each pair's long and short window, counted over the time actually observed past the
   * startup grace: a pair may fire only once its short window is observed in full and holds enough requests, so
   * minutes of data never stand for hours or days.
   */
  private async evaluateSlo(namespace: string, name: string, spec: SloSpec): Promise<void> {
    const rule = `SLO/${name}`;
    const budget = 1 - spec.objective / 100;
    const scope = { namespace, component: spec.component, environment: spec.environment };
    const warmUp = this.options.warmUp ?? defaultWarmUp;
    const nowMs = this.options.clock.now().getTime();
    const firstSeen = await this.firstSeenOf(namespace, spec.environment, spec.component);
    const observedMs = firstSeen === null ? 0 : Math.max(0, nowMs - firstSeen - warmUp.startupGraceMs);
    const burnRates = new Map<string, { rate: number; total: number }>();
    const burnRate = async (window: string): Promise<{ rate: number; total: number }> => {
      const known = burnRates.get(window);
      if (known !== undefined) return known;
      const windowMs = Math.min(durationMs(window), observedMs);
      const { total, bad } =
        windowMs <= 0
          ? { total: 0, bad: 0 }
          : await this.options.queries.sloCounts(scope, windowMs, spec.indicator);
      const rate = { rate: total === 0 ? 0 : bad / total / budget, total };
      burnRates.set(window, rate);
      return rate;
    };
    const active = new Set<string>();
    for (const severity of ['critical', 'warning', 'info'] as const) {
      const pairs = spec.burnRateAlerts.filter((pair) => pair.severity === severity);
      if (pairs.length === 0) continue;
      let worst = 0;
      let firing: (typeof pairs)[number] | undefined;
      let warming = false;
      for (const pair of pairs) {
        const [long, short] = [await burnRate(pair.long), await burnRate(pair.short)];
        worst = Math.max(worst, Math.min(long.rate, short.rate));
        const observed = observedMs >= durationMs(pair.short) && short.total >= warmUp.minimumSloRequests;
        if (!observed) warming = true;
        if (observed && long.rate > pair.factor && short.rate > pair.factor) firing ??= pair;
      }
      const rateOf = (window: string) => burnRates.get(window)?.rate ?? 0;
      const summary =
        firing === undefined
          ? `${spec.component} in ${spec.environment} burns its ${spec.objective}% error budget at ${format(worst)}×${warming ? ` (${Math.round(observedMs / 60_000)} min observed: pairs whose short window is not observed yet do not fire)` : ''}`
          : `${spec.component} in ${spec.environment} burns its ${spec.objective}% error budget ${format(Math.min(rateOf(firing.long), rateOf(firing.short)))}× too fast (over ${firing.long} and ${firing.short}; limit ${firing.factor}×)`;
      const fingerprint = await this.options.alerts.observe({
        rule,
        namespace,
        component: spec.component,
        environment: spec.environment,
        severity,
        labels: {
          alertname: name,
          slo: name,
          namespace,
          component: spec.component,
          environment: spec.environment,
          severity,
          ...spec.labels,
        },
        annotations: { ...spec.annotations, summary },
        summary,
        triggerAiRca: spec.triggerAiRca,
        active: firing !== undefined,
        value: worst,
        forMs: 0, // the short window already guards against blips
      });
      if (firing !== undefined) active.add(fingerprint);
    }
    await this.options.alerts.resolveOthers(rule, namespace, active);
  }
}

function conditionOf(spec: AlertRuleSpec): Condition {
  if (spec.threshold !== undefined) {
    const { metric, aggregation, operator, value, window } = spec.threshold;
    return { metric, aggregation, operator, value, window, windowMs: durationMs(window) };
  }
  if (spec.errorRate !== undefined) {
    return {
      metric: 'error_rate',
      aggregation: undefined,
      operator: '>',
      value: spec.errorRate.above,
      window: spec.errorRate.window,
      windowMs: durationMs(spec.errorRate.window),
    };
  }
  const latency = spec.latency ?? { percentile: 95, aboveMs: 0, window: '5m' };
  return {
    metric: `latency_p${latency.percentile}`,
    aggregation: undefined,
    operator: '>',
    value: latency.aboveMs,
    window: latency.window,
    windowMs: durationMs(latency.window),
  };
}

function compare(value: number, operator: Condition['operator'], threshold: number): boolean {
  switch (operator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

function format(value: number | null): string {
  if (value === null) return 'no data';
  return Math.abs(value) >= 100 ? value.toFixed(0) : Number(value.toPrecision(3)).toString();
}
