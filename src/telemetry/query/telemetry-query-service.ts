// The telemetry queries: logs with context, error summaries, metric series (stored and derived from spans),
// traces with critical path, the dependency graph and resource usage. SQL runs in the embedded DuckDB store;
// pure analyzers (template mining, critical path) do the rest. Every answer says what it cut.
import { groupWeightedKeys } from '../../analysis/log-templates/group-messages.js';
import { criticalPath } from '../../analysis/traces/critical-path.js';
import type { Clock } from '../../core/clock.js';
import { InvalidError, NotFoundError, errorMessage } from '../../core/errors.js';
import { metricTypes, severity, severityName, spanKinds, statusCodes } from '../model.js';
import { replicaCpuMetric, replicaMemoryMetric } from '../ingest/runtime-telemetry.js';
import type { SqlParameters, StoredResource, TelemetryStore } from '../store/telemetry-store.js';
import {
  type Aggregation,
  type DependencyGraph,
  type DependencyQuery,
  type ErrorSummary,
  type ErrorSummaryQuery,
  type ErrorTemplate,
  type FlatSpan,
  type LogEntryView,
  type LogQuery,
  type LogResult,
  type MetricQuery,
  type MetricResult,
  type ResourceUsage,
  type ResourceUsageQuery,
  type SpanNode,
  type TraceQuery,
  type TraceSample,
  type TraceSearchResult,
  type TraceView,
} from './contracts.js';
import { iso, resolveStep, resolveWindow, type Window } from './window.js';

/** Requests and limits of the bindings resource usage is compared with (from the platform). */
export interface BindingAllocation {
  readonly component: string;
  readonly environment: string;
  readonly binding: string;
  readonly cpuRequestMillis: number | null;
  readonly cpuLimitMillis: number | null;
  readonly memoryRequestBytes: number | null;
  readonly memoryLimitBytes: number | null;
}

interface Scope {
  namespace: string;
  project?: string | undefined;
  component?: string | undefined;
  environment?: string | undefined;
  replica?: string | undefined;
}

type LogRow = {
  rid: number;
  ts_us: number;
  resource_id: number;
  severity_number: number;
  severity_text: string | null;
  body: string;
  trace_id: string | null;
  span_id: string | null;
  attributes: string | null;
  scope: string | null;
  event_name: string | null;
};

const logColumns =
  'rowid::DOUBLE AS rid, epoch_us(ts)::DOUBLE AS ts_us, resource_id, severity_number, severity_text, body, trace_id, span_id, attributes, scope, event_name';

const time = (parameter: string): string => `make_timestamp(CAST($${parameter} AS BIGINT))`;

/** Rows of these resources between the `$from` and `$to` parameters (epoch microseconds). */
const inScope = (resources: readonly StoredResource[]): string =>
  `resource_id IN (${idList(resources)}) AND ts >= ${time('from')} AND ts <= ${time('to')}`;

/** Where bindings' requests and limits come from (the platform, wired in by the composition root). */
export type AllocationSource = (scope: ResourceUsageQuery) => Promise<BindingAllocation[]>;

export class TelemetryQueryService {
  constructor(
    private readonly store: TelemetryStore,
    private readonly clock: Clock,
    private readonly allocations: AllocationSource = () => Promise.resolve([]),
  ) {}

  async logs(query: LogQuery): Promise<LogResult> {
    if (query.text !== undefined && query.regex !== undefined) {
      throw new InvalidError('give text or regex, not both', [
        { path: 'regex', message: 'conflicts with text' },
      ]);
    }
    const window = resolveWindow(query, this.clock.now());
    const resources = this.resourcesIn(query);
    const result: LogResult = { entries: [], window: windowView(window), nextCursor: null, truncated: false };
    if (resources.length === 0) return result;

    const parameters: SqlParameters = { from: window.fromUs, to: window.toUs, limit: query.limit + 1 };
    const conditions = [inScope(resources)];
    if (query.minSeverity !== undefined) {
      conditions.push('severity_number >= $minSeverity');
      parameters.minSeverity = severity[query.minSeverity.toLowerCase() as keyof typeof severity];
    }
    if (query.text !== undefined) {
      conditions.push('contains(lower(body), lower($text))');
      parameters.text = query.text;
    }
    if (query.regex !== undefined) {
      conditions.push('regexp_matches(body, $regex)');
      parameters.regex = query.regex;
    }
    if (query.traceId !== undefined) {
      conditions.push('trace_id = $traceId');
      parameters.traceId = query.traceId.toLowerCase();
    }
    if (query.cursor !== undefined) {
      const cursor = decodeCursor(query.cursor);
      conditions.push(`(ts < ${time('cursorTs')} OR (ts = ${time('cursorTs')} AND rowid < $cursorRid))`);
      parameters.cursorTs = cursor.ts;
      parameters.cursorRid = cursor.rid;
    }
    const rows = await this.run<LogRow>(
      `SELECT ${logColumns} FROM logs WHERE ${conditions.join(' AND ')} ORDER BY ts DESC, rowid DESC LIMIT $limit`,
      parameters,
      'regex',
    );
    const page = rows.slice(0, query.limit);
    result.truncated = rows.length > query.limit;
    const last = page.at(-1);
    result.nextCursor = result.truncated && last !== undefined ? encodeCursor(last.ts_us, last.rid) : null;
    const context =
      query.context > 0 && page.length > 0 ? await this.logContext(page, query.context, window) : undefined;
    result.entries = page.map((row) => ({
      ...this.logView(row),
      ...(context === undefined ? {} : { context: context.get(row.rid) ?? { before: [], after: [] } }),
    }));
    return result;
  }

  /** For each match, the lines around it from the same replica within the window, in time order. */
  private async logContext(
    matches: readonly LogRow[],
    lines: number,
    window: Window,
  ): Promise<Map<number, { before: LogEntryView[]; after: LogEntryView[] }>> {
    const resources = [...new Set(matches.map((row) => row.resource_id))];
    const rows = await this.run<LogRow & { match_rid: number; offset: number }>(
      `WITH base AS (
         SELECT ${logColumns}, row_number() OVER (PARTITION BY resource_id ORDER BY ts, rowid) AS position
         FROM logs
         WHERE resource_id IN (${resources.join(',')}) AND ts >= ${time('from')} AND ts <= ${time('to')}
       ),
       matched AS (SELECT rid, resource_id, position FROM base WHERE rid IN (${matches.map((row) => row.rid).join(',')}))
       SELECT m.rid AS match_rid, (b.position - m.position)::INTEGER AS "offset", b.*
       FROM matched m JOIN base b ON b.resource_id = m.resource_id
         AND b.position BETWEEN m.position - $lines AND m.position + $lines AND b.rid <> m.rid
       ORDER BY m.rid, b.position`,
      { from: window.fromUs, to: window.toUs, lines },
    );
    const context = new Map<number, { before: LogEntryView[]; after: LogEntryView[] }>();
    for (const row of rows) {
      let entry = context.get(row.match_rid);
      if (entry === undefined) {
        entry = { before: [], after: [] };
        context.set(row.match_rid, entry);
      }
      (row.offset < 0 ? entry.before : entry.after).push(this.logView(row));
    }
    return context;
  }

