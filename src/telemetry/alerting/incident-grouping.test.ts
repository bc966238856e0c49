import { describe, expect, it } from 'vitest';
import {
  chooseIncident,
  incidentJoinWindowMs,
  incidentKeyOf,
  neighboursOf,
  type OpenAlert,
} from './incident-grouping.js';

const at = (minutes: number): string =>
  new Date(Date.UTC(2026, 10, 21, 10, 0, 0) + minutes * 60_000).toISOString();

function alert(
  component: string | null,
  startedMinute: number,
  rule = `AlertRule/${component ?? 'x'}-errors`,
) {
  return {
    fingerprint: `${rule}-${component ?? ''}-${startedMinute}`,
    rule,
    namespace: 'shop',
    component,
    environment: 'prod',
    startedAt: at(startedMinute),
  };
}

function open(component: string | null, startedMinute: number, rule?: string): OpenAlert {
  const base = alert(component, startedMinute, rule);
  return { ...base, groupKey: incidentKeyOf(base) };
}

// frontend → product-catalog, frontend → checkout, checkout → payment
const edges = [
  { from: 'frontend', to: 'product-catalog' },
  { from: 'frontend', to: 'checkout' },
  { from: 'checkout', to: 'payment' },
];

describe('chooseIncident', () => {
  it('joins an open incident of the same service that began within minutes', () => {
    const first = open('frontend', 0, 'SLO/frontend-availability');
    const decision = chooseIncident(alert('frontend', 1), [first], neighboursOf('frontend', edges));
    expect(decision.groupKey).toBe(first.groupKey);
    expect(decision.joined).toBe(first);
    expect(decision.reason).toContain('the same service');
  });

  it('joins an open incident of a service one call away (either direction)', () => {
    const catalog = open('product-catalog', 0);
    expect(chooseIncident(alert('frontend', 0.5), [catalog], neighboursOf('frontend', edges)).groupKey).toBe(
      catalog.groupKey,
    );
    const frontend = open('frontend', 0);
    expect(chooseIncident(alert('checkout', 2), [frontend], neighboursOf('checkout', edges)).groupKey).toBe(
      frontend.groupKey,
    );
  });

  it('keeps unrelated services apart, even at the same moment', () => {
    const payment = open('payment', 0);
    const decision = chooseIncident(
      alert('product-catalog', 0),
      [payment],
      neighboursOf('product-catalog', edges),
    );
    expect(decision.joined).toBeUndefined();
    expect(decision.groupKey).toBe('shop/prod/20261121-100000-product-catalog');
  });

  it('does not reach two hops: frontend and payment are not neighbours', () => {
    const payment = open('payment', 0);
    expect(
      chooseIncident(alert('frontend', 0), [payment], neighboursOf('frontend', edges)).joined,
    ).toBeUndefined();
  });

  it('keeps related services apart when they began far apart in time', () => {
    const catalog = open('product-catalog', 0);
    const later = alert('frontend', incidentJoinWindowMs / 60_000 + 1);
    const decision = chooseIncident(later, [catalog], neighboursOf('frontend', edges));
    expect(decision.joined).toBeUndefined();
    expect(decision.groupKey).not.toBe(catalog.groupKey);
  });

  it('does not let a long-burning SLO alert swallow a later fault of the same service', () => {
    const burning = open('frontend', 0, 'SLO/frontend-availability'); // still firing eleven minutes on
    const fault = alert('frontend', 11, 'AlertRule/frontend-errors');
    expect(chooseIncident(fault, [burning], neighboursOf('frontend', edges)).joined).toBeUndefined();
  });

  it('joins the member nearest in time when several incidents qualify', () => {
    const older = open('frontend', 0, 'SLO/frontend-availability');
    const newer = open('product-catalog', 2.5);
    const decision = chooseIncident(alert('frontend', 3), [older, newer], neighboursOf('frontend', edges));
    expect(decision.groupKey).toBe(newer.groupKey);
  });

  it('keeps other environments and alerts without a component apart', () => {
    const staging = { ...open('frontend', 0), environment: 'staging' };
    expect(chooseIncident(alert('frontend', 0), [staging], new Set()).joined).toBeUndefined();
    const namespaceWide = open(null, 0, 'HighLoad');
    expect(chooseIncident(alert(null, 0, 'Other'), [namespaceWide], new Set()).joined).toBeUndefined();
  });
});

describe('incidentKeyOf', () => {
  it('names the namespace, environment, start and the alerted service', () => {
    expect(incidentKeyOf(alert('frontend', 5.5))).toBe('shop/prod/20261121-100530-frontend');
    expect(incidentKeyOf({ ...alert(null, 0, 'KubePodCrashLooping'), environment: null })).toBe(
      'shop/*/20261121-100000-KubePodCrashLooping',
    );
  });
});
