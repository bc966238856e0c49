// The telemetry explorer: log search with context and trace links, error templates, metric charts, trace search
// with a waterfall, and the service map with each service's health.
import { useState, type ReactNode } from 'react';
import { get } from '../api.js';
import type {
  DependencyGraph,
  ErrorSummary,
  LogResult,
  MetricResult,
  TraceSearchResult,
} from '../../../src/telemetry/query/contracts.js';
import { Badge, Loading, Problem } from '../components/Bits.js';
import { Chart, format } from '../components/Chart.js';
import { TraceWaterfall } from '../components/TraceWaterfall.js';
import { useLoad, useSession } from '../hooks.js';

const tabs = [
  { id: 'logs', label: 'Logs' },
  { id: 'errors', label: 'Error templates' },
  { id: 'metrics', label: 'Metrics' },
  { id: 'traces', label: 'Traces' },
  { id: 'map', label: 'Service map' },
] as const;
type Tab = (typeof tabs)[number]['id'];

export function Telemetry({ tab, traceId }: { tab: string | undefined; traceId: string | undefined }) {
  const current: Tab = tabs.some((item) => item.id === tab) ? (tab as Tab) : 'logs';
  const [period, setPeriod] = useState('last_1h');
  return (
    <>
      <h1>Telemetry</h1>
      <nav className="tabs" aria-label="Telemetry views">
        {tabs.map((item) => (
          <a
            key={item.id}
            href={`#/telemetry/${item.id}`}
            aria-current={item.id === current ? 'page' : undefined}
          >
            {item.label}
          </a>
        ))}
        <label className="period">
          Window{' '}
          <select
            value={period}
            onChange={(event) => {
              setPeriod(event.target.value);
            }}
          >
            {['last_15m', 'last_1h', 'last_6h', 'last_24h', 'last_7d'].map((value) => (
              <option key={value} value={value}>
                {value.replace('last_', 'last ')}
              </option>
            ))}
          </select>
        </label>
      </nav>
      {current === 'logs' && <Logs period={period} />}
      {current === 'errors' && <Errors period={period} />}
      {current === 'metrics' && <Metrics period={period} />}
      {current === 'traces' && <Traces period={period} open={traceId} />}
      {current === 'map' && <ServiceMap period={period} />}
    </>
  );
}

/** A search form whose fields apply on submit. */
function SearchForm({ children, onSearch }: { children: ReactNode; onSearch: () => void }) {
  return (
    <form
      className="filters"
      onSubmit={(event) => {
        event.preventDefault();
        onSearch();
      }}
    >
      {children}
      <button type="submit">Search</button>
    </form>
  );
}

function TextField({
  label,
  value,
  onChange,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
}) {
  return (
    <label>
      {label}{' '}
      <input
        value={value}
        placeholder={placeholder}
        onChange={(event) => {
          onChange(event.target.value);
        }}
      />
    </label>
  );
}