  async errorSummary(query: ErrorSummaryQuery): Promise<ErrorSummary> {
    const window = resolveWindow(query, this.clock.now());
    const resources = this.resourcesIn(query);
    const empty: ErrorSummary = {
      window: windowView(window),
      totalLines: 0,
      distinctTemplates: 0,
      templates: [],
      truncated: false,
    };
    if (resources.length === 0) return empty;
    const minSeverity = severity[query.minSeverity.toLowerCase() as keyof typeof severity];
    // Lines at WARN and above carry a key masked at ingest; below that, mask the same way in SQL.
    const key = `coalesce(template_key, regexp_replace(body, '\\S*\\d\\S*', '<*>', 'g'))`;
    const bucketUs = Math.max(1, Math.ceil((window.toUs - window.fromUs) / query.buckets));
    const parameters: SqlParameters = { from: window.fromUs, to: window.toUs, minSeverity, bucket: bucketUs };
    const filter = `${inScope(resources)} AND severity_number >= $minSeverity`;
    const groups = await this.run<{
      key: string;
      count: number;
      first_us: number;
      last_us: number;
      max_severity: number;
      samples: string[];
      trace_ids: (string | null)[];
      resource_ids: number[];
      trend: { b: number; n: number }[];
    }>(
      `WITH lines AS (SELECT ${key} AS key, ts, severity_number, body, trace_id, resource_id,
                             CAST(floor((epoch_us(ts) - $from) / $bucket) AS INTEGER) AS b
                      FROM logs WHERE ${filter}),
       trend AS (SELECT key, list({'b': b, 'n': n}) AS trend FROM (SELECT key, b, count(*)::INTEGER AS n FROM lines GROUP BY key, b) GROUP BY key)
       SELECT l.key, count(*)::INTEGER AS count, epoch_us(min(ts))::DOUBLE AS first_us, epoch_us(max(ts))::DOUBLE AS last_us,
              max(severity_number)::INTEGER AS max_severity,
              (list(body ORDER BY ts DESC))[1:3] AS samples,
              (list(DISTINCT trace_id) FILTER (WHERE trace_id IS NOT NULL))[1:5] AS trace_ids,
              list(DISTINCT resource_id) AS resource_ids,
              any_value(t.trend) AS trend
       FROM lines l JOIN trend t ON t.key = l.key
       GROUP BY l.key ORDER BY count DESC LIMIT 2000`,
      parameters,
    );
    if (groups.length === 0) return empty;

    // Keys that still differ only in variable positions (a word count, a name) fold into one template, grouped
    // as `opspilot analyze log-templates` groups a file: the same grouping, each key weighted by its lines.
    const grouping = groupWeightedKeys(groups.map((group) => ({ key: group.key, weight: group.count })));
    const merged = new Map<number, { template: string; groups: typeof groups }>();
    groups.forEach((group, index) => {
      const id = grouping.groups[index] ?? 0;
      const entry = merged.get(id);
      if (entry === undefined)
        merged.set(id, { template: grouping.templates[id] ?? group.key, groups: [group] });
      else entry.groups.push(group);
    });
    const keys = groups.map((group) => group.key);
    const firstEver = new Map(
      (
        await this.run<{ key: string; first_us: number }>(
          `SELECT ${key} AS key, epoch_us(min(ts))::DOUBLE AS first_us FROM logs
           WHERE resource_id IN (${idList(resources)}) AND severity_number >= $minSeverity AND ${key} IN (SELECT unnest($keys::VARCHAR[]))
           GROUP BY 1`,
          { minSeverity, keys },
        )
      ).map((row) => [row.key, row.first_us]),
    );
    const newSinceUs = query.newSince === undefined ? window.fromUs : Date.parse(query.newSince) * 1000;
    const templates: ErrorTemplate[] = [...merged.values()].map(({ template, groups: members }) => {
      const trend = new Array<number>(query.buckets).fill(0);
      for (const member of members)
        for (const point of member.trend)
          if (point.b >= 0 && point.b < trend.length) trend[point.b] = (trend[point.b] ?? 0) + point.n;
      const firstEverUs = Math.min(...members.map((member) => firstEver.get(member.key) ?? member.first_us));
      const resourceIds = [...new Set(members.flatMap((member) => member.resource_ids))];
      return {
        template,
        count: members.reduce((sum, member) => sum + member.count, 0),
        firstSeen: iso(Math.min(...members.map((member) => member.first_us))),
        lastSeen: iso(Math.max(...members.map((member) => member.last_us))),
        firstEverSeen: iso(firstEverUs),
        new: firstEverUs >= newSinceUs,
        trend: trend.map((count, index) => ({ time: iso(window.fromUs + index * bucketUs), count })),
        samples: members.flatMap((member) => member.samples).slice(0, 3),
        traceIds: [
          ...new Set(members.flatMap((member) => member.trace_ids).filter((id): id is string => id !== null)),
        ].slice(0, 5),
        components: [...new Set(resourceIds.map((id) => this.store.resource(id)?.component ?? '?'))].sort(),
        severity: severityName(Math.max(...members.map((member) => member.max_severity))),
      };
    });
    templates.sort((a, b) => b.count - a.count);
    return {
      window: windowView(window),
      totalLines: groups.reduce((sum, group) => sum + group.count, 0),
      distinctTemplates: templates.length,
      templates: templates.slice(0, query.limit),
      truncated: templates.length > query.limit,
    };
  }

