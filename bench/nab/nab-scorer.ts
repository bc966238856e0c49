// The Numenta Anomaly Benchmark scoring algorithm, written from its published description (see
// ../shared/data/README.md and Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms — the Numenta
// Anomaly Benchmark", 2015). Data: NAB (MIT licence, github.com/numenta/NAB).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Profile {
  readonly tpWeight: number;
  readonly fnWeight: number;
  readonly fpWeight: number;
}

export interface NabFile {
  readonly name: string;
  readonly timestamps: string[];
  readonly values: number[];
  /** Anomaly windows as [first, last] row indices. */
  readonly windows: [number, number][];
  readonly probationary: number;
}

export const nabRoot =
  process.env.NAB_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'nab');

export function loadProfiles(root = nabRoot): Record<string, Profile> {
  const raw = JSON.parse(readFileSync(join(root, 'config', 'profiles.json'), 'utf8')) as Record<
    string,
    { CostMatrix: Profile }
  >;
  return Object.fromEntries(Object.entries(raw).map(([name, { CostMatrix }]) => [name, CostMatrix]));
}

export function loadCorpus(root = nabRoot): NabFile[] {
  const windows = JSON.parse(readFileSync(join(root, 'labels', 'combined_windows.json'), 'utf8')) as Record<
    string,
    [string, string][]
  >;
  const files: NabFile[] = [];
  for (const category of readdirSync(join(root, 'data')).sort()) {
    for (const file of readdirSync(join(root, 'data', category)).sort()) {
      if (!file.endsWith('.csv')) continue;
      const name = `${category}/${file}`;
      const rows = readFileSync(join(root, 'data', category, file), 'utf8')
        .split(/\r?\n/)
        .slice(1)
        .filter((line) => line !== '');
      const timestamps = rows.map((row) => row.slice(0, row.indexOf(',')));
      const values = rows.map((row) => Number(row.slice(row.indexOf(',') + 1)));
      const toIndex = ([start, end]: [string, string]): [number, number] => {
        const from = Date.parse(`${start.replace(' ', 'T')}Z`);
        const to = Date.parse(`${end.replace(' ', 'T')}Z`);
        const times = timestamps.map((stamp) => Date.parse(`${stamp.replace(' ', 'T')}Z`));
        const first = times.findIndex((time) => time >= from);
        let last = -1;
        times.forEach((time, index) => {
          if (time <= to) last = index;
        });
        return [first, last];
      };
      files.push({
        name,
        timestamps,
        values,
        windows: (windows[name] ?? []).map(toIndex),
        probationary: Math.min(Math.floor(0.15 * values.length), 750),
      });
    }
  }
  return files;
}

/** σ(y) = 2 / (1 + e^{5y}) − 1: +1 far before the window end, 0 at it, −1 far after. */
export function scaledSigmoid(y: number): number {
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

interface Row {
  score: number;
  file: number;
  /** Window index within the file, or -1. */
  window: number;
  weight: number;
}

/**
 * Best corpus score over all thresholds for one profile: sweeps thresholds from the highest score down, adding
 * detections in order. Returns the raw score, the normalised score and the threshold.
 */
export function scoreCorpus(
  files: readonly NabFile[],
  scores: readonly (readonly number[])[],
  profile: Profile,
): { raw: number; normalized: number; threshold: number } {
  const rows: Row[] = [];
  let windowCount = 0;
  files.forEach((file, fileIndex) => {
    const fileScores = scores[fileIndex] ?? [];
    windowCount += file.windows.length;
    for (let index = file.probationary; index < file.values.length; index += 1) {
      const windowIndex = file.windows.findIndex(([left, right]) => index >= left && index <= right);
      let weight: number;
      if (windowIndex >= 0) {
        const [left, right] = file.windows[windowIndex] ?? [0, 0];
        const width = right - left + 1;
        weight = (scaledSigmoid(-(right - index + 1) / width) * profile.tpWeight) / scaledSigmoid(-1);
      } else {
        // The last window that ended before this row, if any.
        let previous: [number, number] | undefined;
        for (const window of file.windows) if (window[1] < index) previous = window;
        if (previous === undefined) weight = -profile.fpWeight;
        else {
          const width = previous[1] - previous[0] + 1;
          weight = scaledSigmoid(Math.abs(previous[1] - index) / (width - 1)) * profile.fpWeight;
        }
      }
      rows.push({ score: fileScores[index] ?? 0, file: fileIndex, window: windowIndex, weight });
    }
  });
  rows.sort((a, b) => b.score - a.score);

  // Window contributions start as missed (−fnWeight) and become the best detection weight seen so far.
  const windowBest = files.map((file) => file.windows.map(() => Number.NEGATIVE_INFINITY));
  let total = -windowCount * profile.fnWeight;
  let best = total;
  let bestThreshold = Number.POSITIVE_INFINITY;
  for (let start = 0; start < rows.length;) {
    const score = rows[start]?.score ?? 0;
    let end = start;
    while (end < rows.length && rows[end]?.score === score) {
      const row = rows[end];
      end += 1;
      if (row === undefined) continue;
      if (row.window < 0) {
        total += row.weight;
        continue;
      }
      const bests = windowBest[row.file] ?? [];
      const current = bests[row.window] ?? Number.NEGATIVE_INFINITY;
      if (row.weight > current) {
        total += row.weight - (current === Number.NEGATIVE_INFINITY ? -profile.fnWeight : current);
        bests[row.window] = row.weight;
      }
    }
    if (total > best) {
      best = total;
      bestThreshold = score;
    }
    start = end;
  }
  const perfect = windowCount * profile.tpWeight;
  const empty = -windowCount * profile.fnWeight;
  return { raw: best, normalized: (100 * (best - empty)) / (perfect - empty), threshold: bestThreshold };
}
