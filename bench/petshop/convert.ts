// Converts the PetShop RCA dataset (Hardt et al., "The PetShop Dataset — Finding Causes of Performance Issues
// across Microservices", CLeaR 2024; CC-BY-4.0; amazon-science/petshop-root-cause-analysis) into the input of
// `opspilot analyze rca`: OTLP JSON lines, as the OpenTelemetry Collector's file exporter writes them.
//
// Every node of the graph is a service (service.name = the node). Per 5-minute row:
// - latency (Average, p50/p90/p95/p99, with requests as the count) → an OTLP Summary `latency` in seconds:
//   count = requests, sum = Average × requests, quantile values p50…p99; start = the row's time − 300 s;
// - availability (Average, %) → a Gauge `availability`.
// The call graph (graph.csv, an adjacency matrix) → one synthetic trace per edge: a span in the caller and a
// child span in the callee, which is how opspilot learns dependencies from any OTLP source.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvLine } from '../../src/core/csv.js';

export interface PetshopIssue {
  readonly scenario: string;
  readonly split: 'train' | 'test';
  readonly id: string;
  readonly dir: string;
  readonly targetMetric: string;
  /** The node the alert saw (target.json's target.node). */
  readonly targetNode: string;
  readonly onset: number;
  readonly rootCause: string;
}

interface Table {
  /** unix seconds per row */
  readonly times: number[];
  /** node → metric → statistic → values per row (undefined when empty) */
  readonly values: Map<string, Map<string, Map<string, (number | undefined)[]>>>;
}

export function readMetrics(file: string): Table {
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  const [nodes, metrics, statistics, , ...rows] = lines.map(parseCsvLine);
  if (nodes === undefined || metrics === undefined || statistics === undefined) {
    throw new Error(`${file}: expected a 3-row header (microservice, metric, statistic)`);
  }
  const values: Table['values'] = new Map();
  const columns = nodes.slice(1).map((node, index) => {
    const metric = metrics[index + 1] ?? '';
    const statistic = statistics[index + 1] ?? '';
    const byMetric = values.get(node) ?? new Map<string, Map<string, (number | undefined)[]>>();
    values.set(node, byMetric);
    const byStatistic = byMetric.get(metric) ?? new Map<string, (number | undefined)[]>();
    byMetric.set(metric, byStatistic);
    const list: (number | undefined)[] = [];
    byStatistic.set(statistic, list);
    return list;
  });
  const times: number[] = [];
  for (const row of rows) {
    times.push(Number(row[0]));
    columns.forEach((list, index) => {
      const text = row[index + 1] ?? '';
      list.push(text === '' ? undefined : Number(text));
    });
  }
  return { times, values };
}

export function readGraph(file: string): [string, string][] {
  const rows = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map(parseCsvLine);
  const header = rows[0]?.slice(1) ?? [];
  const edges: [string, string][] = [];
  for (const row of rows.slice(1)) {
    const caller = row[0] ?? '';
    row.slice(1).forEach((cell, index) => {
      const callee = header[index];
      if (callee !== undefined && Number(cell) !== 0) edges.push([caller, callee]);
    });
  }
  return edges;
}

const nanos = (seconds: number) => `${BigInt(Math.round(seconds * 1000)) * 1_000_000n}`;
const resource = (service: string) => ({
  attributes: [{ key: 'service.name', value: { stringValue: service } }],
});

/** One ExportMetricsServiceRequest line per row. */
export function metricsToOtlp(table: Table): string[] {
  const lines: string[] = [];
  table.times.forEach((time, row) => {
    const resourceMetrics = [];
    for (const [node, byMetric] of table.values) {
      const at = (metric: string, statistic: string) => byMetric.get(metric)?.get(statistic)?.[row];
      const metrics = [];
      const requests = at('requests', 'Sum');
      const average = at('latency', 'Average');
      if (requests !== undefined && requests > 0 && average !== undefined) {
        metrics.push({
          name: 'latency',
          unit: 's',
          summary: {
            dataPoints: [
              {
                startTimeUnixNano: nanos(time - 300),
                timeUnixNano: nanos(time),
                count: String(requests),
                sum: average * requests,
                quantileValues: (
                  [
                    [0.5, 'p50'],
                    [0.9, 'p90'],
                    [0.95, 'p95'],
                    [0.99, 'p99'],
                  ] as const
                )
                  .map(([quantile, statistic]) => ({ quantile, value: at('latency', statistic) }))
                  .filter((entry) => entry.value !== undefined),
              },
            ],
          },
        });
      }
      const availability = at('availability', 'Average');
      if (availability !== undefined) {
        metrics.push({
          name: 'availability',
          unit: '%',
          gauge: { dataPoints: [{ timeUnixNano: nanos(time), asDouble: availability }] },
        });
      }
      if (metrics.length > 0) resourceMetrics.push({ resource: resource(node), scopeMetrics: [{ metrics }] });
    }
    if (resourceMetrics.length > 0) lines.push(JSON.stringify({ resourceMetrics }));
  });
  return lines;
}

/** One trace per edge, at `time`: a span in the caller with a child in the callee. */
export function graphToOtlp(edges: readonly [string, string][], time: number): string[] {
  return edges.map(([caller, callee], index) => {
    const traceId = (index + 1).toString(16).padStart(32, '0');
    const parent = (2 * index + 1).toString(16).padStart(16, '0');
    const child = (2 * index + 2).toString(16).padStart(16, '0');
    const span = (spanId: string, parentSpanId: string, kind: number) => ({
      traceId,
      spanId,
      parentSpanId,
      name: 'call',
      kind,
      startTimeUnixNano: nanos(time),
      endTimeUnixNano: nanos(time + 0.01),
    });
    return JSON.stringify({
      resourceSpans: [
        { resource: resource(caller), scopeSpans: [{ spans: [span(parent, '', 3)] }] },
        { resource: resource(callee), scopeSpans: [{ spans: [span(child, parent, 2)] }] },
      ],
    });
  });
}

export function listIssues(root: string, scenario: string): PetshopIssue[] {
  const issues: PetshopIssue[] = [];
  for (const split of ['train', 'test'] as const) {
    const base = join(root, scenario, split);
    let names: string[];
    try {
      names = readdirSafe(base);
    } catch {
      continue;
    }
    for (const id of names.filter((name) => name.startsWith('issue_'))) {
      const dir = join(base, id);
      const target = JSON.parse(readFileSync(join(dir, 'target.json'), 'utf8')) as {
        target: { node: string; metric: string; timestamp: number };
        root_cause: { node: string };
      };
      issues.push({
        scenario,
        split,
        id,
        dir,
        targetMetric: target.target.metric,
        targetNode: target.target.node,
        onset: target.target.timestamp,
        rootCause: target.root_cause.node,
      });
    }
  }
  return issues;
}

function readdirSafe(path: string): string[] {
  return readdirSync(path).sort();
}

export function writeLines(file: string, lines: readonly string[]): void {
  writeFileSync(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
}