  async metrics(query: MetricQuery): Promise<MetricResult> {
    const window = resolveWindow(query, this.clock.now());
    const step = resolveStep(window, query.step);
    const resources = this.resourcesIn(query);
    const derived = derivedDefinition(query.metric);
    const name = derived?.stored ?? query.metric;
    const base = {
      metric: query.metric,
      step: step.text,
      window: windowView(window),
      series: [],
      truncated: false,
    };

    if (derived?.fromSpans === true) {
      const aggregation = derived.aggregation;
      if (resources.length === 0) return { ...base, unit: derived.unit, aggregation };
      const series = await this.spanSeries(query.metric, resources, window, step.stepUs, query.groupBy);
      return { ...base, unit: derived.unit, aggregation, ...capSeries(series) };
    }

    const kinds =
      resources.length === 0
        ? []
        : await this.run<{ type: number; temporality: number; monotonic: boolean; unit: string | null }>(
            `SELECT type, temporality, monotonic, any_value(unit) AS unit FROM metric_points
       WHERE name = $name AND ${inScope(resources)}
       GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1`,
            { name, from: window.fromUs, to: window.toUs },
          );
    const kind = kinds[0];
    if (kind === undefined) {
      const known = await this.metricNames(resources);
      throw new NotFoundError(`no data for metric ${query.metric} in this scope and window`, {
        hint:
          known.length === 0
            ? 'Nothing reported metrics here yet; derived metrics (request_rate, error_rate, latency_p95) need server spans.'
            : `Metrics with data here: ${[...derivedMetricNames(), ...known].slice(0, 30).join(', ')}.`,
      });
    }
    const type = metricTypes[kind.type] ?? 'gauge';
    const counter = type === 'sum' && kind.monotonic;
    const aggregation: Aggregation =
      query.aggregation ?? derived?.aggregation ?? (counter ? 'rate' : type === 'histogram' ? 'p95' : 'avg');
    const unit = derived?.unit ?? kind.unit ?? '';
    let series: MetricResult['series'];
    if (type === 'histogram') {
      series = await this.histogramSeries(name, resources, window, step.stepUs, query.groupBy, aggregation);
    } else if (counter) {
      series = await this.counterSeries(
        name,
        kind.temporality,
        resources,
        window,
        step.stepUs,
        query.groupBy,
        aggregation,
      );
    } else {
      series = await this.gaugeSeries(name, resources, window, step.stepUs, query.groupBy, aggregation);
    }
    return {
      ...base,
      unit: aggregation === 'rate' ? `${unit === '' ? '' : `${unit}/`}s` : unit,
      aggregation,
      ...capSeries(series),
    };
  }

  /** Names of metrics stored for these resources (most reported first). */
  async metricNames(resources: readonly StoredResource[]): Promise<string[]> {
    if (resources.length === 0) return [];
    const rows = await this.run<{ name: string }>(
      `SELECT name FROM metric_points WHERE resource_id IN (${idList(resources)}) GROUP BY name ORDER BY count(*) DESC LIMIT 200`,
    );
    return rows.map((row) => row.name);
  }

  private async spanSeries(
    metric: string,
    resources: readonly StoredResource[],
    window: Window,
    stepUs: number,
    groupBy: MetricQuery['groupBy'],
  ): Promise<MetricResult['series']> {
    const value =
      metric === 'request_rate'
        ? `count(*) / ($step / 1e6)`
        : metric === 'error_rate'
          ? `avg(CASE WHEN status_code = 2 OR http_status >= 500 THEN 1.0 ELSE 0.0 END)`
          : `quantile_cont(duration_us / 1000.0, ${metric === 'latency_p50' ? 0.5 : metric === 'latency_p95' ? 0.95 : 0.99})`;
    const rows = await this.run<{ label: string; b: number; value: number | null }>(
      `WITH res(id, label) AS (VALUES ${labelValues(resources, groupBy)})
       SELECT res.label, CAST(floor((epoch_us(ts) - $from) / $step) AS INTEGER) AS b, ${value} AS value
       FROM spans JOIN res ON spans.resource_id = res.id
       WHERE kind IN (2, 5) AND ts >= ${time('from')} AND ts < ${time('to')}
       GROUP BY 1, 2`,
      { from: window.fromUs, to: window.toUs, step: stepUs },
    );
    return toSeries(rows, window, stepUs, groupBy, metric === 'request_rate' ? 0 : null);
  }

  private async gaugeSeries(
    name: string,
    resources: readonly StoredResource[],
    window: Window,
    stepUs: number,
    groupBy: MetricQuery['groupBy'],
    aggregation: Aggregation,
  ): Promise<MetricResult['series']> {
    if (aggregation === 'rate') {
      throw new InvalidError(`rate is for counters; ${name} is a gauge`, [
        { path: 'aggregation', message: 'use avg, min, max, sum or a percentile' },
      ]);
    }
    // Series are averaged inside a bucket first, so that sum means "sum over replicas", not over samples.
    const combine = {
      avg: 'avg(v)',
      min: 'min(lo)',
      max: 'max(hi)',
      sum: 'sum(v)',
      p50: 'quantile_cont(v, 0.5)',
      p95: 'quantile_cont(v, 0.95)',
      p99: 'quantile_cont(v, 0.99)',
    }[aggregation];
    const rows = await this.run<{ label: string; b: number; value: number | null }>(
      `WITH res(id, label) AS (VALUES ${labelValues(resources, groupBy)}),
       per_series AS (
         SELECT res.label, series, CAST(floor((epoch_us(ts) - $from) / $step) AS INTEGER) AS b,
                avg(value) AS v, min(value) AS lo, max(value) AS hi
         FROM metric_points JOIN res ON metric_points.resource_id = res.id
         WHERE name = $name AND ts >= ${time('from')} AND ts < ${time('to')}
         GROUP BY 1, 2, 3)
       SELECT label, b, ${combine} AS value FROM per_series GROUP BY 1, 2`,
      { name, from: window.fromUs, to: window.toUs, step: stepUs },
    );
    return toSeries(rows, window, stepUs, groupBy, null);
  }

