// Telemetry queries over a real embedded DuckDB store filled with known data: paging, filters, context lines,
// error templates, metric aggregations (gauges, counters with resets), retention, and the errors people get.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidError, NotFoundError } from '../../src/core/errors.js';
import { identityOf } from '../../src/telemetry/ingest/resource-identity.js';
import { emptyBatch, type Attributes, type TelemetryBatch } from '../../src/telemetry/model.js';
import { TelemetryPlane } from '../../src/telemetry/telemetry-plane.js';
import { loadConfig } from '../../src/config/load-config.js';
import { pino } from 'pino';
import { groupMessages } from '../../src/analysis/log-templates/group-messages.js';

const now = new Date('2026-06-01T12:00:00.000Z');
const clock = { now: () => now };
const minute = 60_000_000;
const nowUs = now.getTime() * 1000;
let plane: TelemetryPlane;

function resource(component: string, replica: string, namespace = 'shop'): ReturnType<typeof identityOf> {
  return identityOf({
    'service.name': component,
    'opspilot.namespace': namespace,
    'opspilot.component': component,
    'opspilot.environment': 'prod',
    'service.instance.id': replica,
  });
}

function log(
  batch: TelemetryBatch,
  at: number,
  body: string,
  severityNumber = 9,
  extra: { replica?: string; traceId?: string; attributes?: Attributes } = {},
): void {
  batch.logs.push({
    resource: resource('cart', extra.replica ?? 'cart-1'),
    timeUs: at,
    severityNumber,
    severityText: '',
    body,
    traceId: extra.traceId ?? '',
    spanId: '',
    attributes: extra.attributes ?? {},
    scope: 'app',
    eventName: '',
  });
}

function point(
  batch: TelemetryBatch,
  replica: string,
  name: string,
  at: number,
  value: number,
  options: { type?: 'gauge' | 'sum'; start?: number } = {},
): void {
  batch.points.push({
    resource: resource('cart', replica),
    name,
    unit: name === 'queue' ? '{item}' : '1',
    type: options.type ?? 'gauge',
    temporality: options.type === 'sum' ? 2 : 0,
    monotonic: options.type === 'sum',
    timeUs: at,
    startUs: options.start ?? 0,
    value,
    count: 0,
    min: Number.NaN,
    max: Number.NaN,
    bounds: [],
    bucketCounts: [],
    attributes: {},
  });
}

beforeAll(async () => {
  const config = loadConfig({ env: {}, overrides: { dataDir: '/tmp/unused' } });
  plane = await TelemetryPlane.open({ config, logger: pino({ level: 'silent' }), clock, path: ':memory:' });
  const batch = emptyBatch();
  // 30 lines a minute apart on two replicas; every third is an error of one of two kinds.
  for (let index = 0; index < 30; index += 1) {
    const at = nowUs - (30 - index) * minute;
    const replica = index % 2 === 0 ? 'cart-1' : 'cart-2';
    if (index % 3 === 0)
      log(batch, at, `timeout calling payment after ${100 + index} ms`, 17, {
        replica,
        traceId: index.toString(16).padStart(32, '0'),
      });
    else if (index === 28) log(batch, at, 'cannot parse basket for user alice', 17, { replica });
    else log(batch, at, `served request ${index}`, 9, { replica });
  }
  log(batch, nowUs - 10 * 24 * 60 * minute, 'ancient line', 9); // past retention
  // Gauge: queue length on two replicas; counter: requests with a reset on cart-2.
  for (let index = 0; index < 10; index += 1) {
    const at = nowUs - (10 - index) * minute;
    point(batch, 'cart-1', 'queue', at, 10);
    point(batch, 'cart-2', 'queue', at, 20);
    point(batch, 'cart-1', 'requests', at, (index + 1) * 60, { type: 'sum', start: nowUs - 20 * minute });
    point(batch, 'cart-2', 'requests', at, index < 5 ? (index + 1) * 60 : (index - 4) * 60, {
      type: 'sum',
      start: nowUs - 20 * minute,
    });
  }
  await plane.ingest(batch);
});

afterAll(async () => {
  await plane.close();
});

const scope = { namespace: 'shop', component: 'cart', period: 'last_1h', limit: 100, context: 0 };