/** Form fields edited as a draft and applied together on submit. */
function useDraft<T extends Record<string, string>>(initial: T) {
  const [draft, setDraft] = useState(initial);
  const [applied, setApplied] = useState(initial);
  const text = (key: keyof T & string, label: string, placeholder?: string) => (
    <TextField
      label={label}
      value={draft[key] ?? ''}
      {...(placeholder === undefined ? {} : { placeholder })}
      onChange={(value) => {
        setDraft({ ...draft, [key]: value });
      }}
    />
  );
  const choice = (key: keyof T & string, label: string, options: readonly (readonly [string, string])[]) => (
    <label>
      {label}{' '}
      <select
        value={draft[key] ?? ''}
        onChange={(event) => {
          setDraft({ ...draft, [key]: event.target.value });
        }}
      >
        {options.map(([value, name]) => (
          <option key={value} value={value}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
  return {
    applied,
    text,
    choice,
    apply: () => {
      setApplied(draft);
    },
  };
}

const optional = (value: string) => (value.trim() === '' ? undefined : value.trim());

function Logs({ period }: { period: string }) {
  const { namespace } = useSession();
  const form = useDraft({ component: '', text: '', severity: '' });
  const query = form.applied;
  const result = useLoad(
    () =>
      get<LogResult>('/api/v1/telemetry/logs', {
        namespace,
        period,
        component: optional(query.component),
        text: optional(query.text),
        minSeverity: optional(query.severity),
        context: '2',
        limit: '100',
      }),
    [namespace, period, query],
  );
  return (
    <section aria-label="Log search">
      <SearchForm onSearch={form.apply}>
        {form.text('component', 'Component')}
        {form.text('text', 'Text', 'timeout')}
        {form.choice('severity', 'Severity', [
          ['', 'any'],
          ...['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].map((value) => [value, value] as const),
        ])}
      </SearchForm>
      <Problem error={result.error} />
      {result.data === undefined && result.loading && <Loading what="logs" />}
      <ol className="logs">
        {(result.data?.entries ?? []).map((entry, index) => (
          <li key={`${entry.timestamp}-${index}`}>
            {entry.context?.before.map((line, offset) => (
              <div key={`b${offset}`} className="context">
                {line.timestamp.slice(11, 23)} {line.body}
              </div>
            ))}
            <div>
              <time dateTime={entry.timestamp}>{entry.timestamp.slice(11, 23)}</time>{' '}
              <Badge
                tone={entry.severityNumber >= 17 ? 'bad' : entry.severityNumber >= 13 ? 'warn' : 'muted'}
              >
                {entry.severity}
              </Badge>{' '}
              <strong>{entry.component}</strong> {entry.body}{' '}
              {entry.traceId !== null && <a href={`#/telemetry/traces/${entry.traceId}`}>trace</a>}
            </div>
            {entry.context?.after.map((line, offset) => (
              <div key={`a${offset}`} className="context">
                {line.timestamp.slice(11, 23)} {line.body}
              </div>
            ))}
          </li>
        ))}
      </ol>
      {result.data?.entries.length === 0 && <p className="muted">No log lines match.</p>}
    </section>
  );
}

function Errors({ period }: { period: string }) {
  const { namespace } = useSession();
  const result = useLoad(
    () => get<ErrorSummary>('/api/v1/telemetry/errors', { namespace, period, limit: '20', buckets: '30' }),
    [namespace, period],
  );
  return (
    <section aria-label="Error templates">
      <Problem error={result.error} />
      {result.data !== undefined && (
        <p className="muted">
          {result.data.totalLines} error lines, {result.data.distinctTemplates} templates
        </p>
      )}
      <ol className="templates">
        {(result.data?.templates ?? []).map((template) => (
          <li key={template.template}>
            <div>
              <strong>{template.count}×</strong> <code>{template.template}</code>{' '}
              {template.new && <Badge tone="bad">new</Badge>}{' '}
              <span className="muted">in {template.components.join(', ')}</span>
            </div>
            <Sparkline
              values={template.trend.map((point) => point.count)}
              label={`trend of ${template.template}`}
            />
            {template.samples[0] !== undefined && <div className="muted">e.g. {template.samples[0]}</div>}
            {template.traceIds[0] !== undefined && (
              <a href={`#/telemetry/traces/${template.traceIds[0]}`}>a trace with it</a>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  const max = Math.max(1, ...values);
  const width = 180;
  const step = values.length > 1 ? width / (values.length - 1) : width;
  return (
    <svg className="sparkline" viewBox={`0 0 ${width} 24`} role="img" aria-label={`${label}: peak ${max}`}>
      <polyline
        fill="none"
        strokeWidth="1.5"
        points={values.map((value, index) => `${index * step},${22 - (value / max) * 20}`).join(' ')}
      />
    </svg>
  );
}

function Metrics({ period }: { period: string }) {
  const { namespace } = useSession();
  const names = useLoad(
    () => get<{ derived: string[]; stored: string[] }>('/api/v1/telemetry/metric-names', { namespace }),
    [namespace],
  );
  const [metric, setMetric] = useState('latency_p95');
  const [component, setComponent] = useState('');
  const result = useLoad(
    () =>
      get<MetricResult>('/api/v1/telemetry/metrics', {
        namespace,
        period,
        metric,
        component: optional(component),
        groupBy: 'component',
      }),
    [namespace, period, metric, component],
  );
  return (
    <section aria-label="Metrics">
      <div className="filters">
        <label>
          Metric{' '}
          <select
            value={metric}
            onChange={(event) => {
              setMetric(event.target.value);
            }}
          >
            {[...(names.data?.derived ?? ['latency_p95']), ...(names.data?.stored ?? [])].map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <TextField label="Component" value={component} onChange={setComponent} placeholder="all" />
      </div>
      <Problem error={result.error} />
      {result.data !== undefined && (
        <Chart
          title={result.data.metric}
          unit={result.data.unit}
          height={220}
          series={result.data.series.slice(0, 8).map((series) => ({
            label: series.labels.component ?? Object.values(series.labels).join(' '),
            points: series.points
              .filter((point): point is { time: string; value: number } => point.value !== null)
              .map((point) => [Date.parse(point.time), point.value] as const),
          }))}
        />
      )}
    </section>
  );
}

function Traces({ period, open }: { period: string; open: string | undefined }) {
  const { namespace } = useSession();
  const form = useDraft({ component: '', operation: '', minDurationMs: '', status: '' });
  const query = form.applied;
  const result = useLoad(
    () =>
      get<TraceSearchResult>('/api/v1/telemetry/traces', {
        namespace,
        period,
        component: optional(query.component),
        operation: optional(query.operation),
        minDurationMs: optional(query.minDurationMs),
        status: optional(query.status),
        limit: '30',
      }),
    [namespace, period, query],
  );
  return (
    <section aria-label="Trace search">
      {open !== undefined && <TraceWaterfall traceId={open} namespace={namespace} />}
      <SearchForm onSearch={form.apply}>
        {form.text('component', 'Component')}
        {form.text('operation', 'Operation', 'GET /cart')}
        {form.text('minDurationMs', 'Slower than (ms)')}
        {form.choice('status', 'Status', [
          ['', 'any'],
          ['error', 'error'],
          ['ok', 'ok'],
        ])}
      </SearchForm>
      <Problem error={result.error} />
      <table className="traces">
        <thead>
          <tr>
            <th scope="col">Trace</th>
            <th scope="col">Root</th>
            <th scope="col">Duration</th>
            <th scope="col">Spans</th>
            <th scope="col">Errors</th>
            <th scope="col">Services</th>
          </tr>
        </thead>
        <tbody>
          {(result.data?.traces ?? []).map((trace) => (
            <tr key={trace.traceId}>
              <td>
                <a href={`#/telemetry/traces/${trace.traceId}`}>{trace.traceId.slice(0, 12)}…</a>
              </td>
              <td>
                {trace.rootService} <span className="muted">{trace.rootName}</span>
              </td>
              <td className="num">{format(trace.durationMs)} ms</td>
              <td className="num">{trace.spanCount}</td>
              <td>{trace.errorCount > 0 ? <Badge tone="bad">{trace.errorCount}</Badge> : 0}</td>
              <td>{trace.services.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Services in columns by call depth (callers left of callees), edges as lines, health as color. */
function ServiceMap({ period }: { period: string }) {
  const { namespace } = useSession();
  const graph = useLoad(
    () => get<DependencyGraph>('/api/v1/telemetry/dependencies', { namespace, period }),
    [namespace, period],
  );
  if (graph.data === undefined)
    return graph.error === undefined ? <Loading what="the service map" /> : <Problem error={graph.error} />;
  const { nodes, edges } = graph.data;
  const names = [...new Set(nodes.map((node) => node.service))];
  const depth = new Map<string, number>(names.map((name) => [name, 0]));
  // Longest path from a root, bounded by the number of services (cycles stop there).
  for (let round = 0; round < names.length; round += 1) {
    for (const edge of edges) {
      const next = (depth.get(edge.from) ?? 0) + 1;
      if (next > (depth.get(edge.to) ?? 0) && next < names.length) depth.set(edge.to, next);
    }
  }
  const columns = new Map<number, string[]>();
  for (const name of names)
    columns.set(depth.get(name) ?? 0, [...(columns.get(depth.get(name) ?? 0) ?? []), name]);
  const position = new Map<string, { x: number; y: number }>();
  for (const [column, members] of columns)
    members.sort().forEach((name, row) => position.set(name, { x: 20 + column * 190, y: 20 + row * 56 }));
  const width = 40 + Math.max(0, ...columns.keys()) * 190 + 170;
  const height = 40 + Math.max(1, ...[...columns.values()].map((members) => members.length)) * 56;
  const health = new Map(nodes.map((node) => [node.service, node]));
  return (
    <section aria-label="Service map">
      <svg
        className="map"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${names.length} services, ${edges.length} calls`}
      >
        {edges.map((edge) => {
          const from = position.get(edge.from);
          const to = position.get(edge.to);
          if (from === undefined || to === undefined) return null;
          return (
            <line
              key={`${edge.from}-${edge.to}`}
              x1={from.x + 150}
              y1={from.y + 18}
              x2={to.x}
              y2={to.y + 18}
              className={edge.errorRate > 0.05 ? 'edge bad' : 'edge'}
            >
              <title>
                {edge.from} → {edge.to}: {format(edge.requestRate)} req/s, {format(edge.errorRate * 100)}%
                errors
              </title>
            </line>
          );
        })}
        {names.map((name) => {
          const at = position.get(name) ?? { x: 0, y: 0 };
          const node = health.get(name);
          const tone =
            node === undefined
              ? 'muted'
              : node.errorRate > 0.05
                ? 'bad'
                : node.errorRate > 0.01
                  ? 'warn'
                  : 'ok';
          return (
            <g key={name} transform={`translate(${at.x},${at.y})`} className={`node ${tone}`}>
              <rect width="150" height="36" rx="6" />
              <text x="8" y="15">
                {name}
              </text>
              <text x="8" y="29" className="small">
                {node === undefined
                  ? ''
                  : `${format(node.requestRate)}/s · ${format(node.errorRate * 100)}% err · p95 ${format(node.latencyP95Ms ?? undefined)} ms`}
              </text>
            </g>
          );
        })}
      </svg>
    </section>
  );
}
