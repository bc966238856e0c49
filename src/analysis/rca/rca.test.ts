import { describe, expect, it } from 'vitest';
import type { Edge, RcaWindow, Series } from './model.js';
import { analyzeRootCauses } from './rank-root-causes.js';
import { judgeSeries, unitResolution } from './judge-series.js';
import { templateLocalisation, withErrorTemplates } from './error-templates.js';
import { errorTemplatesOf } from './log-error-templates.js';

const minute = 60_000_000;
const start = Date.UTC(2026, 10, 21, 10, 0) * 1000;
const window: RcaWindow = {
  baselineStartUs: start,
  baselineEndUs: start + 60 * minute,
  onsetUs: start + 60 * minute,
  endUs: start + 75 * minute,
};

/** A deterministic wobble around `level`, so that baselines have a spread. */
function wobble(index: number, seed: number): number {
  return Math.sin(index * 1.7 + seed) * 0.5 + Math.sin(index * 0.31 + seed * 2) * 0.5;
}

/** One point a minute for 75 minutes; `after(index)` gives the value from minute 60 on. */
function series(
  service: string,
  metric: string,
  level: number,
  spread: number,
  after: (index: number) => number = () => level,
  options: { kind?: Series['kind']; before?: (index: number) => number | undefined } = {},
): Series {
  const points: [number, number][] = [];
  for (let index = 0; index < 75; index += 1) {
    const noise = wobble(index, service.length + metric.length) * spread;
    const base = options.before?.(index) ?? level;
    points.push([start + index * minute, (index >= 60 ? after(index) : base) + noise]);
  }
  return { service, metric, kind: options.kind ?? 'performance', source: 'metric', unit: 's', points };
}

const chain: Edge[] = [
  ['frontend', 'cart'],
  ['cart', 'db'],
  ['frontend', 'ads'],
];

describe('analyzeRootCauses', () => {
  it('names the deepest service whose latency its callees do not explain, and what it explains', () => {
    const report = analyzeRootCauses({
      window,
      edges: chain,
      series: [
        series('frontend', 'latency', 0.2, 0.01, () => 0.41),
        series('cart', 'latency', 0.05, 0.005, () => 0.25),
        series('db', 'latency', 0.01, 0.001, () => 0.2),
        series('ads', 'latency', 0.03, 0.003),
      ],
    });
    expect(report.rootCauses[0]).toMatchObject({ service: 'db', kind: 'latency' });
    expect(report.rootCauses[0]?.explains).toEqual(['cart', 'frontend']);
    expect(report.rootCauses[0]?.evidence[0]?.summary).toMatch(
      /^latency rose from 0\.010\d* s to 0\.(19|20)\d* s/,
    );
    expect(report.excluded.map((entry) => entry.service).sort()).toEqual(['cart', 'frontend']);
    expect(report.excluded.find((entry) => entry.service === 'cart')?.reason).toMatch(
      /^its latency changed by 0\.\d+ s, 9\d% of it at db, which it calls$/,
    );
    expect(report.rootCauses.map((cause) => cause.service)).not.toContain('ads');
    const total = report.rootCauses.reduce((sum, cause) => sum + cause.score, 0);
    expect(total).toBeCloseTo(1, 3);
    expect(report.timeline[0]?.service).toBeDefined();
  });

  it('ignores a change that began before onset, however far from the long baseline', () => {
    const report = analyzeRootCauses({
      window,
      edges: [],
      series: [
        // Moved at minute 40 and stayed there: normal for this incident.
        series('search', 'latency', 0.05, 0.002, () => 0.5, {
          before: (index) => (index >= 40 ? 0.5 : undefined),
        }),
        series('checkout', 'errors', 0.01, 0.002, () => 0.3),
      ],
    });
    expect(report.rootCauses.map((cause) => cause.service)).toEqual(['checkout']);
    expect(report.rootCauses[0]?.kind).toBe('errors');
  });

  it('does not take a recovery for an incident', () => {
    const report = analyzeRootCauses({
      window,
      edges: [],
      series: [series('payments', 'availability', 95, 0.5, () => 100)],
    });
    expect(report.rootCauses).toEqual([]);
    expect(report.noRootCause).toContain('nothing changed at onset beyond normal variation');
  });

  it('says why there is no root cause when nothing changed', () => {
    const report = analyzeRootCauses({
      window,
      edges: chain,
      series: [series('frontend', 'latency', 0.2, 0.01), series('cart', 'latency', 0.05, 0.005)],
    });
    expect(report.rootCauses).toEqual([]);
    expect(report.noRootCause).toMatch(/2 series of 2 services judged/);
    expect(report.analyzed).toMatchObject({ services: 2, series: 2, anomalousSeries: 0, edges: 3 });
  });

  it('looks for causes only where the alerted service reaches when told where the incident was seen', () => {
    const input = {
      window,
      edges: chain,
      series: [
        series('cart', 'latency', 0.05, 0.005, () => 0.4),
        series('batch', 'latency', 1, 0.05, () => 9),
      ],
    };
    expect(analyzeRootCauses(input).rootCauses[0]?.service).toBe('batch');
    const focused = analyzeRootCauses({ ...input, focus: 'frontend' });
    expect(focused.rootCauses.map((cause) => cause.service)).toEqual(['cart']);
    expect(focused.excluded).toContainEqual({
      service: 'batch',
      reason: 'frontend does not call it, directly or through other services',
    });
  });

  it('counts a service that stopped serving, not one whose traffic merely moved', () => {
    const report = analyzeRootCauses({
      window,
      edges: [['frontend', 'catalog']],
      series: [
        series('catalog', 'requests', 50, 2, () => 0, { kind: 'traffic' }),
        series('frontend', 'requests', 80, 3, () => 140, { kind: 'traffic' }),
        series('frontend', 'errors', 0.001, 0.0005, () => 0.002),
      ],
    });
    expect(report.rootCauses[0]).toMatchObject({ service: 'catalog', kind: 'traffic' });
    expect(report.rootCauses.map((cause) => cause.service)).not.toContain('frontend-traffic');
  });
});

