// One root-cause report: ranked causes with confidence, evidence (with the metric around onset, the failing
// trace, the error templates), timeline, excluded causes, recommendations, the remediation, and the chat.
import { useState, type SyntheticEvent } from 'react';
import {
  asError,
  get,
  may,
  postEvents,
  proposeIntent,
  type MetricResult,
  type Proposal,
  type RcaReportView,
} from '../api.js';
import type { ErrorSummary } from '../../../src/telemetry/query/contracts.js';
import { shownConfidence } from '../../../src/rca/confidence.js';
import { cliHint } from '../../../src/rca/hints.js';
import { ago, Badge, Loading, Problem } from '../components/Bits.js';
import { Chart } from '../components/Chart.js';
import { TraceWaterfall } from '../components/TraceWaterfall.js';
import { useLoad, useSession } from '../hooks.js';

type Cause = RcaReportView['rootCauses'][number];
type Evidence = Cause['evidence'][number];

export function Report({ id }: { id: string }) {
  const report = useLoad(() => get<RcaReportView>(`/api/v1/rca/reports/${encodeURIComponent(id)}`), [id]);
  if (report.data === undefined) {
    return report.error === undefined ? <Loading what="the report" /> : <Problem error={report.error} />;
  }
  const data = report.data;
  const top = data.rootCauses[0];
  return (
    <>
      <h1>
        {data.alert.rule} on {data.alert.component ?? data.namespace}
        {data.alert.environment === null ? '' : ` in ${data.alert.environment}`}
      </h1>
      <p>
        <Badge tone={data.status === 'completed' ? 'ok' : data.status === 'failed' ? 'bad' : 'info'}>
          {data.status}
        </Badge>{' '}
        {data.alert.summary} · investigated {data.trigger === 'alert' ? 'on the alert' : 'on demand'} as{' '}
        {data.requestedBy} {ago(data.createdAt)}
        {data.durationMs === null ? '' : ` in ${data.durationMs} ms`}
        {data.llm.used ? ` · narrative by ${data.llm.model ?? 'an LLM'}` : ''}
      </p>
      <Problem error={report.error} />
      {data.error !== null && <div className="problem">{data.error}</div>}
      {data.narrative !== '' && <p className="narrative">{data.narrative}</p>}

      <section aria-labelledby="causes">
        <h2 id="causes">Root causes</h2>
        {data.rootCauses.length === 0 ? (
          <p>No root cause found: {data.noRootCause ?? 'the investigation has not finished'}.</p>
        ) : (
          <ol className="causes">
            {data.rootCauses.slice(0, 5).map((cause, index) => (
              <CauseItem key={cause.service} cause={cause} first={index === 0} report={data} />
            ))}
          </ol>
        )}
      </section>

      {top !== undefined && data.window !== null && <EvidenceCharts report={data} cause={top} />}

      <Remediation report={data} />

      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline</h2>
        {data.timeline.length === 0 ? (
          <p className="muted">Nothing on the timeline.</p>
        ) : (
          <ol className="timeline">
            {data.timeline.map((entry) => (
              <li key={`${entry.at}-${entry.service}-${entry.what}`}>
                <time dateTime={entry.at}>{new Date(entry.at).toLocaleTimeString()}</time>{' '}
                <strong>{entry.service}</strong>: {entry.what}
              </li>
            ))}
          </ol>
        )}
      </section>

      {data.excluded.length > 0 && (
        <section aria-labelledby="excluded">
          <h2 id="excluded">Excluded</h2>
          <ul className="rows">
            {data.excluded.map((item) => (
              <li key={item.service}>
                <strong>{item.service}</strong>: {item.reason}
              </li>
            ))}
          </ul>
        </section>
      )}

      {data.recommendations.length > 0 && (
        <section aria-labelledby="recommendations">
          <h2 id="recommendations">What to do</h2>
          <ul className="rows">
            {data.recommendations.map((item) => (
              <li key={item}>{item}</li>
            ))}
          </ul>
        </section>
      )}

      <ChatPanel key={data.id} report={data} />
    </>
  );
}

function CauseItem({ cause, first, report }: { cause: Cause; first: boolean; report: RcaReportView }) {
  const percent = Math.round(shownConfidence(cause) * 100);
  return (
    <li className={first ? 'cause top' : 'cause'}>
      <div className="cause-head">
        <strong>{cause.service}</strong> <Badge tone={first ? 'bad' : 'muted'}>{cause.kind}</Badge>
        <meter min={0} max={100} value={percent} aria-label={`confidence ${percent}%`} />
        <span>{percent}%</span>
        {cause.agreeing !== undefined && cause.agreeing.length > 0 && (
          <span className="muted"> ({cause.agreeing.join(', ')} agree)</span>
        )}
        {cause.explains.length > 0 && <span className="muted"> explains {cause.explains.join(', ')}</span>}
      </div>
      <ul className="evidence">
        {cause.evidence.map((item, index) => (
          <EvidenceItem
            key={`${item.metric}-${item.summary}`}
            item={item}
            namespace={report.namespace}
            // The top cause's first trace is open: the failure (or the slow part) as it happened.
            open={
              first && index === cause.evidence.findIndex((other) => /trace [0-9a-f]{32}/.test(other.summary))
            }
          />
        ))}
      </ul>
    </li>
  );
}