  private async counterSeries(
    name: string,
    temporality: number,
    resources: readonly StoredResource[],
    window: Window,
    stepUs: number,
    groupBy: MetricQuery['groupBy'],
    aggregation: Aggregation,
  ): Promise<MetricResult['series']> {
    if (!['rate', 'sum'].includes(aggregation)) {
      throw new InvalidError(`${aggregation} does not apply to the counter ${name}`, [
        { path: 'aggregation', message: 'use rate or sum' },
      ]);
    }
    // Cumulative counters: the increase between consecutive points of one series (a drop is a reset: count
    // from zero). A series whose start time lies inside the lookback began at zero, so its first point is all
    // increase; an older one's first point is only a baseline. Delta counters already are increases.
    const increase =
      temporality === 2
        ? `CASE WHEN lag(value) OVER w IS NULL THEN (CASE WHEN start_ts >= ${time('from')} - INTERVAL 1 HOUR THEN value END)
                WHEN value >= lag(value) OVER w THEN value - lag(value) OVER w ELSE value END`
        : 'value';
    const scale = aggregation === 'rate' ? ' / ($step / 1e6)' : '';
    const rows = await this.run<{ label: string; b: number; value: number | null }>(
      `WITH res(id, label) AS (VALUES ${labelValues(resources, groupBy)}),
       increases AS (
         SELECT res.label, ts, ${increase} AS increase
         FROM metric_points JOIN res ON metric_points.resource_id = res.id
         WHERE name = $name AND ts >= ${time('from')} - INTERVAL 1 HOUR AND ts < ${time('to')}
         WINDOW w AS (PARTITION BY series ORDER BY ts))
       SELECT label, CAST(floor((epoch_us(ts) - $from) / $step) AS INTEGER) AS b, sum(increase)${scale} AS value
       FROM increases WHERE ts >= ${time('from')} GROUP BY 1, 2`,
      { name, from: window.fromUs, to: window.toUs, step: stepUs },
    );
    return toSeries(rows, window, stepUs, groupBy, 0);
  }

  private async histogramSeries(
    name: string,
    resources: readonly StoredResource[],
    window: Window,
    stepUs: number,
    groupBy: MetricQuery['groupBy'],
    aggregation: Aggregation,
  ): Promise<MetricResult['series']> {
    const rows = await this.run<{
      label: string;
      series: string;
      ts_us: number;
      start_us: number | null;
      temporality: number;
      count: number;
      sum: number | null;
      bounds: string | null;
      bucket_counts: string | null;
    }>(
      `WITH res(id, label) AS (VALUES ${labelValues(resources, groupBy)})
       SELECT res.label, series, epoch_us(ts)::DOUBLE AS ts_us, epoch_us(start_ts)::DOUBLE AS start_us, temporality, count, value AS sum, bounds, bucket_counts
       FROM metric_points JOIN res ON metric_points.resource_id = res.id
       WHERE name = $name AND ts >= ${time('from')} - INTERVAL 1 HOUR AND ts < ${time('to')}
       ORDER BY series, ts`,
      { name, from: window.fromUs, to: window.toUs },
    );
    // Per (label, bucket): summed bucket-count increases across series, and count/sum increases.
    const buckets = new Map<string, { bounds: number[]; counts: number[]; count: number; sum: number }>();
    let previous: (typeof rows)[number] | undefined;
    for (const row of rows) {
      const counts = parseNumbers(row.bucket_counts);
      let increase = counts;
      let count = row.count;
      let sum = row.sum ?? 0;
      if (row.temporality === 2 && previous?.series !== row.series) {
        // The first point of a cumulative series is all increase if the series started in the lookback, else a baseline.
        const startedRecently = row.start_us !== null && row.start_us >= window.fromUs - 3_600_000_000;
        previous = row;
        if (!startedRecently) continue;
      } else if (row.temporality === 2 && previous !== undefined) {
        const before = parseNumbers(previous.bucket_counts);
        const reset = row.count < previous.count;
        increase = reset ? counts : counts.map((value, index) => value - (before[index] ?? 0));
        count = reset ? row.count : row.count - previous.count;
        sum = reset ? (row.sum ?? 0) : (row.sum ?? 0) - (previous.sum ?? 0);
      }
      previous = row;
      if (row.ts_us < window.fromUs) continue;
      const b = Math.floor((row.ts_us - window.fromUs) / stepUs);
      const key = `${row.label}\u0000${b}`;
      let entry = buckets.get(key);
      if (entry === undefined) {
        entry = {
          bounds: parseNumbers(row.bounds),
          counts: new Array<number>(increase.length).fill(0),
          count: 0,
          sum: 0,
        };
        buckets.set(key, entry);
      }
      increase.forEach((value, index) => {
        entry.counts[index] = (entry.counts[index] ?? 0) + value;
      });
      entry.count += count;
      entry.sum += sum;
    }
    const values = [...buckets.entries()].map(([key, entry]) => {
      const [label = '', b = '0'] = key.split('\u0000');
      let value: number | null;
      if (aggregation === 'rate') value = entry.count / (stepUs / 1e6);
      else if (aggregation === 'sum') value = entry.sum;
      else if (aggregation === 'avg') value = entry.count > 0 ? entry.sum / entry.count : null;
      else if (aggregation === 'min' || aggregation === 'max') {
        throw new InvalidError(`${aggregation} is not kept for histogram ${name}`, [
          { path: 'aggregation', message: 'use avg, rate, sum or a percentile' },
        ]);
      } else value = histogramQuantile(entry.bounds, entry.counts, Number(aggregation.slice(1)) / 100);
      return { label, b: Number(b), value };
    });
    return toSeries(values, window, stepUs, groupBy, null);
  }