describe('platform signals', () => {
  it('rank a service scaled to zero first although it left no telemetry, and ignore old ones', () => {
    const report = analyzeRootCauses({
      window,
      edges: [
        ['frontend', 'catalog'],
        ['frontend', 'cart'],
      ],
      series: [
        series('frontend', 'errors', 0.001, 0.0005, () => 0.4),
        series('cart', 'latency', 0.05, 0.005, () => 0.07),
      ],
      signals: [
        {
          service: 'catalog',
          atUs: window.onsetUs - 2 * minute,
          source: 'event',
          reason: 'ScaledToZero',
          summary: 'catalog@prod scaled from 2 to 0 replicas',
          strength: 'certain',
          query: 'opspilot get events -n shop --component catalog',
        },
        {
          service: 'cart',
          atUs: window.onsetUs - 5 * 60 * minute,
          source: 'change',
          reason: 'Release',
          summary: 'cart-7 rolled out',
          strength: 'suggestive',
          query: 'opspilot get releases -n shop --component cart',
        },
      ],
    });
    expect(report.rootCauses[0]).toMatchObject({
      service: 'catalog',
      kind: 'scaled-to-zero',
      explains: ['frontend'],
    });
    expect(report.rootCauses[0]?.evidence[0]).toMatchObject({ source: 'event', metric: 'ScaledToZero' });
    expect(report.timeline.map((entry) => entry.what)).toContain('catalog@prod scaled from 2 to 0 replicas');
    expect(report.timeline.map((entry) => entry.what)).not.toContain('cart-7 rolled out');
  });
});

