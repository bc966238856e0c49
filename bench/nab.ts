// NAB score of opspilot's anomaly detector (the code `opspilot analyze anomalies` and live alerting run), on the
// Numenta Anomaly Benchmark (MIT licence, github.com/numenta/NAB; Lavin & Ahmad 2015; read from
// ../shared/data/nab). Prints JSON:
//   • scorerCheck: NAB's windowed-Gaussian baseline, re-implemented, scored with the same code as the detector;
//   • detector: the shipped configuration (one for all 58 series, causal), all three cost profiles, with the
//     best threshold per profile (NAB's rule), and its speed (points/s, median of RUNS ≥ 3 runs);
//   • ablation: what each part of the design gives;
//   • sensitivity: one setting changed at a time, to show the shipped one sits on a plateau;
//   • crossValidated: leave-one-category-out — settings from a small grid AND the threshold chosen on the other
//     six categories, the held-out one scored with them; raw scores summed over the 7 folds, then normalised.
//
//   node --import tsx bench/nab.ts        (RUNS=3: timing runs; scores are deterministic)
import {
  defaultDetectorOptions,
  scoreSeries,
  type DetectorOptions,
} from '../src/analysis/anomaly/detector.js';
import { machine, median, print, round } from './lib/harness.js';
import {
  bestThreshold,
  loadCorpus,
  loadProfiles,
  normalize,
  prepareRows,
  rawAtThreshold,
  type ScoredRows,
} from './nab/nab-scorer.js';
import { windowedGaussian } from './nab/windowed-gaussian.js';

const runs = Math.max(3, Number(process.env.RUNS ?? 3));
const files = loadCorpus();
const profiles = loadProfiles();
const epochMs = (stamp: string): number => Date.parse(`${stamp.replace(' ', 'T')}Z`);
const stamps = files.map((file) => file.timestamps.map(epochMs));
const points = files.reduce((sum, file) => sum + file.values.length, 0);
const windowCount = files.reduce((sum, file) => sum + file.windows.length, 0);

type Scores = Record<string, { score: number; threshold: number }>;

function scoreAll(rows: ScoredRows): Scores {
  return Object.fromEntries(
    Object.entries(profiles).map(([name, profile]) => {
      const result = bestThreshold(rows, profile);
      return [
        name,
        {
          score: round(normalize(result.raw, result.windows, profile), 2),
          threshold: Number(result.threshold.toPrecision(6)),
        },
      ];
    }),
  );
}

function detect(options: DetectorOptions): number[][] {
  return files.map((file, index) => scoreSeries(file.values, stamps[index], options));
}

function evaluate(changes: Partial<DetectorOptions>): Scores {
  return scoreAll(prepareRows(files, detect({ ...defaultDetectorOptions, ...changes })));
}

const compact = (scores: Scores): number[] => Object.values(scores).map((entry) => entry.score);

// The scorer check.
const gaussian = scoreAll(
  prepareRows(
    files,
    files.map((file) => windowedGaussian(file.values)),
  ),
);

// The shipped detector, timed.
const timings: number[] = [];
let detected: number[][] = [];
for (let run = 0; run < runs; run += 1) {
  const started = performance.now();
  const scores = detect(defaultDetectorOptions);
  timings.push(performance.now() - started);
  if (run > 0 && JSON.stringify(scores) !== JSON.stringify(detected))
    throw new Error('the detector is not deterministic');
  detected = scores;
}
const shippedRows = prepareRows(files, detected);
const shipped = scoreAll(shippedRows);

// What each part gives: the shipped detector with one part taken out.
const ablation: Record<string, { changes: Partial<DetectorOptions>; scores: number[] }> = {};
for (const [name, changes] of Object.entries({
  'without the daily model': { seasonal: false },
  'without the all-time range break-out': { rangeMargin: Number.POSITIVE_INFINITY },
  'without episode damping': { restDamping: 1 },
  'damping without the 1.3× margin': { restFactor: 1 },
  'single points only (scale 1)': { scales: [1] },
  'moving means only (scales 4, 16, 64)': { scales: [4, 16, 64] },
} satisfies Record<string, Partial<DetectorOptions>>))
  ablation[name] = { changes, scores: compact(evaluate(changes)) };

