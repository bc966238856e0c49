import { describe, expect, it } from 'vitest';
import { compareRuns, type RunForComparison } from './compare-runs.js';

const good: RunForComparison = {
  name: 'web-1',
  inputs: { component: 'web', parameters: { PATH_TO_APP: './app' } },
  steps: [{ name: 'build', phase: 'Succeeded', exitCode: 0 }],
  lines: [
    { step: 'build', stream: 'stdout', sequence: 1, line: 'building ./app at 2026-11-21T10:00:00Z' },
    { step: 'build', stream: 'stdout', sequence: 2, line: 'done in 1234 ms' },
  ],
};

describe('comparing build runs', () => {
  it('names the changed input, the step that now fails and its first differing line, ignoring timestamps', () => {
    const bad: RunForComparison = {
      name: 'web-2',
      inputs: { component: 'web', parameters: { PATH_TO_APP: './ap' } },
      steps: [{ name: 'build', phase: 'Failed', exitCode: 1 }],
      lines: [
        { step: 'build', stream: 'stdout', sequence: 1, line: 'building ./app at 2026-11-21T11:00:00Z' },
        { step: 'build', stream: 'stderr', sequence: 2, line: 'ENOENT: no such file or directory' },
      ],
    };
    expect(compareRuns(bad, good)).toEqual({
      changedInputs: [
        { field: 'parameters', before: { PATH_TO_APP: './app' }, after: { PATH_TO_APP: './ap' } },
      ],
      changedSteps: [{ step: 'build', before: 'Succeeded (exit 0)', after: 'Failed (exit 1)' }],
      firstDifferences: [
        {
          step: 'build',
          sequence: 2,
          failed: 'ENOENT: no such file or directory',
          baseline: 'done in 1234 ms',
        },
      ],
    });
  });

  it('finds nothing between two equal runs', () => {
    expect(compareRuns(good, { ...good, name: 'web-3' })).toEqual({
      changedInputs: [],
      changedSteps: [],
      firstDifferences: [],
    });
  });
});