describe('signals by time', () => {
  it('suspects the change that landed at onset over one from long before it', () => {
    const change = (service: string, minutesBefore: number) => ({
      service,
      atUs: window.onsetUs - minutesBefore * minute,
      source: 'change' as const,
      reason: 'Release',
      summary: `${service}: new release`,
      strength: 'suggestive' as const,
      query: `opspilot get events -n shop --component ${service}`,
    });
    // recommendation calls catalog: catalog's change could explain recommendation's trouble, were it recent.
    const input = (catalogMinutesBefore: number) => ({
      window,
      edges: [['recommendation', 'catalog']] as Edge[],
      series: [series('recommendation', 'memory', 60, 2, () => 62)],
      signals: [change('recommendation', 0.5), change('catalog', catalogMinutesBefore)],
      focus: 'recommendation',
    });
    expect(analyzeRootCauses(input(20)).rootCauses.map((cause) => cause.service)).toEqual([
      'recommendation',
      'catalog',
    ]);
    // Both at onset: the callee that explains the caller's trouble comes first, as before.
    expect(analyzeRootCauses(input(0.5)).rootCauses[0]?.service).toBe('catalog');
  });

  it('suspects a crash at onset over one that stopped long before', () => {
    const crash = (service: string, minutesBefore: number) => ({
      service,
      atUs: window.onsetUs - minutesBefore * minute,
      source: 'event' as const,
      reason: 'OOMKilled',
      summary: `${service}: OOMKilled`,
      strength: 'certain' as const,
      query: `opspilot get events -n shop --component ${service} --reason OOMKilled`,
    });
    const report = analyzeRootCauses({
      window,
      edges: [
        ['frontend', 'catalog'],
        ['frontend', 'recommendation'],
      ],
      series: [series('frontend', 'errors', 0.001, 0.0005, () => 0.4)],
      signals: [crash('recommendation', 10), crash('catalog', 0)],
      focus: 'frontend',
    });
    const score = (service: string) =>
      report.rootCauses.find((cause) => cause.service === service)?.score ?? 0;
    expect(report.rootCauses[0]?.service).toBe('catalog');
    expect(score('recommendation')).toBeLessThan(score('catalog') / 3);
  });
});

describe('driven load', () => {
  it('blames the changed caller for a callee that fails under the load it now sends', () => {
    const input = (withRelease: boolean) => ({
      window,
      edges: [
        ['checkout', 'database'],
        ['frontend', 'checkout'],
      ] as Edge[],
      series: [
        series('database', 'requests', 5, 0.5, () => 200, { kind: 'traffic' }),
        series('database', 'errors', 0.001, 0.0005, () => 0.5),
        series('checkout', 'errors', 0.001, 0.0005, () => 0.6),
        series('frontend', 'errors', 0.001, 0.0005, () => 0.1),
      ],
      signals: withRelease
        ? [
            {
              service: 'checkout',
              atUs: window.onsetUs - minute,
              source: 'change' as const,
              reason: 'Release',
              summary: 'checkout: Created release checkout-2',
              strength: 'suggestive' as const,
              query: 'opspilot get events -n shop --component checkout --reason ReleaseCreated',
            },
          ]
        : [],
    });
    // Without a change upstream, the failing database is the cause.
    expect(analyzeRootCauses(input(false)).rootCauses[0]?.service).toBe('database');
    const report = analyzeRootCauses(input(true));
    expect(report.rootCauses[0]).toMatchObject({ service: 'checkout', explains: ['database', 'frontend'] });
    expect(report.rootCauses[0]?.evidence.map((item) => item.summary)).toContainEqual(
      expect.stringMatching(
        /^database: requests rose from 5\.\d+ s to (199|200)\.\d+ s \(z 50\), the load this service sends it since its change$/,
      ),
    );
    expect(report.rootCauses.map((cause) => cause.service)).toContain('database');
    // Traces and logs place the failure in the database (its pool is where requests wait and fail): that is
    // where it shows; the load the changed caller drives is still why.
    const voted = analyzeRootCauses({
      ...input(true),
      localisations: [
        { source: 'trace-errors', services: [{ service: 'database', weight: 30 }] },
        { source: 'trace-latency', services: [{ service: 'database', weight: 46 }] },
        { source: 'log-templates', services: [{ service: 'database', weight: 500 }] },
      ],
    });
    expect(voted.rootCauses[0]?.service).toBe('checkout');
    expect(
      analyzeRootCauses({
        ...input(false),
        localisations: [{ source: 'trace-errors', services: [{ service: 'database', weight: 30 }] }],
      }).rootCauses[0]?.service,
    ).toBe('database');
  });
});

