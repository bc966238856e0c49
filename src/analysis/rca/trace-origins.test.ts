import { describe, expect, it } from 'vitest';
import type { RcaReport } from './model.js';
import {
  findTraceOrigins,
  withTraceOrigins,
  type OriginSpan,
  type SampledTrace,
  type TraceSide,
} from './trace-origins.js';

interface Shape {
  /** Self time of product-catalog's server span (ms). */
  catalogMs?: number;
  /** product-catalog's handler fails. */
  catalogFails?: boolean;
  /** product-catalog does not answer at all: the call is refused. */
  catalogRefuses?: boolean;
  /** cart's handler fails. */
  cartFails?: boolean;
  jitterMs?: number;
}

let counter = 0;
/** frontend GET /product → product-catalog GET /products/{id}, then → cart GET /cart, one after the other. */
function trace(shape: Shape = {}): SampledTrace {
  counter += 1;
  const id = counter.toString(16).padStart(32, '0');
  const ms = 1000;
  const jitter = (shape.jitterMs ?? 0) * ms;
  const catalog = (shape.catalogMs ?? 10) * ms + jitter;
  const t0 = 1_000_000_000;
  const spans: OriginSpan[] = [];
  const span = (
    spanId: string,
    parentSpanId: string | null,
    service: string,
    name: string,
    kind: string,
    startUs: number,
    endUs: number,
    error = false,
    extra: Partial<OriginSpan> = {},
  ) =>
    spans.push({
      spanId,
      parentSpanId,
      service,
      name,
      kind,
      startUs,
      endUs,
      error,
      statusMessage: error ? 'failed' : null,
      peer: null,
      ...extra,
    });
  const catalogEnd = t0 + 2 * ms + (shape.catalogRefuses === true ? 1 * ms : catalog + 2 * ms);
  const cartStart = catalogEnd + 1 * ms;
  const cartEnd = cartStart + 12 * ms;
  const failed = shape.catalogFails === true || shape.catalogRefuses === true || shape.cartFails === true;
  span('a', null, 'frontend', 'GET /product', 'SERVER', t0, cartEnd + 3 * ms, failed);
  span(
    'b',
    'a',
    'frontend',
    'GET',
    'CLIENT',
    t0 + 2 * ms,
    catalogEnd,
    shape.catalogFails === true || shape.catalogRefuses === true,
    {
      peer: 'product-catalog',
      statusMessage: shape.catalogRefuses === true ? 'connect ECONNREFUSED 127.0.0.1:41001' : null,
    },
  );
  if (shape.catalogRefuses !== true) {
    span(
      'c',
      'b',
      'product-catalog',
      'GET /products/{id}',
      'SERVER',
      t0 + 3 * ms,
      t0 + 3 * ms + catalog,
      shape.catalogFails === true,
      {
        statusMessage: shape.catalogFails === true ? 'Cannot read properties of undefined' : null,
      },
    );
  }
  span('d', 'a', 'frontend', 'GET', 'CLIENT', cartStart, cartEnd, shape.cartFails === true, { peer: 'cart' });
  span(
    'e',
    'd',
    'cart',
    'GET /cart',
    'SERVER',
    cartStart + 1 * ms,
    cartEnd - 1 * ms,
    shape.cartFails === true,
  );
  return { traceId: id, spans };
}

/** A window of traces, ten minutes long, all of them sampled. */
const side = (traces: SampledTrace[], minutes = 10): TraceSide => ({
  traces,
  fromUs: 0,
  toUs: minutes * 60e6,
  truncated: false,
});
const none = side([]);

const many = (count: number, shape: (index: number) => Shape): SampledTrace[] =>
  Array.from({ length: count }, (_, index) => trace(shape(index)));

