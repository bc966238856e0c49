// Incidents on real stores: alerts are grouped by the AlertService over the state store (SQLite and PostgreSQL)
// with neighbours from the dependency graph of real spans in the embedded telemetry store.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { InProcessEventBus } from '../../src/core/event-bus.js';
import { AlertService, type AlertObservation } from '../../src/telemetry/alerting/alert-service.js';
import { dependencyNeighbours } from '../../src/telemetry/alerting/dependency-neighbours.js';
import { incidentJoinWindowMs } from '../../src/telemetry/alerting/incident-grouping.js';
import { identityOf } from '../../src/telemetry/ingest/resource-identity.js';
import { emptyBatch, type SpanEntry } from '../../src/telemetry/model.js';
import { TelemetryPlane } from '../../src/telemetry/telemetry-plane.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';

class TestClock {
  constructor(public time = Date.parse('2026-06-01T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

describe.each(stateStores)('incidents (%s)', (_name, open) => {
  let subject: TestStore;
  let plane: TelemetryPlane;
  let clock: TestClock;
  let alerts: AlertService;

  beforeEach(async () => {
    subject = await open();
    clock = new TestClock();
    plane = await TelemetryPlane.open({
      config: loadConfig({ env: {} }),
      logger: pino({ level: 'silent' }),
      clock,
      path: ':memory:',
    });
    alerts = new AlertService({
      store: subject.store,
      bus: new InProcessEventBus(),
      clock,
      neighbours: dependencyNeighbours(plane.queries),
    });
    await calls();
  });

  afterEach(async () => {
    await plane.close();
    await subject.dispose();
  });

  /** Ten minutes of requests: frontend → catalog (client span, catalog's server span under it); payment alone. */
  async function calls(): Promise<void> {
    const batch = emptyBatch();
    const identity = (service: string) =>
      identityOf({ 'service.name': service, 'opspilot.namespace': 'shop', 'opspilot.environment': 'prod' });
    const span = (
      service: string,
      traceId: string,
      spanId: string,
      parent: string,
      kind: number,
      at: number,
    ) => ({
      resource: identity(service),
      traceId,
      spanId,
      parentSpanId: parent,
      name: 'GET /',
      kind,
      startUs: at,
      endUs: at + 10_000,
      durationUs: 10_000,
      statusCode: 0,
      statusMessage: '',
      attributes: kind === 3 ? { 'peer.service': 'catalog' } : ({} as SpanEntry['attributes']),
      events: [],
      scope: '',
    });
    for (let index = 0; index < 60; index += 1) {
      const at = (clock.time - index * 10_000) * 1000;
      const trace = index.toString(16).padStart(32, '0');
      const id = (n: number) => (index * 4 + n).toString(16).padStart(16, '0');
      batch.spans.push(
        span('frontend', trace, id(0), '', 2, at),
        span('frontend', trace, id(1), id(0), 3, at + 1000),
        span('catalog', trace, id(2), id(1), 2, at + 2000),
        span('payment', `f${trace.slice(1)}`, id(3), '', 2, at),
      );
    }
    await plane.ingest(batch);
  }

  function firing(component: string, rule = `AlertRule/${component}-errors`): AlertObservation {
    return {
      rule,
      namespace: 'shop',
      component,
      environment: 'prod',
      severity: 'critical',
      labels: { alertname: rule, component, environment: 'prod' },
      annotations: {},
      summary: `${rule} of ${component}`,
      triggerAiRca: true,
      active: true,
      value: 1,
      forMs: 0,
    };
  }

  const incidentOf = async (fingerprint: string) => (await subject.store.alerts.get(fingerprint))?.groupKey;

  it('joins alerts of the same service, or of a caller and its callee, that begin within minutes', async () => {
    const slo = await alerts.observe(firing('frontend', 'SLO/frontend-availability'));
    clock.advance(30_000);
    const errors = await alerts.observe(firing('frontend'));
    clock.advance(60_000);
    const catalog = await alerts.observe(firing('catalog'));
    expect(await incidentOf(slo)).toBe('shop/prod/20260601-120000-frontend');
    expect(await incidentOf(errors)).toBe('shop/prod/20260601-120000-frontend');
    expect(await incidentOf(catalog)).toBe('shop/prod/20260601-120000-frontend');
    const history = await alerts.history({ fingerprint: catalog });
    expect(history[0]?.message).toContain('joined incident shop/prod/20260601-120000-frontend');
  });

  it('keeps an unrelated service apart, even at the same moment', async () => {
    const frontend = await alerts.observe(firing('frontend'));
    const payment = await alerts.observe(firing('payment'));
    expect(await incidentOf(payment)).toBe('shop/prod/20260601-120000-payment');
    expect(await incidentOf(payment)).not.toBe(await incidentOf(frontend));
  });

  it('keeps related services apart when they begin far apart, and a long-burning SLO alert swallows nothing', async () => {
    const slo = await alerts.observe(firing('frontend', 'SLO/frontend-availability'));
    clock.advance(incidentJoinWindowMs + 60_000);
    await alerts.observe(firing('frontend', 'SLO/frontend-availability')); // still firing, same incident
    const catalog = await alerts.observe(firing('catalog'));
    clock.advance(8 * 60_000);
    const errors = await alerts.observe(firing('frontend'));
    const keys = new Set([await incidentOf(slo), await incidentOf(catalog), await incidentOf(errors)]);
    expect(keys.size).toBe(3);
    expect(await incidentOf(slo)).toBe('shop/prod/20260601-120000-frontend');
  });

  it('opens a new incident for a new firing after the alert resolved', async () => {
    const fingerprint = await alerts.observe(firing('frontend'));
    const first = await incidentOf(fingerprint);
    clock.advance(30_000);
    await alerts.observe({ ...firing('frontend'), active: false });
    clock.advance(30_000);
    await alerts.observe(firing('frontend'));
    const second = await incidentOf(fingerprint);
    expect(second).toBe('shop/prod/20260601-120100-frontend');
    expect(second).not.toBe(first);
  });
});