describe('judgeSeries', () => {
  it('cannot judge a series seen too rarely in the baseline', () => {
    const sparse: Series = {
      service: 'lambda',
      metric: 'latency',
      kind: 'performance',
      source: 'metric',
      unit: 's',
      points: [
        [start, 1],
        [start + minute, 1.1],
        [start + 61 * minute, 9],
      ],
    };
    expect(judgeSeries(sparse, window, 60)).toBeUndefined();
  });

  it('caps z, keeps the sign, and records each incident point', () => {
    const verdict = judgeSeries(
      series('db', 'latency', 0.01, 0.0001, () => 5),
      window,
      60,
    );
    expect(verdict?.z).toBe(50);
    expect(verdict?.anomalous).toBe(true);
    expect(verdict?.departures).toHaveLength(15);
    expect(verdict?.firstAnomalousUs).toBe(window.onsetUs);
  });
});

describe('error templates', () => {
  it('add new and surging error messages of a root cause to its evidence, and nothing steady', () => {
    const report = analyzeRootCauses({
      window,
      edges: [],
      series: [series('cart', 'errors', 0.001, 0.0005, () => 0.3)],
    });
    const trend = (before: number, after: number) =>
      Array.from(
        { length: 75 },
        (_, index) => [start + index * minute, index < 60 ? before : after] as const,
      );
    const enriched = withErrorTemplates(
      report,
      [
        {
          template: 'cannot read properties of undefined (reading <*>)',
          components: ['cart'],
          firstEverSeenUs: window.onsetUs + minute,
          trend: trend(0, 4),
          samples: ["cannot read properties of undefined (reading 'quantity')"],
          traceIds: ['abc'],
        },
        {
          template: 'cache miss for <*>',
          components: ['cart'],
          firstEverSeenUs: start,
          trend: trend(2, 2),
          samples: [],
          traceIds: [],
        },
      ],
      window,
      (template) => `opspilot logs cart --grep "${template.template}"`,
    );
    const evidence = enriched.rootCauses[0]?.evidence ?? [];
    expect(evidence.map((item) => item.source)).toEqual(['metric', 'log']);
    // Buckets wider than the incident so far: a new template's lines all count, wherever its bucket starts.
    const coarse = withErrorTemplates(
      report,
      [
        {
          template: 'connection pool exhausted',
          components: ['cart'],
          firstEverSeenUs: window.onsetUs + minute,
          trend: [
            [start, 0],
            [start + 30 * minute, 0],
            [start + 60 * minute - 5 * minute, 12],
          ],
          samples: [],
          traceIds: [],
        },
      ],
      window,
      () => '',
    );
    expect(coarse.rootCauses[0]?.evidence.at(-1)?.summary).toBe(
      `new error in cart's log: "connection pool exhausted" 12× since onset`,
    );
    expect(evidence[1]?.summary).toMatch(
      /^new error in cart's log: "cannot read properties of undefined \(reading <\*>\)" 60× since onset, e\.g\. /,
    );
  });
});