describe('log search', () => {
  it('pages newest first with a cursor until nothing is left', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await plane.queries.logs({
        ...scope,
        limit: 12,
        ...(cursor === undefined ? {} : { cursor }),
      });
      seen.push(...page.entries.map((entry) => entry.timestamp));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
      expect(page.truncated).toBe(cursor !== undefined);
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(30);
    expect([...seen].sort().reverse()).toEqual(seen);
  });

  it('filters by severity, text, regex, trace id and replica', async () => {
    expect((await plane.queries.logs({ ...scope, minSeverity: 'ERROR' })).entries).toHaveLength(11);
    expect(
      (await plane.queries.logs({ ...scope, text: 'PARSE BASKET' })).entries.map((entry) => entry.body),
    ).toEqual(['cannot parse basket for user alice']);
    expect((await plane.queries.logs({ ...scope, regex: 'after 1[0-9]{2} ms$' })).entries).toHaveLength(10);
    const byTrace = await plane.queries.logs({ ...scope, traceId: (3).toString(16).padStart(32, '0') });
    expect(byTrace.entries.map((entry) => entry.body)).toEqual(['timeout calling payment after 103 ms']);
    const replica = await plane.queries.logs({ ...scope, replica: 'cart-2' });
    expect(replica.entries.every((entry) => entry.replica === 'cart-2')).toBe(true);
    expect(replica.entries).toHaveLength(15);
    expect((await plane.queries.logs({ ...scope, namespace: 'other' })).entries).toEqual([]);
  });

  it('adds context lines from the same replica around each match', async () => {
    const result = await plane.queries.logs({ ...scope, text: 'parse basket', context: 2 });
    const [match] = result.entries;
    expect(match?.replica).toBe('cart-1');
    expect(match?.context?.before.map((entry) => entry.body)).toEqual([
      'timeout calling payment after 124 ms',
      'served request 26',
    ]);
    expect(match?.context?.after.map((entry) => entry.replica)).toEqual([]);
  });

  it('explains bad input', async () => {
    await expect(plane.queries.logs({ ...scope, regex: '(unclosed' })).rejects.toBeInstanceOf(InvalidError);
    await expect(plane.queries.logs({ ...scope, cursor: 'nonsense' })).rejects.toThrow(/invalid cursor/);
    await expect(
      plane.queries.logs({
        ...scope,
        period: undefined,
        from: '2026-06-01T00:00:00Z',
        to: '2026-05-01T00:00:00Z',
      }),
    ).rejects.toThrow(/from must be before to/);
    await expect(plane.queries.logs({ ...scope, period: 'last_60d' })).rejects.toThrow(/longer than 31 days/);
  });
});

describe('error summary', () => {
  it('groups errors into templates with counts, trend, samples, trace ids and what is new', async () => {
    const summary = await plane.queries.errorSummary({
      ...scope,
      minSeverity: 'ERROR',
      limit: 10,
      buckets: 3,
      newSince: new Date(nowUs / 1000 - 5 * 60_000).toISOString(),
    });
    expect(summary.totalLines).toBe(11);
    expect(summary.templates.map((template) => [template.template, template.count, template.new])).toEqual([
      ['timeout calling payment after <*>', 10, false], // a number and its unit are one value
      ['cannot parse basket for user <*>', 1, true], // a user name is a value
    ]);
    const timeout = summary.templates[0];
    // Errors fall 30..3 minutes before now: none in the first third of the hour, 4 in the second, 6 in the last.
    expect(timeout?.trend.map((bucket) => bucket.count)).toEqual([0, 4, 6]);
    expect(timeout?.samples[0]).toBe('timeout calling payment after 127 ms');
    expect(timeout?.traceIds).toHaveLength(5);
    expect(timeout?.components).toEqual(['cart']);
  });
  it('groups as `opspilot analyze log-templates` does: the same templates with the same counts', async () => {
    const bodies = [
      ...Array.from({ length: 3 }, () => 'screen action SCREEN_ON failed'),
      ...Array.from({ length: 2 }, () => 'screen action SCREEN_OFF failed'),
      ...['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'].map(
        (name) => `lost worker ${name} heartbeat`,
      ),
      ...Array.from(
        { length: 4 },
        (_, index) => `disk ${index % 2 === 0 ? 'sda' : 'sdb'} quota exceeded by ${index} MB`,
      ),
    ];
    const batch = emptyBatch();
    bodies.forEach((body, index) => {
      batch.logs.push({
        resource: resource('grouper', 'grouper-1', 'grouping'),
        timeUs: nowUs - (bodies.length - index) * 1_000_000,
        severityNumber: 17,
        severityText: 'ERROR',
        body,
        traceId: '',
        spanId: '',
        attributes: {},
        scope: 'app',
        eventName: '',
      });
    });
    await plane.ingest(batch);
    const summary = await plane.queries.errorSummary({
      namespace: 'grouping',
      period: 'last_1h',
      minSeverity: 'ERROR',
      limit: 20,
      buckets: 1,
    });
    const offline = groupMessages(bodies);
    const counts = new Map<string, number>();
    for (const group of offline.groups) {
      const template = offline.templates[group] ?? '';
      counts.set(template, (counts.get(template) ?? 0) + 1);
    }
    const live = summary.templates.map((template) => [template.template, template.count]);
    expect(live.sort()).toEqual([...counts].sort());
    // A closed set of words names two events; six names in one place are a parameter.
    expect(new Map(live as [string, number][]).get('screen action SCREEN_ON failed')).toBe(3);
    expect(new Map(live as [string, number][]).get('lost worker <*> heartbeat')).toBe(6);
  });
});

