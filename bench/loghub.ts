// Loghub-2k grouping accuracy (GA) of opspilot's log template miner, one configuration for every system.
// Data: ../shared/data/loghub-2k (Loghub, https://github.com/logpai/loghub; free for research use).
// GA: a line is correct iff the set of lines sharing its ground-truth template equals the set of lines sharing its
// predicted group. Prints JSON.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentOf, parseLogFormat } from '../src/analysis/log-templates/log-format.js';
import { groupMessages } from '../src/analysis/log-templates/group-messages.js';
import { parseCsvLine } from '../src/core/csv.js';

const root = process.env.LOGHUB_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'loghub-2k');

/** Header formats used by the published benchmark (from the dataset's documentation). */
export const formats: Record<string, string> = {
  HDFS: '<Date> <Time> <Pid> <Level> <Component>: <Content>',
  Hadoop: '<Date> <Time> <Level> [<Process>] <Component>: <Content>',
  Spark: '<Date> <Time> <Level> <Component>: <Content>',
  BGL: '<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>',
  HPC: '<LogId> <Node> <Component> <State> <Time> <Flag> <Content>',
  Linux: '<Month> <Date> <Time> <Level> <Component>([<PID>])?: <Content>',
  HealthApp: '<Time>|<Component>|<Pid>|<Content>',
  Proxifier: '[<Time>] <Program> - <Content>',
};

/** Published GA of Drain (ICSE'19 benchmark, tuned per dataset), for comparison. */
const drain: Record<string, number> = {
  HDFS: 0.998,
  Hadoop: 0.948,
  Spark: 0.92,
  BGL: 0.963,
  HPC: 0.887,
  Linux: 0.69,
  HealthApp: 0.78,
  Proxifier: 0.527,
};

export function groupingAccuracy(truth: readonly string[], predicted: readonly (string | number)[]): number {
  const predictedGroups = new Map<string | number, number[]>();
  predicted.forEach((group, index) => {
    const list = predictedGroups.get(group);
    if (list === undefined) predictedGroups.set(group, [index]);
    else list.push(index);
  });
  const truthSizes = new Map<string, number>();
  for (const id of truth) truthSizes.set(id, (truthSizes.get(id) ?? 0) + 1);
  let correct = 0;
  for (const members of predictedGroups.values()) {
    const ids = new Set(members.map((index) => truth[index]));
    const [only] = ids;
    if (ids.size === 1 && only !== undefined && truthSizes.get(only) === members.length)
      correct += members.length;
  }
  return correct / truth.length;
}

/** The log lines of a system and, per line, its ground-truth event id and template. */
export function readSystem(system: string): { lines: string[]; truth: string[]; templates: string[] } {
  const lines = readFileSync(join(root, system, `${system}_2k.log`), 'utf8')
    .split(/\r?\n/)
    .filter((line) => line !== '');
  const structured = readFileSync(join(root, system, `${system}_2k.log_structured.csv`), 'utf8')
    .split(/\r?\n/)
    .filter((line) => line !== '');
  const header = parseCsvLine(structured[0] ?? '');
  const eventColumn = header.indexOf('EventId');
  const templateColumn = header.indexOf('EventTemplate');
  const rows = structured.slice(1).map(parseCsvLine);
  return {
    lines,
    truth: rows.map((row) => row[eventColumn] ?? ''),
    templates: rows.map((row) => row[templateColumn] ?? ''),
  };
}

export function evaluate(system: string): { ga: number; templates: number; truthTemplates: number } {
  const { lines, truth } = readSystem(system);
  const format = parseLogFormat(formats[system] ?? '<Content>');
  const { groups: predicted } = groupMessages(lines.map((line) => contentOf(line, format)));
  return {
    ga: groupingAccuracy(truth, predicted),
    templates: new Set(predicted).size,
    truthTemplates: new Set(truth).size,
  };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const results: Record<string, unknown> = {};
  let sum = 0;
  for (const system of Object.keys(formats)) {
    const { ga, templates, truthTemplates } = evaluate(system);
    results[system] = {
      groupingAccuracy: Number(ga.toFixed(4)),
      templates,
      truthTemplates,
      drainPublished: drain[system],
    };
    sum += ga;
  }
  const mean = sum / Object.keys(formats).length;
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'loghub-2k grouping accuracy',
        data: 'Loghub 2k samples (github.com/logpai/loghub), 8 systems',
        configuration: 'one configuration for every system',
        systems: results,
        mean: Number(mean.toFixed(4)),
        drainPublishedMean: 0.839,
      },
      null,
      2,
    )}\n`,
  );
}
