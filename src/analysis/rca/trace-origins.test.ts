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
    // 10 ms of its own, 2 ms of mean jitter, and the 2 ms on the wire of frontend's call into it.
    expect(origin?.baselineMs).toBeCloseTo(14, 0);
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

interface Node {
  readonly service: string;
  /** Own work, split before and after its calls. */
  readonly ownMs: number;
  /** Calls one after the other: the wire time of the call (both ways) and the callee. */
  readonly calls?: readonly (readonly [wireMs: number, callee: Node])[];
}

/** A trace of a call tree: each call is a client span of the caller around the callee's server span. */
function treeTrace(root: Node, kind = 'UNSPECIFIED'): SampledTrace {
  counter += 1;
  const traceId = counter.toString(16).padStart(32, '0');
  const ms = 1000;
  const spans: OriginSpan[] = [];
  let ids = 0;
  const serve = (node: Node, parent: string | null, startUs: number): number => {
    const spanId = `s${(ids += 1)}`;
    let cursor = startUs + (node.ownMs / 2) * ms;
    for (const [wireMs, callee] of node.calls ?? []) {
      const callId = `s${(ids += 1)}`;
      const calleeEnd = serve(callee, callId, cursor + (wireMs / 2) * ms);
      const callEnd = calleeEnd + (wireMs / 2) * ms;
      spans.push({
        spanId: callId,
        parentSpanId: spanId,
        service: node.service,
        name: `call ${callee.service}`,
        kind,
        startUs: cursor,
        endUs: callEnd,
        error: false,
        statusMessage: null,
        peer: null,
      });
      cursor = callEnd;
    }
    const endUs = cursor + (node.ownMs / 2) * ms;
    spans.push({
      spanId,
      parentSpanId: parent,
      service: node.service,
      name: `serve ${node.service}`,
      kind: kind === 'UNSPECIFIED' ? kind : 'SERVER',
      startUs,
      endUs,
      error: false,
      statusMessage: null,
      peer: null,
    });
    return endUs;
  };
  serve(root, null, 1_000_000_000);
  return { traceId, spans };
}

describe('where latency is added, told apart from where it shows', () => {
  const jitter = (index: number) => (index % 5) * 0.2;
  const compare = (shape: (slow: boolean, index: number) => Node) =>
    findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(Array.from({ length: 30 }, (_, index) => treeTrace(shape(true, index)))),
      allBefore: side(Array.from({ length: 30 }, (_, index) => treeTrace(shape(false, index)))),
    });

  it('charges a delayed network to the callee, whose server span did not change, not to its callers', () => {
    // gateway → a → target and gateway → b → target: only the wire into `target` grows.
    const origins = compare((slow, index) => {
      const target = (): Node => ({ service: 'target', ownMs: 2 + jitter(index) });
      const wire = (slow ? 300 : 1) + jitter(index);
      return {
        service: 'gateway',
        ownMs: 2,
        calls: [
          [1, { service: 'a', ownMs: 5, calls: [[wire, target()]] }],
          [1, { service: 'b', ownMs: 4, calls: [[wire, target()]] }],
        ],
      };
    });
    expect(origins.latency.map((origin) => origin.service)).toEqual(['target']);
    expect(origins.attribution[0]?.service).toBe('target');
    expect(origins.attribution[0]?.lowerBoundMs).toBeGreaterThan(500);
  });

  it('charges the caller when all of its calls slowed (a starved cpu), not each callee', () => {
    // gateway → busy → x, y, z: every call out of `busy` takes longer on the wire; x, y, z serve as before.
    const origins = compare((slow, index) => {
      const wire = (slow ? 80 : 1) + jitter(index);
      return {
        service: 'gateway',
        ownMs: 2,
        calls: [
          [
            1,
            {
              service: 'busy',
              ownMs: slow ? 60 : 10,
              calls: [
                [wire, { service: 'x', ownMs: 2 }],
                [wire, { service: 'y', ownMs: 3 }],
                [wire, { service: 'z', ownMs: 2 + jitter(index) }],
              ],
            },
          ],
        ],
      };
    });
    expect(origins.attribution.map((item) => item.service)).toEqual(['busy']);
  });

  it('counts a span only for its part of the critical path when a sibling overlaps it', () => {
    // The gateway's handler span runs beside the call that does the work and ends just before it: it is on the
    // critical path only for the moment before the call starts, not for its whole duration.
    const origins = compare((slow, index) => {
      const node: Node = {
        service: 'gateway',
        ownMs: 2,
        calls: [[1, { service: 'api', ownMs: (slow ? 200 : 10) + jitter(index) }]],
      };
      return node;
    });
    const withHandler = (trace: SampledTrace): SampledTrace => {
      const root = trace.spans.find((span) => span.parentSpanId === null);
      const call = trace.spans.find((span) => span.name === 'call api');
      if (root === undefined || call === undefined) return trace;
      return {
        ...trace,
        spans: [
          ...trace.spans,
          {
            ...root,
            spanId: 'handler',
            parentSpanId: root.spanId,
            name: 'handle',
            startUs: root.startUs + 500,
            endUs: call.endUs - 100,
          },
        ],
      };
    };
    expect(origins.attribution.map((item) => item.service)).toEqual(['api']);
    const overlapped = findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(
        Array.from({ length: 30 }, (_, index) =>
          withHandler(
            treeTrace({
              service: 'gateway',
              ownMs: 2,
              calls: [[1, { service: 'api', ownMs: 200 + jitter(index) }]],
            }),
          ),
        ),
      ),
      allBefore: side(
        Array.from({ length: 30 }, (_, index) =>
          withHandler(
            treeTrace({
              service: 'gateway',
              ownMs: 2,
              calls: [[1, { service: 'api', ownMs: 10 + jitter(index) }]],
            }),
          ),
        ),
      ),
    });
    expect(overlapped.attribution.map((item) => item.service)).toEqual(['api']);
  });
});