describe('where errors originate', () => {
  it('names the deepest failing span, not the callers that passed the failure on', () => {
    const origins = findTraceOrigins({
      failing: side(many(10, () => ({ catalogFails: true }))),
      failingBefore: none,
      all: none,
      allBefore: none,
    });
    expect(origins.errors).toHaveLength(1);
    expect(origins.errors[0]).toMatchObject({
      service: 'product-catalog',
      operation: 'GET /products/{id}',
      traces: 10,
      of: 10,
      message: 'Cannot read properties of undefined',
    });
  });

  it('blames the called service when the call itself failed (refused, no callee span)', () => {
    const origins = findTraceOrigins({
      failing: side(many(8, () => ({ catalogRefuses: true }))),
      failingBefore: none,
      all: none,
      allBefore: none,
    });
    expect(origins.errors[0]).toMatchObject({
      service: 'product-catalog',
      operation: 'frontend → product-catalog GET',
      traces: 8,
      message: 'connect ECONNREFUSED 127.0.0.1:41001',
    });
  });

  it('names the callee without the port a peer address carries', () => {
    const traces = many(5, () => ({ catalogRefuses: true })).map((trace) => ({
      ...trace,
      spans: trace.spans.map((span) =>
        span.peer === 'product-catalog' ? { ...span, peer: 'product-catalog:8080' } : span,
      ),
    }));
    const origins = findTraceOrigins({
      failing: side(traces),
      failingBefore: none,
      all: none,
      allBefore: none,
    });
    expect(origins.errors[0]?.service).toBe('product-catalog');
  });

  it('leaves out failures that were as usual before onset, and origins of a few traces only', () => {
    const origins = findTraceOrigins({
      failing: side([...many(9, () => ({ catalogFails: true })), ...many(1, () => ({ cartFails: true }))]),
      failingBefore: side(many(4, () => ({ catalogFails: true }))),
      all: none,
      allBefore: none,
    });
    // catalog failed about as often before onset (4 in ten minutes, then 9); cart in 1 of 10 failing traces only.
    expect(origins.errors).toEqual([]);
  });

  it('judges failures before onset by their rate: one in the hour before does not hide a surge', () => {
    const origins = findTraceOrigins({
      failing: side(
        many(12, () => ({ catalogRefuses: true })),
        2,
      ),
      failingBefore: side(
        many(1, () => ({ catalogRefuses: true })),
        60,
      ),
      all: none,
      allBefore: none,
    });
    expect(origins.errors[0]).toMatchObject({ service: 'product-catalog', traces: 12, tracesBefore: 1 });
  });
});

describe('where latency is added', () => {
  it('gives the added end-to-end latency to the service whose critical-path self time grew', () => {
    const origins = findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(many(20, (index) => ({ catalogMs: 200, jitterMs: index % 5 }))),
      allBefore: side(many(20, (index) => ({ catalogMs: 10, jitterMs: index % 5 }))),
    });
    expect(origins.latency).toHaveLength(1);
    const [origin] = origins.latency;
    expect(origin?.service).toBe('product-catalog');
    expect(origin?.operation).toBe('GET /products/{id}');
    expect(origin?.addedMs).toBeCloseTo(190, 0);
    expect(origin?.share).toBeGreaterThan(0.95);
    expect(origin?.baselineMs).toBeCloseTo(12, 0);
  });

  it('finds nothing when the traces are as before, or too few to compare', () => {
    const same = findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(many(20, (index) => ({ jitterMs: index % 7 }))),
      allBefore: side(many(20, (index) => ({ jitterMs: (index + 3) % 7 }))),
    });
    expect(same.latency).toEqual([]);
    const few = findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(many(3, () => ({ catalogMs: 500 }))),
      allBefore: side(many(3, () => ({}))),
    });
    expect(few.latency).toEqual([]);
  });
});

describe('withTraceOrigins', () => {
  const report: RcaReport = {
    window: {
      onset: '2026-01-01T00:10:00.000Z',
      end: '2026-01-01T00:15:00.000Z',
      baselineStart: '2026-01-01T00:00:00.000Z',
      baselineEnd: '2026-01-01T00:10:00.000Z',
    },
    rootCauses: [
      {
        service: 'product-catalog',
        score: 0.9,
        kind: 'errors',
        explains: ['frontend'],
        evidence: [
          {
            source: 'metric',
            metric: 'error_rate',
            unit: 'ratio',
            summary: 'error_rate rose',
            z: 12,
            change: 0.9,
            baseline: { median: 0, scale: 0.01, samples: 40 },
            peak: { at: '2026-01-01T00:12:00.000Z', value: 0.9 },
            unexplained: 1,
            query: 'metric error_rate',
          },
          {
            source: 'metric',
            metric: 'latency_p95',
            unit: 'ms',
            summary: 'latency rose',
            z: 3,
            change: 5,
            baseline: { median: 10, scale: 1, samples: 40 },
            peak: { at: '2026-01-01T00:12:00.000Z', value: 15 },
            unexplained: 1,
            query: 'metric latency_p95',
          },
        ],
      },
      { service: 'frontend', score: 0.1, kind: 'errors', explains: [], evidence: [] },
    ],
    excluded: [],
    timeline: [],
    noRootCause: null,
    analyzed: { services: 2, series: 4, anomalousSeries: 2, edges: 1 },
  };

  it("adds an origin to its service's root cause, after the evidence that ranked it, with its query", () => {
    const origins = findTraceOrigins({
      failing: side(many(6, () => ({ catalogFails: true }))),
      failingBefore: none,
      all: none,
      allBefore: none,
    });
    const out = withTraceOrigins(report, origins, (origin) => `get_trace ${origin.exampleTraceId}`);
    const evidence = out.rootCauses[0]?.evidence ?? [];
    expect(evidence.map((item) => item.metric)).toEqual(['error_rate', 'trace.error_origin', 'latency_p95']);
    expect(evidence[1]?.summary).toContain('failures begin here in 6 of 6 failing traces');
    expect(evidence[1]?.query).toMatch(/^get_trace [0-9a-f]{32}$/);
    expect(out.rootCauses[1]?.evidence).toEqual([]);
  });
});