// One setting at a time around the shipped configuration.
const sensitivityGrid: Partial<Record<keyof DetectorOptions, readonly unknown[]>> = {
  window: [3000, 4000, 5000, 6000, 8000, 12000],
  margin: [0.05, 0.1, 0.2, 0.3],
  rangeMargin: [0.02, 0.05, 0.1],
  restWindow: [300, 400, 600, 800, 1000],
  restFactor: [1, 1.15, 1.3, 1.5, 2],
  restDamping: [0.1, 0.15, 0.2, 0.25, 0.3],
  seasonalTrust: [0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
  scales: [
    [1, 4, 16],
    [1, 4, 16, 64],
    [1, 4, 16, 64, 256],
    [1, 2, 4, 8, 16, 32, 64],
    [1, 3, 9, 27, 81],
  ],
  warmup: [50, 150, 300],
};
const sensitivity: Record<string, { value: unknown; scores: number[] }[]> = {};
for (const [key, values] of Object.entries(sensitivityGrid))
  sensitivity[key] = values.map((value) => ({
    value,
    scores: compact(evaluate({ [key]: value })),
  }));

// Leave one category out: settings and threshold chosen on the other six.
const cvGrid: Partial<DetectorOptions>[] = [];
for (const window of [4000, 6000, 8000])
  for (const restDamping of [0.1, 0.2, 0.3])
    for (const restFactor of [1, 1.3])
      for (const seasonalTrust of [0.3, 0.5]) cvGrid.push({ window, restDamping, restFactor, seasonalTrust });
const gridRows = cvGrid.map((changes) =>
  prepareRows(files, detect({ ...defaultDetectorOptions, ...changes })),
);
const categories = [...new Set(files.map((file) => file.name.split('/')[0] ?? ''))];
const crossValidated = Object.fromEntries(
  Object.entries(profiles).map(([name, profile]) => {
    let raw = 0;
    const folds = categories.map((category) => {
      const heldOut = files.map((file) => file.name.startsWith(`${category}/`));
      const training = heldOut.map((held) => !held);
      let choice = { grid: 0, threshold: Number.POSITIVE_INFINITY, raw: Number.NEGATIVE_INFINITY };
      gridRows.forEach((rows, grid) => {
        const result = bestThreshold(rows, profile, training);
        if (result.raw > choice.raw) choice = { grid, threshold: result.threshold, raw: result.raw };
      });
      const held = rawAtThreshold(gridRows[choice.grid] as ScoredRows, profile, choice.threshold, heldOut);
      raw += held;
      // For comparison: the same category under the shipped settings and their corpus-wide best threshold.
      const shippedThreshold = bestThreshold(shippedRows, profile).threshold;
      return {
        heldOut: category,
        chosen: cvGrid[choice.grid],
        threshold: Number(choice.threshold.toPrecision(6)),
        heldOutRaw: round(held, 3),
        shippedRaw: round(rawAtThreshold(shippedRows, profile, shippedThreshold, heldOut), 3),
      };
    });
    return [name, { score: round(normalize(raw, windowCount, profile), 2), folds }];
  }),
);

print({
  benchmark: 'NAB (Numenta Anomaly Benchmark) score',
  data: `${files.length} series, ${windowCount} labelled windows, ${points} points (github.com/numenta/NAB, MIT; Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms", 2015)`,
  machine: machine(),
  scorerCheck: {
    detector: 'windowed Gaussian (window 6400, step 100, two-sided tail probability)',
    ours: gaussian,
    published: { standard: 39.6, reward_low_FP_rate: 20.9, reward_low_FN_rate: 47.4 },
    note: "the scorer follows NAB's sweeper (numenta/NAB nab/sweeper.py): same probationary length, window weights, σ = −1 from 3 window widths past a window, exhaustive threshold search (nab/optimizer.py takes the best of all thresholds too), and every window bound matches a row's timestamp. The remaining gap (≈0.5 standard, ≈3 low-FP) is not explained: it is in the baseline's scores or in the scoreboard's NAB version, not found in the scoring rules",
  },
  detector: {
    name: 'opspilot StreamingAnomalyDetector (src/analysis/anomaly/detector.ts), default configuration',
    options: defaultDetectorOptions,
    ...shipped,
    target: { standard: 72, goal: 75, reward_low_FP_rate: 63, reward_low_FN_rate: 75 },
    pointsPerSecondMedian: Math.round(points / (median(timings) / 1000)),
    msPerPointMedian: round(median(timings) / points, 5),
    totalMsMedian: Math.round(median(timings)),
    runs,
  },
  crossValidated: {
    method:
      'leave one NAB category out: detector settings from the grid and the threshold chosen on the other 6 categories, held-out category scored; raw scores summed over the 7 folds and normalised',
    grid: cvGrid,
    ...crossValidated,
  },
  ablation: { profiles: 'standard / low-FP / low-FN', shipped: compact(shipped), ...ablation },
  sensitivity: { profiles: 'standard / low-FP / low-FN', ...sensitivity },
  publishedScoreboard: {
    ARTime: [74.9, 65.1, 80.4],
    'Numenta HTM': [70.1, 63.1, 74.3],
    'CAD OSE': [69.9, 67.0, 73.2],
    'earthgecko Skyline': [58.2, 46.2, 63.9],
    'KNN CAD': [58.0, 43.4, 64.8],
    'Relative Entropy': [54.6, 47.6, 58.8],
    'Random Cut Forest': [51.7, 38.4, 59.7],
    'Twitter ADVec': [47.1, 33.6, 53.5],
    'Windowed Gaussian': [39.6, 20.9, 47.4],
    note: 'standard / low-FP / low-FN, from ../shared/data/README.md',
  },
});
