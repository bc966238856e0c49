// A trace as a waterfall: one bar per span, offset and width by time, failing spans and the critical path marked.
import { get } from '../api.js';
import type { SpanNode, TraceView } from '../../../src/telemetry/query/contracts.js';
import { useLoad } from '../hooks.js';
import { Loading, Problem } from './Bits.js';

export function TraceWaterfall({ traceId, namespace }: { traceId: string; namespace: string }) {
  const trace = useLoad(
    () => get<TraceView>(`/api/v1/telemetry/traces/${encodeURIComponent(traceId)}`, { namespace }),
    [traceId, namespace],
  );
  if (trace.data === undefined)
    return trace.error === undefined ? <Loading what="the trace" /> : <Problem error={trace.error} />;
  const rows: { span: SpanNode; depth: number }[] = [];
  const walk = (span: SpanNode, depth: number) => {
    rows.push({ span, depth });
    for (const child of span.children) walk(child, depth + 1);
  };
  for (const root of trace.data.roots) walk(root, 0);
  const total = Math.max(trace.data.durationMs, 0.001);
  return (
    <table className="waterfall" aria-label={`trace ${traceId}`}>
      <caption>
        trace {traceId} · {trace.data.durationMs.toFixed(1)} ms · {trace.data.spanCount} spans
      </caption>
      <tbody>
        {rows.map(({ span, depth }) => (
          <tr key={span.spanId} className={span.status === 'ERROR' ? 'error' : undefined}>
            <th scope="row" style={{ paddingLeft: `${depth * 12}px` }}>
              {span.service} <span className="muted">{span.name}</span>
            </th>
            <td>
              <div
                className={`bar${span.onCriticalPath ? ' critical' : ''}`}
                style={{
                  marginLeft: `${(span.startOffsetMs / total) * 100}%`,
                  width: `${Math.max(0.5, (span.durationMs / total) * 100)}%`,
                }}
                title={`${span.durationMs.toFixed(1)} ms (self ${span.selfTimeMs.toFixed(1)} ms)${span.statusMessage === null ? '' : ` — ${span.statusMessage}`}`}
              />
            </td>
            <td className="num">{span.durationMs.toFixed(1)} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
