// How much the Loghub-2k result depends on the miner's settings: mean grouping accuracy over the 8 systems for
// every point of the grid the leave-one-system-out check in bench/loghub.ts chooses from, with header formats and
// without them (the header guessed). A flat plateau means the shipped values were not picked to fit this data.
// Data: Loghub (github.com/logpai/loghub). Prints JSON.
//
//   node --import tsx bench/loghub-sensitivity.ts
import { defaultGroupingOptions } from '../src/analysis/log-templates/group-messages.js';
import { print, round } from './lib/harness.js';
import { accuracy, grid, gridAccuracies, loadSystems } from './loghub.js';

const systems = loadSystems();
const table = gridAccuracies(systems);
const mean = (values: readonly number[]): number =>
  values.reduce((sum, value) => sum + value, 0) / values.length;
const points = grid.map((setting, index) => ({
  ...setting,
  meanGA: round(mean(table[index] ?? []), 4),
  meanGAWithoutFormat: round(mean(systems.map((system) => accuracy(system, setting, false))), 4),
}));
const values = points.map((point) => point.meanGA);

print({
  benchmark: 'loghub-2k grouping accuracy: sensitivity to the miner settings',
  data: 'Loghub 2k samples (github.com/logpai/loghub), 8 systems',
  shipped: {
    similarity: defaultGroupingOptions.similarity,
    depth: defaultGroupingOptions.depth,
    maxClosedValues: defaultGroupingOptions.maxClosedValues,
    rareClosedValues: defaultGroupingOptions.rareClosedValues,
  },
  grid: { min: Math.min(...values), max: Math.max(...values), points },
});
