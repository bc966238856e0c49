// Alerting on real stores: the state machine with its history and bus events, Alertmanager's webhook payloads,
// and rule/SLO evaluation over telemetry in the embedded store.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scoreSeries } from '../../src/analysis/anomaly/detector.js';
import { loadConfig } from '../../src/config/load-config.js';
import { InvalidError } from '../../src/core/errors.js';
import { InProcessEventBus } from '../../src/core/event-bus.js';
import { randomIds } from '../../src/core/ids.js';
import { bootstrapPlatform } from '../../src/platform/bootstrap.js';
import { PlatformService } from '../../src/platform/platform-service.js';
import { AlertEvaluator } from '../../src/telemetry/alerting/alert-evaluator.js';
import { AlertService } from '../../src/telemetry/alerting/alert-service.js';
import { alertTopics, type AlertmanagerPayload } from '../../src/telemetry/alerting/contracts.js';
import { identityOf } from '../../src/telemetry/ingest/resource-identity.js';
import { emptyBatch } from '../../src/telemetry/model.js';
import { TelemetryPlane } from '../../src/telemetry/telemetry-plane.js';
import { yamlDocuments } from '../helpers/manifests.js';
import { sqliteStore, type TestStore } from '../helpers/state-stores.js';
import { idleRuntime } from '../helpers/idle-runtime.js';