  async traces(query: TraceQuery): Promise<TraceSearchResult> {
    const window = resolveWindow(query, this.clock.now());
    const resources = this.resourcesIn(query);
    if (resources.length === 0) return { window: windowView(window), traces: [], truncated: false };
    const parameters: SqlParameters = { from: window.fromUs, to: window.toUs, limit: query.limit + 1 };
    const conditions = [inScope(resources)];
    if (query.operation !== undefined) {
      conditions.push('name = $operation');
      parameters.operation = query.operation;
    }
    if (query.minDurationMs !== undefined) {
      conditions.push('duration_us >= $minDuration');
      parameters.minDuration = query.minDurationMs * 1000;
    }
    if (query.status === 'error') conditions.push('(status_code = 2 OR http_status >= 500)');
    // A trace crosses tenants; its summary counts and names only the spans of the namespace searched (as trace()).
    const namespaceResources = this.resourcesIn({ namespace: query.namespace });
    if (query.status === 'ok') conditions.push('status_code <> 2 AND coalesce(http_status, 0) < 500');
    // Matching spans select traces; each trace is then summarised over all its spans.
    const rows = await this.run<{
      trace_id: string;
      start_us: number;
      end_us: number;
      span_count: number;
      error_count: number;
      root_resource: number | null;
      root_name: string | null;
      resource_ids: number[];
    }>(
      `WITH matching AS (
         SELECT trace_id, max(ts) AS latest FROM spans WHERE ${conditions.join(' AND ')}
         GROUP BY trace_id ORDER BY latest DESC LIMIT $limit)
       SELECT s.trace_id, epoch_us(min(s.ts))::DOUBLE AS start_us, epoch_us(max(s.end_ts))::DOUBLE AS end_us,
              count(*)::INTEGER AS span_count,
              count(*) FILTER (WHERE s.status_code = 2 OR s.http_status >= 500)::INTEGER AS error_count,
              arg_min(s.resource_id, CASE WHEN s.parent_span_id = '' THEN 0 ELSE 1 END * 1e18 + epoch_us(s.ts)) AS root_resource,
              arg_min(s.name, CASE WHEN s.parent_span_id = '' THEN 0 ELSE 1 END * 1e18 + epoch_us(s.ts)) AS root_name,
              list(DISTINCT s.resource_id) AS resource_ids
       FROM spans s JOIN matching m ON m.trace_id = s.trace_id
       WHERE s.ts >= ${time('from')} - INTERVAL 1 HOUR AND s.ts <= ${time('to')} + INTERVAL 1 HOUR
         AND s.resource_id IN (${idList(namespaceResources)})
       GROUP BY s.trace_id ORDER BY max(m.latest) DESC`,
      parameters,
    );
    const traces = rows.slice(0, query.limit).map((row) => ({
      traceId: row.trace_id,
      rootService: this.store.resource(row.root_resource ?? -1)?.service ?? '?',
      rootName: row.root_name ?? '',
      start: iso(row.start_us),
      durationMs: (row.end_us - row.start_us) / 1000,
      spanCount: row.span_count,
      errorCount: row.error_count,
      services: [...new Set(row.resource_ids.map((id) => this.store.resource(id)?.service ?? '?'))].sort(),
    }));
    return { window: windowView(window), traces, truncated: rows.length > query.limit };
  }

  /**
   * The traces `traces(query)` finds, each with all its spans (of the query's namespace), in one read: what the
   * trace analyzers (where errors originate, where latency is added) need.
   */
  async traceSample(query: TraceQuery): Promise<TraceSample> {
    const found = await this.traces(query);
    if (found.traces.length === 0) return { window: found.window, traces: [], truncated: false };
    const window = resolveWindow(query, this.clock.now());
    const rows = await this.run<{
      trace_id: string;
      span_id: string;
      parent_span_id: string;
      resource_id: number;
      name: string;
      kind: number;
      start_us: number;
      duration_us: number;
      status_code: number;
      http_status: number | null;
      status_message: string | null;
      peer: string | null;
    }>(
      `SELECT trace_id, span_id, parent_span_id, resource_id, name, kind, epoch_us(ts)::DOUBLE AS start_us,
              duration_us, status_code, http_status, status_message, peer
       FROM spans
       WHERE trace_id IN (SELECT unnest($ids::VARCHAR[]))
         AND ts >= ${time('from')} - INTERVAL 1 HOUR AND ts <= ${time('to')} + INTERVAL 1 HOUR
       ORDER BY ts LIMIT 200000`,
      { ids: found.traces.map((trace) => trace.traceId), from: window.fromUs, to: window.toUs },
    );
    const byTrace = new Map<string, FlatSpan[]>(found.traces.map((trace) => [trace.traceId, []]));
    for (const row of rows) {
      const resource = this.store.resource(row.resource_id);
      if (resource?.namespace !== query.namespace) continue;
      byTrace.get(row.trace_id)?.push({
        spanId: row.span_id,
        parentSpanId: row.parent_span_id === '' ? null : row.parent_span_id,
        service: resource.component,
        name: row.name,
        kind: spanKinds[row.kind] ?? 'UNSPECIFIED',
        startUs: row.start_us,
        endUs: row.start_us + row.duration_us,
        error: row.status_code === 2 || (row.http_status ?? 0) >= 500,
        statusMessage: row.status_message,
        peer: row.peer,
      });
    }
    return {
      window: found.window,
      traces: [...byTrace].map(([traceId, spans]) => ({ traceId, spans })),
      truncated: found.truncated,
    };
  }

  /** A whole trace as a span tree, with self times and the critical path. */
  async trace(traceId: string, namespace: string): Promise<TraceView> {
    if (!/^[0-9a-fA-F]{32}$/.test(traceId))
      throw new InvalidError('a trace id is 32 hex characters', [
        { path: 'traceId', message: 'not a trace id' },
      ]);
    const rows = await this.run<{
      span_id: string;
      parent_span_id: string;
      resource_id: number;
      name: string;
      kind: number;
      start_us: number;
      end_us: number;
      duration_us: number;
      status_code: number;
      status_message: string | null;
      attributes: string | null;
      events: string | null;
    }>(
      `SELECT span_id, parent_span_id, resource_id, name, kind, epoch_us(ts)::DOUBLE AS start_us, epoch_us(end_ts)::DOUBLE AS end_us,
              duration_us, status_code, status_message, attributes, events
       FROM spans WHERE trace_id = $traceId ORDER BY ts LIMIT 10000`,
      { traceId: traceId.toLowerCase() },
    );
    const visible = rows.filter((row) => this.store.resource(row.resource_id)?.namespace === namespace);
    if (visible.length === 0)
      throw new NotFoundError(`trace ${traceId} not found in namespace ${namespace}`, {
        hint: 'Traces are kept for the retention period; search with query_traces.',
      });
    const timed = visible.map((row) => ({
      spanId: row.span_id,
      parentSpanId: row.parent_span_id,
      startUs: row.start_us,
      endUs: row.start_us + row.duration_us,
    }));
    const { path, selfTimeUs } = criticalPath(timed);
    const onPath = new Set(path);
    const traceStart = Math.min(...visible.map((row) => row.start_us));
    const traceEnd = Math.max(...timed.map((span) => span.endUs));
    const nodes = new Map<string, SpanNode>();
    for (const row of visible) {
      const resource = this.store.resource(row.resource_id);
      nodes.set(row.span_id, {
        spanId: row.span_id,
        parentSpanId: row.parent_span_id === '' ? null : row.parent_span_id,
        service: resource?.service ?? '?',
        component: resource?.component ?? '?',
        name: row.name,
        kind: spanKinds[row.kind] ?? 'UNSPECIFIED',
        start: iso(row.start_us),
        startOffsetMs: (row.start_us - traceStart) / 1000,
        durationMs: row.duration_us / 1000,
        selfTimeMs: (selfTimeUs.get(row.span_id) ?? 0) / 1000,
        status: statusCodes[row.status_code] ?? 'UNSET',
        statusMessage: row.status_message,
        attributes: parseObject(row.attributes),
        events: row.events === null ? [] : (JSON.parse(row.events) as unknown[]),
        onCriticalPath: onPath.has(row.span_id),
        children: [],
      });
    }
    const roots: SpanNode[] = [];
    for (const node of nodes.values()) {
      const parent = node.parentSpanId === null ? undefined : nodes.get(node.parentSpanId);
      if (parent === undefined) roots.push(node);
      else parent.children.push(node);
    }
    for (const node of nodes.values()) node.children.sort((a, b) => a.startOffsetMs - b.startOffsetMs);
    return {
      traceId: traceId.toLowerCase(),
      durationMs: (traceEnd - traceStart) / 1000,
      spanCount: nodes.size,
      services: [...new Set([...nodes.values()].map((node) => node.service))].sort(),
      roots,
      criticalPath: path.map((spanId) => {
        const node = nodes.get(spanId);
        return {
          spanId,
          service: node?.service ?? '?',
          name: node?.name ?? '',
          selfTimeMs: node?.selfTimeMs ?? 0,
        };
      }),
    };
  }

