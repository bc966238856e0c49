// Compares a failed build run with a good one: which inputs changed, which steps ended differently, and the
// first output lines that differ in each step (compared after masking numbers, ids and paths, so timestamps
// and durations do not count as differences). Pure.
import { maskVariables } from '../log-templates/mask.js';

export interface RunForComparison {
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly steps: readonly {
    readonly name: string;
    readonly phase: string;
    readonly exitCode: number | null;
  }[];
  readonly lines: readonly {
    readonly step: string;
    readonly stream: string;
    readonly line: string;
    readonly sequence: number;
  }[];
}

export interface RunComparison {
  readonly changedInputs: { field: string; before: unknown; after: unknown }[];
  readonly changedSteps: { step: string; before: string | null; after: string | null }[];
  readonly firstDifferences: {
    step: string;
    sequence: number | null;
    failed: string | null;
    baseline: string | null;
  }[];
}

export function compareRuns(
  failed: RunForComparison,
  baseline: RunForComparison,
  maxDifferences = 5,
): RunComparison {
  const fields = [...new Set([...Object.keys(failed.inputs), ...Object.keys(baseline.inputs)])].sort();
  const changedInputs = fields
    .filter((field) => JSON.stringify(failed.inputs[field]) !== JSON.stringify(baseline.inputs[field]))
    .map((field) => ({ field, before: baseline.inputs[field] ?? null, after: failed.inputs[field] ?? null }));
  const describe = (step: RunForComparison['steps'][number] | undefined): string | null =>
    step === undefined ? null : `${step.phase}${step.exitCode === null ? '' : ` (exit ${step.exitCode})`}`;
  const stepNames = [
    ...new Set([...baseline.steps.map((step) => step.name), ...failed.steps.map((step) => step.name)]),
  ];
  const changedSteps = stepNames
    .map((step) => ({
      step,
      before: describe(baseline.steps.find((item) => item.name === step)),
      after: describe(failed.steps.find((item) => item.name === step)),
    }))
    .filter((item) => item.before !== item.after);
  const firstDifferences: RunComparison['firstDifferences'] = [];
  for (const step of stepNames) {
    if (firstDifferences.length >= maxDifferences) break;
    const ours = failed.lines.filter((line) => line.step === step && line.stream !== 'system');
    const theirs = baseline.lines.filter((line) => line.step === step && line.stream !== 'system');
    const length = Math.max(ours.length, theirs.length);
    for (let index = 0; index < length; index += 1) {
      const a = ours[index];
      const b = theirs[index];
      if (a !== undefined && b !== undefined && maskVariables(a.line) === maskVariables(b.line)) continue;
      firstDifferences.push({
        step,
        sequence: a?.sequence ?? null,
        failed: a?.line ?? null,
        baseline: b?.line ?? null,
      });
      break;
    }
  }
  return { changedInputs, changedSteps, firstDifferences };
}