describe('errors at the callers of the faulty service', () => {
  /** gateway → `caller` → pricing; `caller` fails after pricing answers (pricing's own span is fine). */
  const failingAfterCall = (caller: string, fails: boolean): SampledTrace => {
    counter += 1;
    const base = { statusMessage: null, peer: null, kind: 'SERVER' };
    const t0 = 1_000_000_000;
    return {
      traceId: counter.toString(16).padStart(32, '0'),
      spans: [
        {
          ...base,
          spanId: 'g',
          parentSpanId: null,
          service: 'gateway',
          name: '/*',
          startUs: t0,
          endUs: t0 + 30_000,
          error: fails,
        },
        {
          ...base,
          spanId: 'c',
          parentSpanId: 'g',
          service: caller,
          name: `GET /${caller}`,
          startUs: t0 + 1000,
          endUs: t0 + 29_000,
          error: fails,
        },
        {
          ...base,
          spanId: 'k',
          parentSpanId: 'c',
          service: caller,
          name: 'HTTP GET',
          kind: 'CLIENT',
          startUs: t0 + 2000,
          endUs: t0 + 12_000,
          error: false,
        },
        {
          ...base,
          spanId: 'p',
          parentSpanId: 'k',
          service: 'pricing',
          name: 'GET /price',
          startUs: t0 + 3000,
          endUs: t0 + 11_000,
          error: false,
        },
      ],
    };
  };

  it('names the service that failing callers called in common, when failures begin in several of them', () => {
    const failing = [
      ...Array.from({ length: 6 }, () => failingAfterCall('orders', true)),
      ...Array.from({ length: 5 }, () => failingAfterCall('quotes', true)),
    ];
    const origins = findTraceOrigins({
      failing: side(failing),
      failingBefore: none,
      all: none,
      allBefore: none,
    });
    expect(origins.errors.map((origin) => origin.service).sort()).toEqual(['orders', 'quotes']);
    expect(origins.sharedCallees).toEqual([
      expect.objectContaining({ service: 'pricing', callers: ['orders', 'quotes'], traces: 11 }),
    ]);
  });

  it('does not blame a callee when failures begin in one service only', () => {
    const failing = Array.from({ length: 8 }, () => failingAfterCall('orders', true));
    const origins = findTraceOrigins({
      failing: side(failing),
      failingBefore: none,
      all: none,
      allBefore: none,
    });
    expect(origins.errors.map((origin) => origin.service)).toEqual(['orders']);
    expect(origins.sharedCallees).toEqual([]);
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

describe('changed call patterns', () => {
  it('finds calls per request that multiplied at onset, not more requests', () => {
    const order = (queries: number): SampledTrace =>
      treeTrace({
        service: 'frontend',
        ownMs: 2,
        calls: [
          [
            1,
            {
              service: 'checkout',
              ownMs: 3,
              calls: Array.from(
                { length: queries },
                () => [0.2, { service: 'database', ownMs: 0.5 }] as const,
              ),
            },
          ],
        ],
      });
    const origins = findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(Array.from({ length: 20 }, (_, index) => order(index % 2 === 0 ? 40 : 38))),
      // Twice as many requests before onset, each with one query: more load is not a changed pattern.
      allBefore: side(Array.from({ length: 40 }, () => order(1))),
    });
    expect(origins.callChanges).toEqual([
      expect.objectContaining({ caller: 'checkout', callee: 'database', before: 1, after: 39 }),
    ]);
    const steady = findTraceOrigins({
      failing: none,
      failingBefore: none,
      all: side(Array.from({ length: 20 }, () => order(1))),
      allBefore: side(Array.from({ length: 40 }, () => order(1))),
    });
    expect(steady.callChanges).toEqual([]);
  });
});
