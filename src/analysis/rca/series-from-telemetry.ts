// Telemetry records → the engine's series and call graph. Services are named by `service.name`.
// - Metrics: one series per metric name and point attributes. Gauges as they are; monotonic sums as rates;
//   histograms and summaries as their mean (performance) and their count per second (traffic).
// - Spans: per service, its entry spans (no parent, or a parent in another service) in time buckets: mean
//   duration and error ratio (performance), count per second (traffic). A parent in service A of a span in
//   service B is an edge A → B.
// - Logs: per service, error records (severity ≥ ERROR) per second in time buckets, zero where there were none.
import type { LogEntry, MetricPointEntry, SpanEntry } from '../../telemetry/model.js';
import type { Edge, Series } from './model.js';

export interface TelemetryRecords {
  readonly points: readonly MetricPointEntry[];
  readonly spans: readonly SpanEntry[];
  readonly logs: readonly LogEntry[];
}

const errorSeverity = 17;
const spanError = 2;

/** Bucket width for spans and logs: a tenth of the incident window, between 1 s and 60 s. */
export function bucketWidthUs(onsetUs: number, endUs: number): number {
  return Math.min(60_000_000, Math.max(1_000_000, Math.round((endUs - onsetUs) / 10)));
}

export function seriesFromTelemetry(
  records: TelemetryRecords,
  bucketUs: number,
): { series: Series[]; edges: Edge[] } {
  return {
    series: [
      ...metricSeries(records.points),
      ...spanSeries(records.spans, bucketUs),
      ...logSeries(records, bucketUs),
    ],
    edges: spanEdges(records.spans),
  };
}

