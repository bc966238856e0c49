// Nezha TrainTicket root-cause benchmark: every fault of ../shared/data/nezha-tt-dev (gzipped OTLP JSON lines,
// the `opspilot analyze rca --input` contract) analysed by the real CLI with its one default configuration.
// Score: AS@k, the fraction of faults whose true service is among the first k distinct services of rootCauses,
// overall and per fault type. Prints JSON. NEZHA_DIR points elsewhere (a folder with the same cases.json shape).
// Data: IntelligentDDS/Nezha (MIT). Yu et al., "Nezha: Interpretable Fine-Grained Root Causes Analysis for
// Microservices on Multi-Modal Observability Data", ESEC/FSE 2023.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { machine, median, print, round } from './lib/harness.js';

const run = promisify(execFile);
const root = process.env.NEZHA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'nezha-tt-dev');
const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

interface Case {
  readonly file: string;
  readonly onset: number;
  readonly end: number;
  readonly baselineStart: number;
  readonly baselineEnd: number;
  readonly truth: string;
  readonly type: string;
}

interface Outcome {
  readonly case: Case;
  readonly ranked: string[];
  readonly ms: number;
}

const cases = JSON.parse(readFileSync(join(root, 'cases.json'), 'utf8')) as Case[];
const work = mkdtempSync(join(tmpdir(), 'opspilot-nezha-'));
const outcomes: Outcome[] = [];
try {
  const queue = [...cases];
  // Two at a time: this machine has two cores.
  await Promise.all(
    [0, 1].map(async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        const output = join(work, `${item.file}.report.json`);
        const started = performance.now();
        await run(
          process.execPath,
          [
            cli,
            'analyze',
            'rca',
            '--input',
            join(root, item.file),
            '--onset',
            String(item.onset),
            '--end',
            String(item.end),
            '--baseline-start',
            String(item.baselineStart),
            '--baseline-end',
            String(item.baselineEnd),
            '--output',
            output,
          ],
          { maxBuffer: 64 * 1024 * 1024 },
        );
        const ms = performance.now() - started;
        const report = JSON.parse(readFileSync(output, 'utf8')) as { rootCauses: { service: string }[] };
        outcomes.push({ case: item, ranked: distinct(report.rootCauses.map((cause) => cause.service)), ms });
      }
    }),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

function distinct(services: readonly string[]): string[] {
  return [...new Set(services)];
}

function score(selected: readonly Outcome[]) {
  const at = (k: number) =>
    round(
      selected.filter((outcome) => outcome.ranked.slice(0, k).includes(outcome.case.truth)).length /
        Math.max(1, selected.length),
      3,
    );
  return { faults: selected.length, 'AS@1': at(1), 'AS@3': at(3), 'AS@5': at(5) };
}

const types = [...new Set(cases.map((item) => item.type))].sort();
outcomes.sort((a, b) => a.case.file.localeCompare(b.case.file));
print({
  benchmark: 'Nezha TrainTicket root-cause localisation (AS@k of the true service)',
  data: 'nezha-tt-dev: IntelligentDDS/Nezha (MIT); Yu et al., ESEC/FSE 2023',
  method:
    'opspilot analyze rca (src/analysis/rca), default configuration, on the gzipped OTLP files as given',
  machine: machine(),
  results: {
    overall: score(outcomes),
    ...Object.fromEntries(
      types.map((type) => [type, score(outcomes.filter((outcome) => outcome.case.type === type))]),
    ),
  },
  published: {
    note: 'full TrainTicket set (45 faults, more fault types), from the Nezha paper',
    Nezha: { 'AS@1': 0.867, 'AS@3': 0.978 },
    PDiagnose: { 'AS@1': 0.089 },
  },
  target: { 'AS@1': 0.85, 'AS@3': 0.95 },
  petshop: 'npm run bench:petshop prints the PetShop figures of the same engine',
  msPerFaultMedian: Math.round(median(outcomes.map((outcome) => outcome.ms))),
  faults: outcomes.map((outcome) => ({
    file: outcome.case.file,
    type: outcome.case.type,
    truth: outcome.case.truth,
    rank: outcome.ranked.indexOf(outcome.case.truth) + 1 || null,
    top3: outcome.ranked.slice(0, 3),
  })),
});