describe('metric series', () => {
  it('averages gauges per replica before combining them', async () => {
    const average = await plane.queries.metrics({
      ...scope,
      metric: 'queue',
      period: 'last_15m',
      step: '15m',
      groupBy: 'component',
    });
    expect(average.aggregation).toBe('avg');
    expect(average.series[0]?.points[0]?.value).toBe(15);
    const sum = await plane.queries.metrics({
      ...scope,
      metric: 'queue',
      aggregation: 'sum',
      period: 'last_15m',
      step: '15m',
      groupBy: 'component',
    });
    expect(sum.series[0]?.points[0]?.value).toBe(30);
    const perReplica = await plane.queries.metrics({
      ...scope,
      metric: 'queue',
      period: 'last_15m',
      step: '15m',
      groupBy: 'replica',
    });
    expect(perReplica.series.map((series) => [series.labels.replica, series.points[0]?.value])).toEqual([
      ['cart-1', 10],
      ['cart-2', 20],
    ]);
  });

  it('leaves a rate empty before the series first reported (no data), and zero once it exists', async () => {
    // The requests counter began reporting 10 minutes ago: the 20 minutes before are no data, not zero traffic.
    const rate = await plane.queries.metrics({
      ...scope,
      metric: 'requests',
      period: 'last_30m',
      step: '5m',
      groupBy: 'component',
    });
    const values = rate.series[0]?.points.map((point) => point.value) ?? [];
    expect(values.slice(0, 4)).toEqual([null, null, null, null]);
    expect(values.slice(4).every((value) => value !== null && value > 0)).toBe(true);
  });

  it('turns cumulative counters into rates, counting through a reset', async () => {
    const rate = await plane.queries.metrics({
      ...scope,
      metric: 'requests',
      period: 'last_15m',
      step: '15m',
      groupBy: 'replica',
    });
    expect(rate.aggregation).toBe('rate');
    expect(rate.unit).toBe('1/s');
    const [one, two] = rate.series;
    // cart-1 rose 60 a minute for 10 minutes (the first point counts in full: the series started in the lookback).
    expect(one?.points[0]?.value).toBeCloseTo(600 / 900, 6);
    // cart-2 rose 60 a minute too, with a restart at minute 6 that only resets the counter.
    expect(two?.points[0]?.value).toBeCloseTo(600 / 900, 6);
    await expect(
      plane.queries.metrics({ ...scope, metric: 'requests', aggregation: 'p95', groupBy: 'component' }),
    ).rejects.toThrow(/p95 does not apply to the counter requests/);
  });

  it('names the metrics that exist when asked for one that does not', async () => {
    try {
      await plane.queries.metrics({ ...scope, metric: 'nope', groupBy: 'component' });
      expect.unreachable('should fail');
    } catch (error) {
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).hint).toContain('queue');
      expect((error as NotFoundError).hint).toContain('request_rate');
    }
  });
});

describe('retention', () => {
  it('deletes what is older than the retention period', async () => {
    const before = await plane.store.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM logs');
    expect(await plane.applyRetention()).toBe(1);
    const after = await plane.store.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM logs');
    expect((after[0]?.n ?? 0) - (before[0]?.n ?? 0)).toBe(-1);
  });
});