function attributeText(attributes: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((name) => `${name}=${String(attributes[name])}`).join(',')}}`;
}

function metricSeries(points: readonly MetricPointEntry[]): Series[] {
  const groups = new Map<string, MetricPointEntry[]>();
  for (const point of points) {
    const id = `${point.resource.service}\u0000${point.name}${attributeText(point.attributes)}`;
    const group = groups.get(id);
    if (group === undefined) groups.set(id, [point]);
    else group.push(point);
  }
  const out: Series[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.timeUs - b.timeUs);
    const first = group[0];
    if (first === undefined) continue;
    const service = first.resource.service;
    const metric = `${first.name}${attributeText(first.attributes)}`;
    const base = { service, source: 'metric' as const, unit: first.unit };
    if (first.type === 'gauge' || (first.type === 'sum' && !(first.monotonic && first.temporality === 2))) {
      const perInterval = first.type === 'sum' && first.temporality === 1 && first.monotonic;
      out.push({
        ...base,
        metric,
        kind: 'performance',
        unit: perInterval ? `${first.unit}/s` : first.unit,
        points: group
          .map((point) => [point.timeUs, perInterval ? perSecond(point.value, point) : point.value] as const)
          .filter(([, value]) => Number.isFinite(value)),
      });
      continue;
    }
    if (first.type === 'sum') {
      out.push({ ...base, metric, kind: 'performance', unit: `${first.unit}/s`, points: rates(group) });
      continue;
    }
    // Histograms and summaries: per-interval points (delta, or a start that moves with each point) or
    // cumulative ones (differences of consecutive points).
    const perInterval =
      first.temporality === 1 ||
      group.every((point, index) => index === 0 || point.startUs >= (group[index - 1]?.timeUs ?? 0));
    const mean: (readonly [number, number])[] = [];
    const rate: (readonly [number, number])[] = [];
    for (let index = 0; index < group.length; index += 1) {
      const point = group[index];
      if (point === undefined) continue;
      let sum = point.value;
      let count = point.count;
      let seconds = (point.timeUs - point.startUs) / 1e6;
      if (!perInterval) {
        const previous = group[index - 1];
        if (previous === undefined || point.count < previous.count) continue;
        sum -= previous.value;
        count -= previous.count;
        seconds = (point.timeUs - previous.timeUs) / 1e6;
      }
      if (count > 0 && Number.isFinite(sum)) mean.push([point.timeUs, sum / count]);
      if (seconds > 0) rate.push([point.timeUs, count / seconds]);
    }
    out.push({ ...base, metric: `${metric}.mean`, kind: 'performance', points: mean });
    out.push({ ...base, metric: `${metric}.rate`, kind: 'traffic', unit: '1/s', points: rate });
  }
  return out;
}

function perSecond(value: number, point: MetricPointEntry): number {
  const seconds = (point.timeUs - point.startUs) / 1e6;
  return point.startUs > 0 && seconds > 0 ? value / seconds : value;
}

/** Per-second rates of a cumulative counter; a reset (a drop) starts over. */
function rates(group: readonly MetricPointEntry[]): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  for (let index = 1; index < group.length; index += 1) {
    const point = group[index];
    const previous = group[index - 1];
    if (point === undefined || previous === undefined) continue;
    const seconds = (point.timeUs - previous.timeUs) / 1e6;
    if (seconds <= 0 || point.value < previous.value) continue;
    out.push([point.timeUs, (point.value - previous.value) / seconds]);
  }
  return out;
}

/** Spans whose parent is absent or in another service: where requests enter a service. */
function entrySpans(spans: readonly SpanEntry[]): SpanEntry[] {
  const serviceOf = new Map<string, string>();
  for (const span of spans) serviceOf.set(`${span.traceId}/${span.spanId}`, span.resource.service);
  return spans.filter((span) => {
    if (span.parentSpanId === '') return true;
    const parent = serviceOf.get(`${span.traceId}/${span.parentSpanId}`);
    return parent === undefined || parent !== span.resource.service;
  });
}

function spanEdges(spans: readonly SpanEntry[]): Edge[] {
  const serviceOf = new Map<string, string>();
  for (const span of spans) serviceOf.set(`${span.traceId}/${span.spanId}`, span.resource.service);
  const edges = new Map<string, Edge>();
  for (const span of spans) {
    if (span.parentSpanId === '') continue;
    const parent = serviceOf.get(`${span.traceId}/${span.parentSpanId}`);
    if (parent === undefined || parent === span.resource.service) continue;
    edges.set(`${parent}\u0000${span.resource.service}`, [parent, span.resource.service]);
  }
  return [...edges.values()];
}

function spanSeries(spans: readonly SpanEntry[], bucketUs: number): Series[] {
  const buckets = new Map<string, Map<number, { count: number; errors: number; durationUs: number }>>();
  for (const span of entrySpans(spans)) {
    const service = span.resource.service;
    const perService =
      buckets.get(service) ?? new Map<number, { count: number; errors: number; durationUs: number }>();
    buckets.set(service, perService);
    const bucket = Math.floor(span.startUs / bucketUs) * bucketUs;
    const entry = perService.get(bucket) ?? { count: 0, errors: 0, durationUs: 0 };
    entry.count += 1;
    entry.errors += span.statusCode === spanError ? 1 : 0;
    entry.durationUs += span.durationUs;
    perService.set(bucket, entry);
  }
  const seconds = bucketUs / 1e6;
  const out: Series[] = [];
  for (const [service, perService] of buckets) {
    const entries = [...perService.entries()].sort((a, b) => a[0] - b[0]);
    const at = (bucket: number) => bucket + bucketUs / 2;
    const base = { service, source: 'trace' as const };
    out.push({
      ...base,
      metric: 'span.duration.mean',
      kind: 'performance',
      unit: 'ms',
      points: entries.map(([bucket, entry]) => [at(bucket), entry.durationUs / entry.count / 1000] as const),
    });
    out.push({
      ...base,
      metric: 'span.error.ratio',
      kind: 'performance',
      unit: '',
      points: entries.map(([bucket, entry]) => [at(bucket), entry.errors / entry.count] as const),
    });
    out.push({
      ...base,
      metric: 'span.rate',
      kind: 'traffic',
      unit: '1/s',
      points: fillGaps(
        entries.map(([bucket, entry]) => [bucket, entry.count / seconds] as const),
        bucketUs,
      ).map(([bucket, value]) => [at(bucket), value] as const),
    });
  }
  return out;
}

/**
 * Error records per second of each service that logged an error, over every bucket in which the service showed
 * any sign of life (a span, a log record or a metric point): active and silent means no errors, not no data.
 */
function logSeries(records: TelemetryRecords, bucketUs: number): Series[] {
  const errors = new Map<string, Map<number, number>>();
  for (const log of records.logs) {
    if (log.severityNumber < errorSeverity) continue;
    const buckets = errors.get(log.resource.service) ?? new Map<number, number>();
    errors.set(log.resource.service, buckets);
    const bucket = Math.floor(log.timeUs / bucketUs) * bucketUs;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
  }
  if (errors.size === 0) return [];
  const active = new Map<string, Set<number>>();
  const see = (service: string, timeUs: number) => {
    if (!errors.has(service)) return;
    const buckets = active.get(service) ?? new Set<number>();
    active.set(service, buckets);
    buckets.add(Math.floor(timeUs / bucketUs) * bucketUs);
  };
  for (const log of records.logs) see(log.resource.service, log.timeUs);
  for (const span of records.spans) see(span.resource.service, span.startUs);
  for (const point of records.points) see(point.resource.service, point.timeUs);
  const seconds = bucketUs / 1e6;
  const out: Series[] = [];
  for (const [service, buckets] of errors) {
    const times = [...(active.get(service) ?? [])].sort((a, b) => a - b);
    out.push({
      service,
      metric: 'log.errors.rate',
      kind: 'performance',
      source: 'log',
      unit: '1/s',
      points: times.map((bucket) => [bucket + bucketUs / 2, (buckets.get(bucket) ?? 0) / seconds] as const),
    });
  }
  return out;
}

/** Longest run of empty buckets read as "nothing happened"; a longer one is a gap in the data. */
const maxQuietBuckets = 60;

/** Empty buckets between two that saw something count as 0, unless the gap is longer than maxQuietBuckets. */
function fillGaps(
  entries: readonly (readonly [number, number])[],
  bucketUs: number,
): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  let previous: number | undefined;
  for (const [bucket, value] of entries) {
    if (previous !== undefined && (bucket - previous) / bucketUs <= maxQuietBuckets + 1) {
      for (let quiet = previous + bucketUs; quiet < bucket; quiet += bucketUs) out.push([quiet, 0]);
    }
    out.push([bucket, value]);
    previous = bucket;
  }
  return out;
}