function EvidenceItem({
  item,
  namespace,
  open: initiallyOpen,
}: {
  item: Evidence;
  namespace: string;
  open: boolean;
}) {
  const traceId = /trace ([0-9a-f]{32})/.exec(item.summary)?.[1];
  const [open, setOpen] = useState(initiallyOpen);
  const hint = cliHint(item);
  return (
    <li>
      <Badge tone="info">{item.source}</Badge> {item.summary}
      <div className="query">
        {hint !== null && (
          <>
            see: <code>{hint}</code>
          </>
        )}
        {traceId !== undefined && (
          <>
            {' '}
            <button
              type="button"
              className="link"
              aria-expanded={open}
              onClick={() => {
                setOpen(!open);
              }}
            >
              {open ? 'hide trace' : 'show trace'}
            </button>
          </>
        )}
      </div>
      {open && traceId !== undefined && <TraceWaterfall traceId={traceId} namespace={namespace} />}
    </li>
  );
}

/** The top cause's measured evidence as charts around onset (the first three metric series). */
function EvidenceCharts({ report, cause }: { report: RcaReportView; cause: Cause }) {
  const window = report.window;
  const metrics = [
    ...new Set(cause.evidence.filter((item) => item.source === 'metric').map((item) => item.metric)),
  ].slice(0, 3);
  const alerted = report.alert.component;
  // Around onset means both sides of it: from a quarter of an hour before until half an hour after (or now).
  const range =
    window === null
      ? null
      : {
          from: new Date(Date.parse(window.onset) - 15 * 60_000).toISOString(),
          to: new Date(
            Math.max(Date.parse(window.end), Math.min(Date.now(), Date.parse(window.onset) + 30 * 60_000)),
          ).toISOString(),
        };
  const charts = useLoad(async () => {
    if (window === null || range === null) return [];
    const query = async (component: string, metric: string) =>
      get<MetricResult>('/api/v1/telemetry/metrics', {
        namespace: report.namespace,
        component,
        environment: report.alert.environment ?? undefined,
        metric,
        from: range.from,
        to: range.to,
        groupBy: 'component',
      }).catch(() => undefined);
    // The cause's measured evidence, or its traffic when its evidence is an event (scaled to zero, a crash).
    const wanted: [string, string][] =
      metrics.length > 0
        ? metrics.map((metric) => [cause.service, metric])
        : [[cause.service, 'request_rate']];
    // The symptom: the alerted component's, or when the alert was on the cause itself (a platform signal), that
    // of the first service it explains.
    const symptom = alerted !== null && alerted !== cause.service ? alerted : cause.explains[0];
    if (symptom !== undefined) wanted.push([symptom, 'error_rate'], [symptom, 'latency_p95']);
    const results = await Promise.all(wanted.map(([component, metric]) => query(component, metric)));
    return results.flatMap((result, index) =>
      result === undefined || result.series.length === 0
        ? []
        : [{ component: wanted[index]?.[0] ?? '', result }],
    );
  }, [report.id]);
  // The error templates the cause's service logged, over the same window: a surge shows as a step at onset.
  const templates = useLoad(async () => {
    if (range === null || !cause.evidence.some((item) => item.source === 'log')) return [];
    const summary = await get<ErrorSummary>('/api/v1/telemetry/errors', {
      namespace: report.namespace,
      component: cause.service,
      environment: report.alert.environment ?? undefined,
      from: range.from,
      to: range.to,
      buckets: '60',
      limit: '3',
    });
    return summary.templates;
  }, [report.id]);
  if (window === null) return null;
  return (
    <section aria-labelledby="charts">
      <h2 id="charts">Around onset</h2>
      <Problem error={charts.error ?? templates.error} />
      <div className="charts">
        {(charts.data ?? []).map(({ component, result }) => (
          <Chart
            key={`${component}-${result.metric}`}
            title={`${component} · ${result.metric}`}
            unit={result.unit}
            markerMs={Date.parse(window.onset)}
            series={result.series.map((series) => ({
              label: series.labels.component ?? component,
              points: series.points
                .filter((point): point is { time: string; value: number } => point.value !== null)
                .map((point) => [Date.parse(point.time), point.value] as const),
            }))}
          />
        ))}
        {(templates.data ?? []).map((template) => (
          <Chart
            key={template.template}
            title={`${cause.service} log · "${template.template}"`}
            unit="lines"
            markerMs={Date.parse(window.onset)}
            series={[
              {
                label: template.template,
                points: template.trend.map((point) => [Date.parse(point.time), point.count] as const),
              },
            ]}
          />
        ))}
      </div>
      {charts.loading && charts.data === undefined && <Loading what="the metrics" />}
      {charts.data?.length === 0 && (templates.data ?? []).length === 0 && (
        <p className="muted">No metrics of {cause.service} in the window.</p>
      )}
    </section>
  );
}

