// Critical path and self time of a trace: which spans the end-to-end latency actually waited on. Pure.
//
// From a span, the path continues into the child that finished last; the time before that child started is
// explained by the child that finished last before it, and so on (the walk used by Jaeger and Tempo).

export interface TimedSpan {
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly startUs: number;
  readonly endUs: number;
}

export interface CriticalPathResult {
  /** Span ids on the critical path, root first. */
  readonly path: string[];
  /** Span duration minus the time covered by its children (clipped to the span), in microseconds. */
  readonly selfTimeUs: Map<string, number>;
  /**
   * Of the trace's end-to-end time, the part each span on the critical path accounts for itself (µs): its time
   * on the path not spent in a child on the path. A span that is only partly on the path (a sibling that
   * overlaps the one the path continues into) counts only for that part; the path times sum to the root's
   * duration.
   */
  readonly pathTimeUs: Map<string, number>;
}

export function childrenOf<T extends TimedSpan>(spans: readonly T[]): Map<string, T[]> {
  const children = new Map<string, T[]>();
  const ids = new Set(spans.map((span) => span.spanId));
  for (const span of spans) {
    const parent = ids.has(span.parentSpanId) ? span.parentSpanId : '';
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [span]);
    else list.push(span);
  }
  return children;
}

export function criticalPath(spans: readonly TimedSpan[]): CriticalPathResult {
  const children = childrenOf(spans);
  const selfTimeUs = new Map<string, number>();
  for (const span of spans) selfTimeUs.set(span.spanId, selfTime(span, children.get(span.spanId) ?? []));

  // The root that ends last carries the trace's latency (several roots when parents were not received).
  const roots = [...(children.get('') ?? [])].sort((a, b) => b.endUs - a.endUs);
  const path: string[] = [];
  const pathTimeUs = new Map<string, number>();
  const visit = (span: TimedSpan, limitUs: number): void => {
    path.push(span.spanId);
    let cursor = Math.min(span.endUs, limitUs);
    let own = 0;
    const ordered = [...(children.get(span.spanId) ?? [])].sort((a, b) => b.endUs - a.endUs);
    for (const child of ordered) {
      if (child.startUs >= cursor) continue; // started after the part of the parent still to explain
      if (child.endUs <= span.startUs) continue;
      own += Math.max(0, cursor - Math.min(child.endUs, cursor));
      visit(child, cursor);
      cursor = Math.max(span.startUs, child.startUs);
      if (cursor <= span.startUs) break;
    }
    own += Math.max(0, cursor - span.startUs);
    pathTimeUs.set(span.spanId, (pathTimeUs.get(span.spanId) ?? 0) + own);
  };
  const root = roots[0];
  if (root !== undefined) visit(root, root.endUs);
  return { path, selfTimeUs, pathTimeUs };
}

function selfTime(span: TimedSpan, children: readonly TimedSpan[]): number {
  const intervals = children
    .map((child) => [Math.max(child.startUs, span.startUs), Math.min(child.endUs, span.endUs)] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let currentStart = -Infinity;
  let currentEnd = -Infinity;
  for (const [start, end] of intervals) {
    if (start > currentEnd) {
      if (currentEnd > currentStart) covered += currentEnd - currentStart;
      currentStart = start;
      currentEnd = end;
    } else currentEnd = Math.max(currentEnd, end);
  }
  if (currentEnd > currentStart) covered += currentEnd - currentStart;
  return Math.max(0, span.endUs - span.startUs - covered);
}
