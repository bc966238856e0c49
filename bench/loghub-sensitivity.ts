// How much the Loghub-2k result depends on the miner's settings: mean grouping accuracy over the 8 systems for
// a grid around the one configuration opspilot ships, and without header formats (every line is the message).
// A flat plateau means the shipped values were not picked to fit this data. Prints JSON.
//
//   node --import tsx bench/loghub-sensitivity.ts
import { defaultGroupingOptions, groupMessages } from '../src/analysis/log-templates/group-messages.js';
import { contentOf, parseLogFormat } from '../src/analysis/log-templates/log-format.js';
import { print, round } from './lib/harness.js';
import { formats, groupingAccuracy, readSystem } from './loghub.js';

const systems = Object.keys(formats).map((system) => {
  const { lines, truth } = readSystem(system);
  const format = parseLogFormat(formats[system] ?? '<Content>');
  return { system, lines, truth, contents: lines.map((line) => contentOf(line, format)) };
});

function meanAccuracy(options: typeof defaultGroupingOptions, withFormat = true): number {
  const accuracies = systems.map(({ truth, contents, lines }) =>
    groupingAccuracy(truth, groupMessages(withFormat ? contents : lines, options).groups),
  );
  return round(accuracies.reduce((sum, value) => sum + value, 0) / accuracies.length, 4);
}

const grid: { similarity: number; depth: number; maxClosedValues: number; meanGA: number }[] = [];
for (const similarity of [0.4, 0.5, 0.6, 0.7])
  for (const depth of [0, 1, 2, 3])
    for (const maxClosedValues of [0, 2, 4, 8]) {
      const options = { ...defaultGroupingOptions, similarity, depth, maxClosedValues };
      grid.push({ similarity, depth, maxClosedValues, meanGA: meanAccuracy(options) });
    }
const values = grid.map((entry) => entry.meanGA);

print({
  benchmark: 'loghub-2k grouping accuracy: sensitivity to the miner settings',
  shipped: {
    similarity: defaultGroupingOptions.similarity,
    depth: defaultGroupingOptions.depth,
    maxClosedValues: defaultGroupingOptions.maxClosedValues,
    meanGA: meanAccuracy(defaultGroupingOptions),
  },
  withoutFormats: meanAccuracy(defaultGroupingOptions, false),
  grid: { min: Math.min(...values), max: Math.max(...values), points: grid },
});