describe('votes of traces and logs', () => {
  const input = {
    window,
    edges: chain,
    // cart's latency rises as much as db's: the series alone take cart for db's victim.
    series: [
      series('cart', 'latency', 0.05, 0.005, () => 0.4),
      series('db', 'latency', 0.01, 0.001, () => 0.36),
      series('ads', 'latency', 0.02, 0.002, () => 0.021),
    ],
  };

  it('let a localisation name the origin the series could not tell apart, and never one out of reach', () => {
    expect(analyzeRootCauses(input).rootCauses[0]?.service).toBe('db');
    const voted = analyzeRootCauses({
      ...input,
      focus: 'frontend',
      localisations: [
        { source: 'trace-latency', services: [{ service: 'cart', weight: 340 }] },
        {
          source: 'log-templates',
          services: [
            { service: 'cart', weight: 40 },
            { service: 'batch', weight: 90 },
          ],
        },
      ],
    });
    expect(voted.rootCauses[0]?.service).toBe('cart');
    expect(voted.rootCauses[0]?.score).toBeGreaterThan(0.5);
    expect(voted.rootCauses.map((cause) => cause.service)).not.toContain('batch');
    expect(voted.excluded.map((item) => item.service)).not.toContain('cart');
  });

  it('change nothing when they have nothing to say', () => {
    const plain = analyzeRootCauses(input);
    const empty = analyzeRootCauses({
      ...input,
      localisations: [
        { source: 'trace-latency', services: [] },
        { source: 'trace-errors', services: [{ service: 'cart', weight: 0 }] },
      ],
    });
    expect(empty.rootCauses).toEqual(plain.rootCauses);
  });

  it('mine error records into templates that vote for the service that began logging them', () => {
    const records = [
      ...Array.from({ length: 20 }, (_, index) => ({
        service: 'cart',
        timeUs: start + index * 3 * minute,
        severityNumber: 17,
        body: `cache miss for cart ${index}`,
        traceId: '',
      })),
      ...Array.from({ length: 12 }, (_, index) => ({
        service: 'checkout',
        timeUs: window.onsetUs + index * 30_000_000,
        severityNumber: 17,
        body: `connection pool exhausted after ${index + 3} ms waiting`,
        traceId: `t${index}`,
      })),
      {
        service: 'checkout',
        timeUs: window.onsetUs,
        severityNumber: 9,
        body: 'GET /checkout 200',
        traceId: '',
      },
    ];
    const templates = errorTemplatesOf(records, window.baselineStartUs, minute);
    const pool = templates.find((template) => template.components.includes('checkout'));
    expect(pool?.template).toMatch(/^connection pool exhausted after <\*> .*waiting$/);
    expect(pool?.trend.reduce((sum, [, count]) => sum + count, 0)).toBe(12);
    const localisation = templateLocalisation(templates, window);
    // cart's steady error is no news; checkout's new one is.
    expect(localisation.services).toEqual([{ service: 'checkout', weight: 12 }]);
  });
});

describe('unit resolution', () => {
  it('judges a flat baseline against the resolution of its unit, from the unit or the name', () => {
    expect(unitResolution('ms', 'latency_p95')).toBe(1);
    expect(unitResolution('', 'PodServerLatencyP90(s)')).toBe(0.001);
    expect(unitResolution('', 'MemoryUsage(Mi)')).toBe(1);
    expect(unitResolution('bytes', 'memory')).toBe(2 ** 20);
    expect(unitResolution('req/s', 'request_rate')).toBe(0);
    // A constant 20 ms that becomes 20.5 ms: half a millisecond is below the resolution of a millisecond clock.
    const flat: Series = {
      service: 'api',
      metric: 'latency_p95',
      kind: 'performance',
      source: 'metric',
      unit: 'ms',
      points: Array.from(
        { length: 75 },
        (_, index) => [start + index * minute, index >= 60 ? 20.5 : 20] as const,
      ),
    };
    expect(judgeSeries(flat, window, 60)?.anomalous).toBe(false);
    const slower = {
      ...flat,
      points: flat.points.map(([time, value]) => [time, value === 20.5 ? 40 : value] as const),
    };
    expect(judgeSeries(slower, window, 60)).toMatchObject({ anomalous: true, z: 20 });
  });
});

describe('changed call patterns', () => {
  it('blame the caller whose calls per request multiplied for the callee that fails under them, with no change recorded', () => {
    const input = {
      window,
      edges: [
        ['checkout', 'database'],
        ['frontend', 'checkout'],
      ] as Edge[],
      series: [
        series('database', 'errors', 0.001, 0.0005, () => 0.5),
        series('checkout', 'errors', 0.001, 0.0005, () => 0.6),
      ],
      localisations: [{ source: 'log-templates' as const, services: [{ service: 'database', weight: 400 }] }],
    };
    expect(analyzeRootCauses(input).rootCauses[0]?.service).toBe('database');
    const report = analyzeRootCauses({
      ...input,
      callChanges: [{ caller: 'checkout', callee: 'database', before: 1, after: 200, exampleTraceId: 'ab' }],
    });
    expect(report.rootCauses[0]?.service).toBe('checkout');
    expect(report.rootCauses[0]?.evidence.map((item) => item.summary)).toContainEqual(
      expect.stringMatching(
        /^database: trace.calls_per_request\{caller=checkout\} rose from 1 to 200, the load/,
      ),
    );
    // Its hint opens the trace that shows the calls.
    expect(report.rootCauses[0]?.evidence.map((item) => item.query)).toContain('trace ab');
  });
});