class TestClock {
  constructor(public time = Date.parse('2026-06-01T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

let subject: TestStore;
let clock: TestClock;
let bus: InProcessEventBus;
let alerts: AlertService;
let published: { topic: string; rule: string; state: string }[];

beforeEach(async () => {
  subject = await sqliteStore();
  clock = new TestClock();
  bus = new InProcessEventBus();
  published = [];
  for (const topic of Object.values(alertTopics)) {
    bus.subscribe(topic, (event) => {
      const payload = event.payload as { rule: string; state: string };
      published.push({ topic, rule: payload.rule, state: payload.state });
    });
  }
  alerts = new AlertService({ store: subject.store, bus, clock });
});

afterEach(async () => {
  await subject.dispose();
});

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function observation(active: boolean, value = 0.3) {
  return {
    rule: 'AlertRule/high-errors',
    namespace: 'shop',
    component: 'cart',
    environment: 'prod',
    severity: 'critical',
    labels: { alertname: 'high-errors', component: 'cart', environment: 'prod' },
    annotations: {},
    summary: `error rate ${value}`,
    triggerAiRca: true,
    active,
    value,
    forMs: 60_000,
  };
}

describe('alert state machine', () => {
  it('goes pending, fires after its for: duration, resolves, and records each step once', async () => {
    const fingerprint = await alerts.observe(observation(true));
    expect((await alerts.list({ namespace: 'shop' }))[0]).toMatchObject({
      fingerprint,
      state: 'pending',
      firedAt: null,
      groupKey: 'shop/prod/20260601-120000-cart',
    });
    clock.advance(30_000);
    await alerts.observe(observation(true, 0.4));
    expect((await alerts.list({}))[0]).toMatchObject({ state: 'pending', value: 0.4 });
    clock.advance(31_000);
    await alerts.observe(observation(true, 0.5));
    expect((await alerts.list({ state: 'firing' }))[0]).toMatchObject({
      fingerprint,
      triggerAiRca: true,
      value: 0.5,
    });
    clock.advance(15_000);
    await alerts.observe(observation(true, 0.5)); // still firing: no new history entry
    clock.advance(15_000);
    await alerts.observe(observation(false, 0.01));
    await flush();
    expect((await alerts.list({}))[0]).toMatchObject({
      state: 'resolved',
      resolvedAt: '2026-06-01T12:01:31.000Z',
    });
    expect((await alerts.history({ fingerprint })).map((event) => event.state)).toEqual([
      'resolved',
      'firing',
      'pending',
    ]);
    expect(published).toEqual([
      { topic: 'alerts.firing', rule: 'AlertRule/high-errors', state: 'firing' },
      { topic: 'alerts.resolved', rule: 'AlertRule/high-errors', state: 'resolved' },
    ]);
  });

  it('clears a pending alert silently when the condition goes away before it fires', async () => {
    await alerts.observe(observation(true));
    await alerts.observe(observation(false));
    await flush();
    expect((await alerts.list({}))[0]?.state).toBe('resolved');
    expect(published).toEqual([]);
  });

  it('takes Alertmanager webhook payloads into the same history, deduplicated', async () => {
    const payload = {
      version: '4',
      status: 'firing' as const,
      alerts: [
        {
          status: 'firing' as const,
          labels: {
            alertname: 'HighLatency',
            namespace: 'shop',
            service: 'checkout',
            environment: 'prod',
            severity: 'critical',
            trigger_ai_rca: 'true',
          },
          annotations: { summary: 'p95 above 500ms' },
          startsAt: '2026-06-01T11:59:00.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint: 'abc123',
        },
      ],
    };
    expect(await alerts.receiveAlertmanager(payload)).toBe(1);
    expect(await alerts.receiveAlertmanager(payload)).toBe(0);
    const [alert] = await alerts.list({ namespace: 'shop' });
    expect(alert).toMatchObject({
      fingerprint: 'am-abc123',
      source: 'alertmanager',
      rule: 'HighLatency',
      component: 'checkout',
      state: 'firing',
      triggerAiRca: true,
      firedAt: '2026-06-01T11:59:00.000Z',
      summary: 'p95 above 500ms',
    });
    const [firing] = payload.alerts;
    if (firing === undefined) throw new Error('no alert');
    const resolved: AlertmanagerPayload = {
      ...payload,
      status: 'resolved',
      alerts: [{ ...firing, status: 'resolved', endsAt: '2026-06-01T12:05:00.000Z' }],
    };
    expect(await alerts.receiveAlertmanager(resolved)).toBe(1);
    await flush();
    expect((await alerts.list({}))[0]).toMatchObject({
      state: 'resolved',
      resolvedAt: '2026-06-01T12:05:00.000Z',
    });
    expect(published.map((event) => event.topic)).toEqual(['alerts.firing', 'alerts.resolved']);
  });
});

describe('rule and SLO evaluation', () => {
  let plane: TelemetryPlane;
  let platform: PlatformService;
  let evaluator: AlertEvaluator;

  beforeEach(async () => {
    plane = await TelemetryPlane.open({
      config: loadConfig({ env: {} }),
      logger: pino({ level: 'silent' }),
      clock,
      path: ':memory:',
    });
    platform = new PlatformService({
      store: subject.store,
      runtime: idleRuntime,
      clock,
      ids: randomIds,
    });
    await bootstrapPlatform(platform);
    evaluator = new AlertEvaluator({
      rules: platform,
      queries: plane.queries,
      alerts,
      clock,
      logger: pino({ level: 'silent' }),
      intervalMs: 60_000,
    });
  });

  afterEach(async () => {
    await plane.close();
  });

  /** Server spans for a component over the last minutes: `errors` of every ten fail. */
  async function traffic(component: string, errors: number, minutes = 10): Promise<void> {
    const batch = emptyBatch();
    const resource = identityOf({ 'service.name': component, 'opspilot.environment': 'prod' });
    const end = clock.time * 1000;
    for (let index = 0; index < minutes * 60; index += 1) {
      const start = end - index * 1_000_000;
      batch.spans.push({
        resource,
        traceId: index.toString(16).padStart(32, '0'),
        spanId: index.toString(16).padStart(16, '0'),
        parentSpanId: '',
        name: 'GET /',
        kind: 2,
        startUs: start,
        endUs: start + 20_000,
        durationUs: 20_000,
        statusCode: index % 10 < errors ? 2 : 0,
        statusMessage: '',
        attributes: {},
        events: [],
        scope: '',
      });
    }
    await plane.ingest(batch);
  }

  it('fires an error-rate rule per component after its for: duration and resolves it when traffic recovers', async () => {
    await platform.apply(
      yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: AlertRule
metadata: { name: high-errors }
spec: { errorRate: { above: 0.2, window: 5m }, for: 1m, severity: critical, triggerAiRca: true, labels: { team: shop } }
`),
    );
    await traffic('cart', 5);
    await traffic('search', 0);
    await evaluator.evaluate();
    const pending = await alerts.list({ namespace: 'default' });
    expect(pending.map((alert) => [alert.component, alert.state])).toEqual([['cart', 'pending']]);
    expect(pending[0]?.labels).toMatchObject({ alertname: 'high-errors', team: 'shop', environment: 'prod' });
    clock.advance(61_000);
    await evaluator.evaluate();
    expect((await alerts.list({ state: 'firing' })).map((alert) => alert.summary)).toEqual([
      'error_rate of cart in prod is 50 % (> 20 % over 5m)',
    ]);
    clock.advance(10 * 60_000);
    await traffic('cart', 0);
    await evaluator.evaluate();
    expect(await alerts.list({ state: 'firing' })).toEqual([]);
  });

  it('fires an anomaly rule when a metric leaves its usual pattern, and says what is usual', async () => {
    await platform.apply(
      yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: AlertRule
metadata: { name: queue-anomaly }
spec: { anomaly: { metric: queue.depth, step: 1m, history: 1d }, for: 0s, severity: warning }
`),
    );
    const resource = identityOf({ 'service.name': 'cart', 'opspilot.environment': 'prod' });
    /** One gauge point a minute, `minutes` back from now: an hourly wave with a little fixed jitter. */
    const gauge = async (minutes: number, value: (minute: number) => number): Promise<void> => {
      const batch = emptyBatch();
      for (let back = minutes; back >= 1; back -= 1) {
        const minute = Math.floor(clock.time / 60_000) - back;
        batch.points.push({
          resource,
          name: 'queue.depth',
          unit: '',
          type: 'gauge',
          temporality: 0,
          monotonic: false,
          timeUs: minute * 60_000_000 + 30_000_000,
          startUs: 0,
          value: value(minute),
          count: Number.NaN,
          min: Number.NaN,
          max: Number.NaN,
          bounds: [],
          bucketCounts: [],
          attributes: {},
        });
      }
      await plane.ingest(batch);
    };
    const usual = (minute: number): number =>
      50 + 10 * Math.sin((2 * Math.PI * minute) / 60) + ((minute * 7) % 5) / 5;
    await gauge(24 * 60 - 2, usual);
    await evaluator.evaluate();
    expect(await alerts.list({ state: 'pending' })).toEqual([]);
    expect(await alerts.list({ state: 'firing' })).toEqual([]);

    clock.advance(80_000); // the minute of the spike has ended, and data for it had 15 s to arrive
    await gauge(1, () => 400);
    await evaluator.evaluate();
    const firing = await alerts.list({ state: 'firing' });
    expect(firing.map((alert) => [alert.component, alert.environment])).toEqual([['cart', 'prod']]);
    expect(firing[0]?.value).toBeGreaterThan(0.55);
    // The wave runs 40–61: the detector's band lies inside it, and 400 is several times its high.
    const summary = firing[0]?.summary ?? '';
    expect(summary).toMatch(
      /^queue\.depth of cart in prod is 400, usually (4\d|5\d)(\.\d+)?–(5\d|6[01])(\.\d+)?: far above its usual range, \d(\.\d)? times its usual high \(anomaly score 0\.\d+, bound 0\.55\)$/,
    );

    // The live rule runs the offline detector with its one configuration: the same series the rule read
    // (whole 1m buckets over the last day, ending 15 s in the past), scored by `scoreSeries` as
    // `opspilot analyze anomalies` scores a file, gives exactly the alert's value.
    const toMs = Math.floor((clock.time - 15_000) / 60_000) * 60_000;
    const read = await plane.queries.metrics({
      namespace: 'default',
      environment: 'prod',
      metric: 'queue.depth',
      from: new Date(toMs - 86_400_000).toISOString(),
      to: new Date(toMs).toISOString(),
      step: '1m',
      groupBy: 'component',
    });
    const points = (read.series[0]?.points ?? []).filter((point) => point.value !== null);
    expect(points.length).toBeGreaterThan(1000);
    const offline = scoreSeries(
      points.map((point) => point.value ?? 0),
      points.map((point) => Date.parse(point.time)),
    );
    expect(firing[0]?.value).toBe(offline.at(-1));
  });

  it('refuses an anomaly rule whose history is too short to learn from, or longer than a query reads', async () => {
    const refusal: unknown = await platform
      .apply(
        yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: AlertRule
metadata: { name: too-short }
spec: { anomaly: { metric: cpu, step: 5m, history: 6h } }
`),
      )
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InvalidError);
    const [issue] = (refusal as InvalidError).issues;
    expect(issue?.path).toBe('spec.anomaly.history');
    expect(issue?.message).toContain('6h is 72 steps of 5m');

    const tooLong: unknown = await platform
      .apply(
        yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: AlertRule
metadata: { name: too-long }
spec: { anomaly: { metric: cpu, step: 1m, history: 7d } }
`),
      )
      .catch((error: unknown) => error);
    expect((tooLong as InvalidError).issues[0]?.message).toContain(
      'at most 2000 steps; 7d is 10080 steps of 1m',
    );
  });

  it('fires SLO burn-rate alerts by severity when both windows burn too fast, once their short window is observed', async () => {
    await platform.apply(
      yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: SLO
metadata: { name: cart-availability }
spec: { component: cart, environment: prod, objective: 99, triggerAiRca: true }
`),
    );
    await traffic('cart', 2, 60); // 20% errors for an hour against a 1% budget: a burn rate of 20
    await evaluator.evaluate();
    // The critical pairs (1h/5m, 6h/30m) are observed; the warning pairs' short windows (2h, 6h) are not yet.
    let firing = await alerts.list({ state: 'firing' });
    expect(firing.map((alert) => alert.severity)).toEqual(['critical']);
    expect(firing[0]?.summary).toContain('(over 1h and 5m; limit 14.4×)');

    clock.advance(3 * 60 * 60_000);
    await traffic('cart', 2, 3 * 60); // three hours on: the 1d/2h pair is observed in full
    await evaluator.evaluate();
    firing = await alerts.list({ state: 'firing' });
    expect(firing.map((alert) => alert.severity).sort()).toEqual(['critical', 'warning']);
  });

  it('raises nothing from a series that has just begun, and judges it past its startup grace', async () => {
    await platform.apply(
      yamlDocuments(`apiVersion: opspilot.dev/v1alpha1
kind: AlertRule
metadata: { name: cart-errors }
spec: { errorRate: { above: 0.2, window: 5m }, for: 0s, severity: critical, triggerAiRca: true }
---
apiVersion: opspilot.dev/v1alpha1
kind: SLO
metadata: { name: cart-availability }
spec: { component: cart, environment: prod, objective: 99, triggerAiRca: true }
`),
    );
    // A component that started 40 seconds ago, half its first requests failing (its dependencies are not up).
    await traffic('cart', 5, 40 / 60);
    await evaluator.evaluate();
    expect(await alerts.list({})).toEqual([]);

    // Two minutes on, failing for real: only what came after the first minute is judged, and it fires.
    clock.advance(2 * 60_000);
    await traffic('cart', 5, 2);
    await evaluator.evaluate();
    const firing = await alerts.list({ state: 'firing' });
    expect(firing.map((alert) => alert.rule)).toEqual(['AlertRule/cart-errors']);
    expect(firing[0]?.summary).toMatch(
      /^error_rate of cart in prod is \d+(\.\d)? % \(> 20 % over 5m; \d+ s observed\)$/,
    );
  });
});
