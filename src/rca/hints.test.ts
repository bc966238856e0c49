import { describe, expect, it } from 'vitest';
import { seeFor } from './hints.js';

const scope = {
  namespace: 'shop',
  service: 'checkout',
  environment: 'prod',
  from: '2026-12-03T06:40:00.000Z',
  to: '2026-12-03T06:55:00.000Z',
};
const evidence = {
  source: 'metric' as const,
  metric: 'request_rate',
  unit: '1/s',
  summary: 'request_rate rose from 3 to 240 (z 50)',
  z: 50,
  change: 237,
  baseline: { median: 3, scale: 0.4, samples: 60 },
  peak: { at: '2026-12-03T06:53:30.000Z', value: 240 },
  unexplained: 1,
  query: 'metric request_rate service="checkout"',
};

describe('seeFor', () => {
  it("points a metric's hint at the service's own series", () => {
    const see = seeFor(evidence, scope);
    expect(see.cli).toBe(
      'opspilot telemetry metrics request_rate -n shop --component checkout -e prod --from 2026-12-03T06:40:00.000Z --to 2026-12-03T06:55:00.000Z',
    );
    expect(see).toMatchObject({ tool: 'get_service_metrics', arguments: { component: 'checkout' } });
  });

  it('points the evidence of load a cause drives at the callee that receives it', () => {
    const see = seeFor(
      {
        ...evidence,
        summary:
          'database: request_rate rose from 3 to 240 (z 50), the load this service sends it since its change',
      },
      scope,
    );
    expect(see.cli).toContain('--component database');
    expect(see.arguments).toMatchObject({ component: 'database', metric: 'request_rate' });
  });
});
