import { describe, expect, it } from 'vitest';
import type { RcaReportView } from '../rca/contracts.js';
import { reusableReport } from './report-reuse.js';

const now = new Date('2026-11-21T10:10:00.000Z');
const incident = 'shop/prod/20261121-100800-frontend';

function report(overrides: Partial<RcaReportView> & { top?: string; explains?: string[] }): RcaReportView {
  const { top, explains, ...rest } = overrides;
  return {
    id: 'rca-1',
    namespace: 'shop',
    status: 'completed',
    trigger: 'alert',
    requestedBy: 'rca-agent',
    alert: {
      fingerprint: 'f-frontend-errors',
      rule: 'AlertRule/frontend-errors',
      component: 'frontend',
      environment: 'prod',
      severity: 'critical',
      summary: '',
      startedAt: '2026-11-21T10:08:00.000Z',
    },
    groupKey: incident,
    createdAt: '2026-11-21T10:08:01.000Z',
    completedAt: '2026-11-21T10:08:02.000Z',
    durationMs: 1000,
    window: null,
    rootCauses:
      top === undefined
        ? []
        : [{ service: top, score: 0.8, kind: 'scaled-to-zero', evidence: [], explains: explains ?? [] }],
    excluded: [],
    timeline: [],
    noRootCause: top === undefined ? 'nothing changed beyond normal variation' : null,
    recommendations: [],
    traces: null,
    remediation: null,
    alternatives: [],
    narrative: '',
    llm: { used: false, model: null, inputTokens: 0, outputTokens: 0, costUsd: 0, note: null },
    error: null,
    ...rest,
  };
}

const alert = (component: string, rule: string, startedAt = '2026-11-21T10:08:30.000Z') => ({
  fingerprint: `f-${component}-${rule}`,
  rule,
  component,
  groupKey: incident,
  startedAt,
});

describe('reusableReport', () => {
  it('reuses a fresh report of the incident whose root cause explains the alerted service', () => {
    const found = report({ top: 'product-catalog', explains: ['frontend', 'recommendation'] });
    expect(reusableReport(alert('recommendation', 'AlertRule/recommendation-errors'), [found], now)).toBe(
      found,
    );
    expect(reusableReport(alert('frontend', 'SLO/frontend-availability'), [found], now)).toBe(found);
  });

  it('never reuses a report that found no root cause', () => {
    const nothing = report({});
    expect(reusableReport(alert('frontend', 'AlertRule/frontend-errors'), [nothing], now)).toBeUndefined();
  });

  it('never reuses a stale report: made before the alert began, or too old', () => {
    const early = report({ top: 'frontend', createdAt: '2026-11-21T10:05:00.000Z' });
    expect(reusableReport(alert('frontend', 'AlertRule/frontend-latency'), [early], now)).toBeUndefined();
    const old = report({ top: 'frontend', createdAt: '2026-11-21T09:30:00.000Z' });
    const longFiring = alert('frontend', 'AlertRule/frontend-latency', '2026-11-21T09:30:00.000Z');
    expect(reusableReport(longFiring, [old], now)).toBeUndefined();
  });

  it('treats an alert of a service the report did not account for as new evidence', () => {
    const found = report({ top: 'product-catalog', explains: ['frontend'] });
    expect(reusableReport(alert('checkout', 'AlertRule/checkout-errors'), [found], now)).toBeUndefined();
  });

  it('does not reuse a report of another incident, nor one still running or failed', () => {
    const other = report({ top: 'frontend', groupKey: 'shop/prod/20261121-100000-frontend' });
    const running = report({ top: 'frontend', status: 'running' });
    const failed = report({ top: 'frontend', status: 'failed' });
    expect(
      reusableReport(alert('frontend', 'AlertRule/frontend-errors'), [other, running, failed], now),
    ).toBeUndefined();
  });

  it('reuses the report of the same rule on the same service (an SLO alert of another severity)', () => {
    const found = report({
      top: 'payment',
      alert: { ...report({}).alert, fingerprint: 'f-slo-critical', rule: 'SLO/frontend-availability' },
    });
    expect(reusableReport(alert('frontend', 'SLO/frontend-availability'), [found], now)).toBe(found);
  });
});
