// PetShop root-cause benchmark: every issue of the dataset, converted to OTLP JSON lines (bench/petshop/convert.ts)
// and analysed by the real CLI, `opspilot analyze rca`, with its one default configuration. Scores are top-1 and
// top-3 recall of the root-cause node per traffic scenario × target metric (train and test issues together, as
// the published baseline reports them; per split too). Prints JSON.
// Data: ../shared/data/petshop (CC-BY-4.0). Hardt et al., "The PetShop Dataset — Finding Causes of Performance
// Issues across Microservices", CLeaR 2024.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { machine, median, print, round } from './lib/harness.js';
import {
  graphToOtlp,
  listIssues,
  metricsToOtlp,
  readGraph,
  readMetrics,
  writeLines,
} from './petshop/convert.js';

const run = promisify(execFile);
const root = process.env.PETSHOP_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'petshop');
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const scenarios = ['low_traffic', 'high_traffic'];
/** PETSHOP_SPLIT=train runs the train issues only (for working on the method without looking at test). */
const onlySplit = process.env.PETSHOP_SPLIT;

/** Published anomaly-traversal baseline (top-1 / top-3), from the dataset's repository. */
const published: Record<string, [number, number]> = {
  'low_traffic/latency': [0.571, 0.571],
  'low_traffic/availability': [0.833, 1.0],
  'high_traffic/latency': [0.571, 0.786],
  'high_traffic/availability': [0.667, 1.0],
};

interface Outcome {
  readonly mode: Mode;
  readonly scenario: string;
  readonly split: string;
  readonly issue: string;
  readonly target: string;
  readonly rootCause: string;
  readonly ranked: string[];
  readonly ms: number;
}

/** `alerted-service`: the CLI is told where the alert was seen (--service); `blind`: it is not. */
type Mode = 'alerted-service' | 'blind';
const modes: Mode[] = ['alerted-service', 'blind'];

const work = mkdtempSync(join(tmpdir(), 'opspilot-petshop-'));
const outcomes: Outcome[] = [];
try {
  const jobs: (() => Promise<void>)[] = [];
  for (const scenario of scenarios) {
    const baseline = readMetrics(join(root, scenario, 'noissue', 'metrics.csv'));
    const baselineFile = join(work, `${scenario}-noissue.jsonl`);
    writeLines(baselineFile, metricsToOtlp(baseline));
    const graphFile = join(work, `${scenario}-graph.jsonl`);
    writeLines(graphFile, graphToOtlp(readGraph(join(root, scenario, 'graph.csv')), baseline.times[0] ?? 0));
    const issues = listIssues(root, scenario).filter(
      (candidate) => onlySplit === undefined || candidate.split === onlySplit,
    );
    for (const issue of issues) {
      const table = readMetrics(join(issue.dir, 'metrics.csv'));
      const issueFile = join(work, `${scenario}-${issue.split}-${issue.id}.jsonl`);
      writeLines(issueFile, metricsToOtlp(table));
      const times = [...table.times, ...baseline.times];
      for (const mode of modes) {
        jobs.push(async () => {
          const output = join(work, `${scenario}-${issue.split}-${issue.id}-${mode}.report.json`);
          // Baseline: the normal-operation recording and the issue's own rows before onset (the incident window
          // is never part of it); the incident: onset to the issue's last row.
          const args = [
            cli,
            'analyze',
            'rca',
            '--input',
            baselineFile,
            graphFile,
            issueFile,
            '--onset',
            String(issue.onset),
            '--end',
            String(Math.max(...table.times)),
            '--baseline-start',
            String(Math.min(...times)),
            '--baseline-end',
            String(Math.max(...times)),
            ...(mode === 'alerted-service' ? ['--service', issue.targetNode] : []),
            '--output',
            output,
          ];
          const started = performance.now();
          await run(process.execPath, args);
          const ms = performance.now() - started;
          const report = JSON.parse(readFileSync(output, 'utf8')) as { rootCauses: { service: string }[] };
          outcomes.push({
            mode,
            scenario,
            split: issue.split,
            issue: issue.id,
            target: issue.targetMetric,
            rootCause: issue.rootCause,
            ranked: report.rootCauses.map((cause) => cause.service),
            ms,
          });
        });
      }
    }
  }
  // Two at a time: this machine has two cores.
  const queue = [...jobs];
  await Promise.all(
    [0, 1].map(async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) await job();
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

function score(selected: readonly Outcome[]) {
  const hit = (k: number) =>
    selected.filter((outcome) => outcome.ranked.slice(0, k).includes(outcome.rootCause));
  return {
    issues: selected.length,
    top1: round(hit(1).length / selected.length, 3),
    top3: round(hit(3).length / selected.length, 3),
  };
}

function table(mode: Mode) {
  const results: Record<string, unknown> = {};
  const selected = outcomes.filter((outcome) => outcome.mode === mode);
  for (const scenario of scenarios) {
    for (const target of ['latency', 'availability']) {
      const cell = selected.filter((outcome) => outcome.scenario === scenario && outcome.target === target);
      results[`${scenario}/${target}`] = {
        ...score(cell),
        train: score(cell.filter((outcome) => outcome.split === 'train')),
        test: score(cell.filter((outcome) => outcome.split === 'test')),
      };
    }
  }
  return { ...results, overall: score(selected) };
}

print({
  benchmark: 'PetShop root-cause analysis (top-1 / top-3 recall of the root-cause node)',
  data: 'PetShop dataset, amazon-science/petshop-root-cause-analysis (CC-BY-4.0); Hardt et al., CLeaR 2024',
  method:
    'opspilot analyze rca (src/analysis/rca), default configuration, on OTLP converted by bench/petshop/convert.ts',
  machine: machine(),
  results: {
    'alerted-service': table('alerted-service'),
    blind: table('blind'),
    note: 'alerted-service: --service names the node the alert saw (target.json); blind: no --service',
  },
  publishedTraversal: Object.fromEntries(
    Object.entries(published).map(([key, [top1, top3]]) => [key, { top1, top3 }]),
  ),
  target: { top1: 0.75, note: 'on both latency and availability targets' },
  msPerIssueMedian: Math.round(median(outcomes.map((outcome) => outcome.ms))),
  issues: outcomes
    .filter((outcome) => outcome.mode === 'alerted-service')
    .sort((a, b) =>
      `${a.scenario}/${a.split}/${a.issue}`.localeCompare(`${b.scenario}/${b.split}/${b.issue}`),
    )
    .map((outcome) => ({
      issue: `${outcome.scenario}/${outcome.split}/${outcome.issue}`,
      target: outcome.target,
      rootCause: outcome.rootCause,
      top3: outcome.ranked.slice(0, 3),
    })),
});