  /** Services and their calls, from spans: server spans make nodes, client spans (matched to the server span they caused) make edges. */
  async dependencies(query: DependencyQuery): Promise<DependencyGraph> {
    const window = resolveWindow(query, this.clock.now());
    const resources = this.resourcesIn(query);
    if (resources.length === 0) return { window: windowView(window), nodes: [], edges: [] };
    const seconds = (window.toUs - window.fromUs) / 1e6;
    const parameters = { from: window.fromUs, to: window.toUs };
    const filter = inScope(resources);
    const services = await this.run<{
      resource_id: number;
      calls: number;
      errors: number;
      p95: number | null;
    }>(
      `SELECT resource_id, count(*)::INTEGER AS calls,
              count(*) FILTER (WHERE status_code = 2 OR http_status >= 500)::INTEGER AS errors,
              quantile_cont(duration_us / 1000.0, 0.95) AS p95
       FROM spans WHERE ${filter} AND kind IN (2, 5) GROUP BY resource_id`,
      parameters,
    );
    const edges = await this.run<{
      caller: number;
      callee: number | null;
      peer: string | null;
      calls: number;
      errors: number;
      p95: number | null;
    }>(
      `WITH client AS (SELECT trace_id, span_id, resource_id, peer, status_code, http_status, duration_us FROM spans WHERE ${filter} AND kind IN (3, 4)),
       server AS (SELECT trace_id, parent_span_id, resource_id FROM spans WHERE ts >= ${time('from')} AND ts <= ${time('to')} + INTERVAL 5 MINUTE AND kind IN (2, 5))
       SELECT c.resource_id AS caller, s.resource_id AS callee, CASE WHEN s.resource_id IS NULL THEN c.peer END AS peer,
              count(*)::INTEGER AS calls,
              count(*) FILTER (WHERE c.status_code = 2 OR c.http_status >= 500)::INTEGER AS errors,
              quantile_cont(c.duration_us / 1000.0, 0.95) AS p95
       FROM client c LEFT JOIN server s ON s.trace_id = c.trace_id AND s.parent_span_id = c.span_id
       GROUP BY 1, 2, 3`,
      parameters,
    );
    // A callee in another namespace is named `namespace/component`: it is another tenant's service, not ours.
    const nameOf = (id: number): string => {
      const resource = this.store.resource(id);
      if (resource === undefined) return '?';
      return resource.namespace === query.namespace
        ? resource.component
        : `${resource.namespace}/${resource.component}`;
    };
    const environmentOf = (id: number): string => this.store.resource(id)?.environment ?? '';
    const namespaceOf = (id: number): string => this.store.resource(id)?.namespace ?? '';
    const nodeStats = new Map<
      string,
      {
        namespace: string;
        environment: string;
        calls: number;
        errors: number;
        p95: number | null;
        external: boolean;
      }
    >();
    for (const row of services) {
      const name = nameOf(row.resource_id);
      const current = nodeStats.get(name);
      // Replicas of one component are one node: add calls; keep the worst p95 as a conservative figure.
      nodeStats.set(name, {
        namespace: namespaceOf(row.resource_id),
        environment: environmentOf(row.resource_id),
        calls: (current?.calls ?? 0) + row.calls,
        errors: (current?.errors ?? 0) + row.errors,
        p95: Math.max(current?.p95 ?? 0, row.p95 ?? 0) || null,
        external: false,
      });
    }
    const edgeStats = new Map<
      string,
      { from: string; to: string; calls: number; errors: number; p95: number | null }
    >();
    for (const row of edges) {
      const from = nameOf(row.caller);
      const to = row.callee !== null ? nameOf(row.callee) : (row.peer ?? 'unknown');
      if (!nodeStats.has(to))
        nodeStats.set(
          to,
          row.callee === null
            ? { namespace: '', environment: '', calls: 0, errors: 0, p95: null, external: true }
            : {
                namespace: namespaceOf(row.callee),
                environment: environmentOf(row.callee),
                calls: 0,
                errors: 0,
                p95: null,
                external: false,
              },
        );
      const key = `${from}\u0000${to}`;
      const current = edgeStats.get(key);
      edgeStats.set(key, {
        from,
        to,
        calls: (current?.calls ?? 0) + row.calls,
        errors: (current?.errors ?? 0) + row.errors,
        p95: Math.max(current?.p95 ?? 0, row.p95 ?? 0) || null,
      });
    }
    return {
      window: windowView(window),
      nodes: [...nodeStats.entries()].map(([service, stats]) => ({
        service,
        namespace: stats.namespace,
        environment: stats.environment,
        kind: stats.external ? ('external' as const) : ('service' as const),
        requestRate: stats.calls / seconds,
        errorRate: stats.calls > 0 ? stats.errors / stats.calls : 0,
        latencyP95Ms: stats.p95,
      })),
      edges: [...edgeStats.values()].map((edge) => ({
        from: edge.from,
        to: edge.to,
        calls: edge.calls,
        requestRate: edge.calls / seconds,
        errorRate: edge.calls > 0 ? edge.errors / edge.calls : 0,
        latencyP95Ms: edge.p95,
      })),
    };
  }