function Remediation({ report }: { report: RcaReportView }) {
  const { who } = useSession();
  const [proposed, setProposed] = useState<Proposal | null>(null);
  const [error, setError] = useState<Error | undefined>();
  const top = report.rootCauses[0];
  const environment = report.alert.environment;
  const existing = report.remediation;
  if (existing !== null) {
    return (
      <section aria-labelledby="remediation">
        <h2 id="remediation">Remediation</h2>
        <ol className="rows">
          {[existing, ...report.alternatives].map((remedy) => (
            <li key={remedy.proposal}>
              {remedy.title} — <a href={`#/approvals/${remedy.proposal}`}>proposal {remedy.proposal}</a>{' '}
              <Badge
                tone={remedy.status === 'expired' ? 'muted' : remedy.status === 'pending' ? 'info' : 'ok'}
              >
                {remedy.status}
              </Badge>
              {remedy.role !== undefined && <span className="muted"> ({remedy.role})</span>}
              {remedy.why !== undefined && <div>{remedy.why}</div>}
              {remedy.expired !== undefined && remedy.expired !== null && (
                <div className="muted">expired: {remedy.expired}</div>
              )}
            </li>
          ))}
        </ol>
      </section>
    );
  }
  if (top === undefined || environment === null) return null;
  const action =
    top.kind === 'scaled-to-zero'
      ? {
          label: `Propose scaling ${top.service} to 2 replicas`,
          path: 'scale' as const,
          body: { environment, replicas: 2 },
          action: 'component.scale',
        }
      : top.kind === 'change'
        ? {
            label: `Propose rolling ${top.service} back`,
            path: 'rollback' as const,
            body: { environment },
            action: 'component.rollback',
          }
        : {
            label: `Propose restarting ${top.service}`,
            path: 'restart' as const,
            body: { environment },
            action: 'component.restart',
          };
  if (!may(who, action.action, report.namespace)) return null;
  const propose = async () => {
    try {
      setProposed(await proposeIntent(report.namespace, top.service, action.path, action.body));
    } catch (failure) {
      setError(asError(failure));
    }
  };
  return (
    <section aria-labelledby="remediation">
      <h2 id="remediation">Remediation</h2>
      {proposed === null ? (
        <button
          type="button"
          onClick={() => {
            void propose();
          }}
        >
          {action.label}
        </button>
      ) : (
        <p>
          <a href={`#/approvals/${proposed.id}`}>Proposal {proposed.id}</a>: {proposed.title} (
          {proposed.status})
        </p>
      )}
      <Problem error={error} />
    </section>
  );
}

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  lookups?: string[];
  source?: string;
}

function ChatPanel({ report }: { report: RcaReportView }) {
  const [turns, setTurns] = useState<Turn[]>([]);
  const [question, setQuestion] = useState('');
  const [busy, setBusy] = useState(false);
  const ask = async (event: SyntheticEvent) => {
    event.preventDefault();
    const message = question.trim();
    if (message === '') return;
    setQuestion('');
    setBusy(true);
    // The conversation so far, without answers that failed, and no longer than the server takes (40 turns).
    const history = turns
      .filter((turn, index) =>
        turn.role === 'user' ? turns[index + 1]?.source !== undefined : turn.source !== undefined,
      )
      .map(({ role, content }) => ({ role, content }))
      .slice(-40);
    const answer: Turn = { role: 'assistant', content: '', lookups: [] };
    setTurns([...turns, { role: 'user', content: message }, answer]);
    const update = (change: Partial<Turn>) => {
      Object.assign(answer, change);
      setTurns((current) => [...current.slice(0, -1), { ...answer }]);
    };
    try {
      for await (const { event, data } of postEvents(`/api/v1/rca/reports/${report.id}/chat`, {
        message,
        history,
      })) {
        const payload = data as { text?: string; name?: string; source?: string; message?: string };
        if (event === 'delta') update({ content: answer.content + (payload.text ?? '') });
        else if (event === 'tool') update({ lookups: [...(answer.lookups ?? []), payload.name ?? '?'] });
        else if (event === 'done') update({ source: payload.source ?? '' });
        else if (event === 'error')
          update({ content: `${answer.content}\n(${payload.message ?? 'stopped'})` });
      }
    } catch (failure) {
      update({
        content: `The answer failed: ${asError(failure).message}`,
      });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="chat" className="chat">
      <h2 id="chat">Ask about this report</h2>
      <div className="turns" aria-live="polite">
        {turns.map((turn, index) => (
          <div key={index} className={`turn ${turn.role}`}>
            {turn.lookups !== undefined && turn.lookups.length > 0 && (
              <p className="muted">looked up: {turn.lookups.join(', ')}</p>
            )}
            <pre>{turn.content}</pre>
            {turn.source === 'report' && <p className="muted">answered from the report</p>}
          </div>
        ))}
      </div>
      <form
        onSubmit={(event) => {
          void ask(event);
        }}
      >
        <label htmlFor="question">Question</label>
        <input
          id="question"
          value={question}
          onChange={(event) => {
            setQuestion(event.target.value);
          }}
          placeholder="What changed? What should I do?"
        />
        <button type="submit" disabled={busy}>
          Ask
        </button>
      </form>
    </section>
  );
}