  /** Average and peak cpu/memory per binding, next to its requests and limits. */
  async resourceUsage(query: ResourceUsageQuery): Promise<ResourceUsage> {
    const window = resolveWindow(query, this.clock.now());
    const allocations = await this.allocations(query);
    const resources = this.resourcesIn(query);
    const rows =
      resources.length === 0
        ? []
        : await this.run<{
            component: string;
            environment: string;
            name: string;
            avg: number | null;
            max: number | null;
            replicas: number;
          }>(
            `WITH res(id, component, environment) AS (VALUES ${resources.map((r) => `(${r.id}, ${literal(r.component)}, ${literal(r.environment)})`).join(', ')}),
       per_replica AS (
         SELECT res.component, res.environment, name, resource_id, avg(value) AS avg, max(value) AS max
         FROM metric_points JOIN res ON metric_points.resource_id = res.id
         WHERE name IN ('${replicaCpuMetric}', '${replicaMemoryMetric}') AND ts >= ${time('from')} AND ts <= ${time('to')}
         GROUP BY 1, 2, 3, 4)
       SELECT component, environment, name, avg(avg) AS avg, max(max) AS max, count(DISTINCT resource_id)::INTEGER AS replicas
       FROM per_replica GROUP BY 1, 2, 3`,
            { from: window.fromUs, to: window.toUs },
          );
    const usage = (component: string, environment: string, metric: string) =>
      rows.find(
        (row) => row.component === component && row.environment === environment && row.name === metric,
      );
    return {
      window: windowView(window),
      bindings: allocations.map((allocation) => {
        const cpu = usage(allocation.component, allocation.environment, replicaCpuMetric);
        const memory = usage(allocation.component, allocation.environment, replicaMemoryMetric);
        return {
          component: allocation.component,
          environment: allocation.environment,
          binding: allocation.binding,
          replicas: Math.max(cpu?.replicas ?? 0, memory?.replicas ?? 0),
          cpu: {
            avgMillicores: round(cpu?.avg),
            maxMillicores: round(cpu?.max),
            requestMillicores: allocation.cpuRequestMillis,
            limitMillicores: allocation.cpuLimitMillis,
            utilizationOfRequest: ratio(cpu?.avg, allocation.cpuRequestMillis),
          },
          memory: {
            avgBytes: round(memory?.avg),
            maxBytes: round(memory?.max),
            requestBytes: allocation.memoryRequestBytes,
            limitBytes: allocation.memoryLimitBytes,
            utilizationOfLimit: ratio(memory?.max, allocation.memoryLimitBytes),
          },
        };
      }),
    };
  }

  /**
   * Good and bad requests of a component for an SLO: server spans in the window; bad means failed
   * (availability) or slower than the threshold (latency). `firstAt` is the oldest request in the window (epoch
   * ms; null without requests): with less data than the window, the time actually observed starts there.
   */
  async sloCounts(
    scope: { namespace: string; component: string; environment: string },
    windowMs: number,
    indicator: { type: 'availability' } | { type: 'latency'; thresholdMs: number },
  ): Promise<{ total: number; bad: number; firstAt: number | null }> {
    const resources = this.resourcesIn(scope);
    if (resources.length === 0) return { total: 0, bad: 0, firstAt: null };
    const toUs = this.clock.now().getTime() * 1000;
    const bad =
      indicator.type === 'latency'
        ? `duration_us > ${indicator.thresholdMs * 1000}`
        : 'status_code = 2 OR http_status >= 500';
    const [row] = await this.run<{ total: number; bad: number; first_us: number | null }>(
      `SELECT count(*)::INTEGER AS total, count(*) FILTER (WHERE ${bad})::INTEGER AS bad,
              epoch_us(min(ts))::DOUBLE AS first_us FROM spans
       WHERE ${inScope(resources)} AND kind IN (2, 5)`,
      { from: toUs - windowMs * 1000, to: toUs },
    );
    if (row === undefined) return { total: 0, bad: 0, firstAt: null };
    return { total: row.total, bad: row.bad, firstAt: row.first_us === null ? null : row.first_us / 1000 };
  }

  /**
   * When a component (or every component of the scope) first reported anything still kept: spans, metric
   * points or log records (epoch ms; null when nothing). Warm-up counts from here.
   */
  async firstSeen(scope: Scope): Promise<number | null> {
    const resources = this.resourcesIn(scope);
    if (resources.length === 0) return null;
    const ids = `resource_id IN (${idList(resources)})`;
    const [row] = await this.run<{ first_us: number | null }>(
      `SELECT epoch_us(min(t))::DOUBLE AS first_us FROM (
         SELECT min(ts) AS t FROM spans WHERE ${ids}
         UNION ALL SELECT min(ts) FROM metric_points WHERE ${ids}
         UNION ALL SELECT min(ts) FROM logs WHERE ${ids})`,
    );
    return row?.first_us == null ? null : row.first_us / 1000;
  }

  /** Environments that reported telemetry in a namespace (for rules that watch every environment). */
  environmentsIn(namespace: string, component?: string): string[] {
    return [
      ...new Set(this.resourcesIn({ namespace, component }).map((resource) => resource.environment)),
    ].sort();
  }

  /** Resources in a scope; component matches the component or the service name. */
  resourcesIn(scope: Scope): StoredResource[] {
    return this.store
      .allResources()
      .filter(
        (resource) =>
          resource.namespace === scope.namespace &&
          (scope.project === undefined || resource.project === scope.project) &&
          (scope.component === undefined ||
            resource.component === scope.component ||
            resource.service === scope.component) &&
          (scope.environment === undefined || resource.environment === scope.environment) &&
          (scope.replica === undefined || resource.instance === scope.replica),
      );
  }

  private logView(row: LogRow): LogEntryView {
    const resource = this.store.resource(row.resource_id);
    return {
      timestamp: iso(row.ts_us),
      severity:
        row.severity_text !== null && row.severity_text !== ''
          ? row.severity_text
          : severityName(row.severity_number),
      severityNumber: row.severity_number,
      body: row.body,
      traceId: row.trace_id,
      spanId: row.span_id,
      service: resource?.service ?? '?',
      component: resource?.component ?? '?',
      environment: resource?.environment ?? '',
      replica: resource?.instance ?? '',
      scope: row.scope,
      eventName: row.event_name,
      attributes: parseObject(row.attributes),
    };
  }

  /** Runs a query; a DuckDB complaint about user input (a bad regex) becomes InvalidError. */
  private async run<T extends Record<string, unknown>>(
    sql: string,
    parameters: SqlParameters = {},
    userField?: string,
  ): Promise<T[]> {
    try {
      return await this.store.query<T>(sql, parameters);
    } catch (error) {
      const message = errorMessage(error);
      if (userField !== undefined && /Invalid Input Error|regex|regular expression/i.test(message)) {
        throw new InvalidError(`invalid ${userField}: ${message.split('\n')[0] ?? message}`, [
          { path: userField, message: 'not accepted by the query engine (RE2 syntax)' },
        ]);
      }
      throw error;
    }
  }
}

interface DerivedDefinition {
  fromSpans: boolean;
  stored?: string;
  unit: string;
  aggregation: Aggregation;
}

function derivedDefinition(metric: string): DerivedDefinition | undefined {
  switch (metric) {
    case 'request_rate':
      return { fromSpans: true, unit: 'req/s', aggregation: 'rate' };
    case 'error_rate':
      return { fromSpans: true, unit: 'ratio', aggregation: 'avg' };
    case 'latency_p50':
      return { fromSpans: true, unit: 'ms', aggregation: 'p50' };
    case 'latency_p95':
      return { fromSpans: true, unit: 'ms', aggregation: 'p95' };
    case 'latency_p99':
      return { fromSpans: true, unit: 'ms', aggregation: 'p99' };
    case 'cpu':
      return { fromSpans: false, stored: replicaCpuMetric, unit: 'millicores', aggregation: 'avg' };
    case 'memory':
      return { fromSpans: false, stored: replicaMemoryMetric, unit: 'bytes', aggregation: 'avg' };
    default:
      return undefined;
  }
}

function derivedMetricNames(): string[] {
  return ['request_rate', 'error_rate', 'latency_p50', 'latency_p95', 'latency_p99', 'cpu', 'memory'];
}

/** Quantile from explicit-bound buckets, interpolating linearly inside the bucket (as PromQL does). */
export function histogramQuantile(
  bounds: readonly number[],
  counts: readonly number[],
  quantile: number,
): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total <= 0) return null;
  const rank = quantile * total;
  let cumulative = 0;
  for (let index = 0; index < counts.length; index += 1) {
    const count = counts[index] ?? 0;
    if (cumulative + count >= rank && count > 0) {
      const lower = index === 0 ? Math.min(0, bounds[0] ?? 0) : (bounds[index - 1] ?? 0);
      const upper = bounds[index] ?? bounds.at(-1) ?? lower; // the overflow bucket has no upper bound: report its lower one
      if (index >= bounds.length) return lower;
      return lower + ((upper - lower) * (rank - cumulative)) / count;
    }
    cumulative += count;
  }
  return bounds.at(-1) ?? null;
}

function labelValues(resources: readonly StoredResource[], groupBy: MetricQuery['groupBy']): string {
  return resources
    .map((resource) => {
      const label =
        groupBy === 'none'
          ? ''
          : groupBy === 'environment'
            ? resource.environment
            : groupBy === 'replica'
              ? `${resource.component}\u0001${resource.instance}`
              : resource.component;
      return `(${resource.id}, ${literal(label)})`;
    })
    .join(', ');
}

function toSeries(
  rows: readonly { label: string; b: number; value: number | null }[],
  window: Window,
  stepUs: number,
  groupBy: MetricQuery['groupBy'],
  missing: number | null,
): MetricResult['series'] {
  const buckets = Math.max(1, Math.ceil((window.toUs - window.fromUs) / stepUs));
  const byLabel = new Map<string, (number | null)[]>();
  const firstBucket = new Map<string, number>();
  for (const row of rows) {
    if (row.b < 0 || row.b >= buckets) continue;
    let values = byLabel.get(row.label);
    if (values === undefined) {
      values = new Array<number | null>(buckets).fill(missing);
      byLabel.set(row.label, values);
    }
    values[row.b] = row.value === null || Number.isNaN(row.value) ? null : row.value;
    firstBucket.set(row.label, Math.min(firstBucket.get(row.label) ?? row.b, row.b));
  }
  // A bucket without data counts as `missing` (no requests: 0) only once the series exists: before its first
  // data the service was not there (not deployed yet, not instrumented yet), which is no data, not zero traffic.
  if (missing !== null) {
    for (const [label, values] of byLabel) values.fill(null, 0, firstBucket.get(label) ?? 0);
  }
  return [...byLabel.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, values]) => ({
      labels: labelsOf(label, groupBy),
      points: values.map((value, index) => ({ time: iso(window.fromUs + index * stepUs), value })),
    }));
}

function labelsOf(label: string, groupBy: MetricQuery['groupBy']): Record<string, string> {
  if (groupBy === 'none') return {};
  if (groupBy === 'replica') {
    const [component = '', replica = ''] = label.split('\u0001');
    return { component, replica };
  }
  return { [groupBy]: label };
}

/** At most 50 series in an answer; says so when it cuts. */
function capSeries(series: MetricResult['series']): { series: MetricResult['series']; truncated: boolean } {
  return series.length > 50 ? { series: series.slice(0, 50), truncated: true } : { series, truncated: false };
}

function idList(resources: readonly StoredResource[]): string {
  return resources.map((resource) => resource.id).join(',');
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function windowView(window: Window): { from: string; to: string } {
  return { from: iso(window.fromUs), to: iso(window.toUs) };
}

function encodeCursor(tsUs: number, rid: number): string {
  return Buffer.from(JSON.stringify([tsUs, rid])).toString('base64url');
}

function decodeCursor(cursor: string): { ts: number; rid: number } {
  try {
    const [ts, rid] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof ts === 'number' && typeof rid === 'number') return { ts, rid };
  } catch {
    // fall through
  }
  throw new InvalidError('invalid cursor', [
    { path: 'cursor', message: 'pass nextCursor from the previous page unchanged' },
  ]);
}

function parseObject(text: string | null): Record<string, unknown> {
  if (text === null || text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function parseNumbers(text: string | null): number[] {
  if (text === null || text === '') return [];
  return JSON.parse(text) as number[];
}

function round(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(value);
}

function ratio(value: number | null | undefined, of: number | null): number | null {
  return value === null || value === undefined || of === null || of === 0
    ? null
    : Math.round((value / of) * 1000) / 1000;
}
