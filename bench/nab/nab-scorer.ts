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

/**
 * σ(y) = 2 / (1 + e^{5y}) − 1: +1 far before the window end, 0 at it, −1 far after (NAB's sweeper returns
 * exactly −1 from y ≥ 3 on).
 */
export function scaledSigmoid(y: number): number {
  return y >= 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1;
}

/** Every scored row of a corpus with its unit weights, sorted by score (highest first) once. */
export interface ScoredRows {
  readonly fileCount: number;
  /** Windows per file. */
  readonly windows: readonly number[];
  readonly score: Float64Array;
  readonly file: Int32Array;
  /** Corpus-wide window number, or −1 outside windows. */
  readonly window: Int32Array;
  /** Inside a window: σ/σ(−1) (times tpWeight); outside: σ or −1 (times fpWeight). */
  readonly unit: Float64Array;
  readonly order: Uint32Array;
}

export function prepareRows(files: readonly NabFile[], scores: readonly (readonly number[])[]): ScoredRows {
  const count = files.reduce((sum, file) => sum + file.values.length - file.probationary, 0);
  const score = new Float64Array(count);
  const fileOf = new Int32Array(count);
  const windowOf = new Int32Array(count);
  const unit = new Float64Array(count);
  let row = 0;
  let windowBase = 0;
  files.forEach((file, fileIndex) => {
    const fileScores = scores[fileIndex] ?? [];
    for (let index = file.probationary; index < file.values.length; index += 1) {
      const windowIndex = file.windows.findIndex(([left, right]) => index >= left && index <= right);
      if (windowIndex >= 0) {
        const [left, right] = file.windows[windowIndex] ?? [0, 0];
        const width = right - left + 1;
        unit[row] = scaledSigmoid(-(right - index + 1) / width) / scaledSigmoid(-1);
        windowOf[row] = windowBase + windowIndex;
      } else {
        // The last window that ended before this row, if any.
        let previous: [number, number] | undefined;
        for (const window of file.windows) if (window[1] < index) previous = window;
        const width = previous === undefined ? 0 : previous[1] - previous[0] + 1;
        unit[row] = previous === undefined ? -1 : scaledSigmoid(Math.abs(previous[1] - index) / (width - 1));
        windowOf[row] = -1;
      }
      score[row] = fileScores[index] ?? 0;
      fileOf[row] = fileIndex;
      row += 1;
    }
    windowBase += file.windows.length;
  });
  const order = Uint32Array.from({ length: count }, (_, index) => index).sort(
    (a, b) => (score[b] ?? 0) - (score[a] ?? 0),
  );
  return {
    fileCount: files.length,
    windows: files.map((file) => file.windows.length),
    score,
    file: fileOf,
    window: windowOf,
    unit,
    order,
  };
}

/**
 * Best raw score over all thresholds for one profile (NAB's optimiser is exhaustive too), over the files
 * `include` marks (all by default): sweeps thresholds from the highest score down, adding detections in order.
 */
export function bestThreshold(
  rows: ScoredRows,
  profile: Profile,
  include?: readonly boolean[],
): { raw: number; threshold: number; windows: number } {
  const used = (file: number): boolean => include === undefined || include[file] === true;
  const windows = rows.windows.reduce((sum, count, file) => sum + (used(file) ? count : 0), 0);
  const windowBest = new Float64Array(rows.windows.reduce((sum, count) => sum + count, 0)).fill(
    -profile.fnWeight,
  );
  let total = -windows * profile.fnWeight;
  let best = total;
  let threshold = Number.POSITIVE_INFINITY;
  const { order, score, file, window, unit } = rows;
  for (let start = 0; start < order.length;) {
    const level = score[order[start] ?? 0] ?? 0;
    let end = start;
    for (; end < order.length; end += 1) {
      const row = order[end] ?? 0;
      if (score[row] !== level) break;
      if (!used(file[row] ?? 0)) continue;
      const windowIndex = window[row] ?? -1;
      if (windowIndex < 0) total += (unit[row] ?? 0) * profile.fpWeight;
      else {
        const weight = (unit[row] ?? 0) * profile.tpWeight;
        const current = windowBest[windowIndex] ?? 0;
        if (weight > current) {
          total += weight - current;
          windowBest[windowIndex] = weight;
        }
      }
    }
    if (total > best) {
      best = total;
      threshold = level;
    }
    start = end;
  }
  return { raw: best, threshold, windows };
}

/** Raw score of the included files when every row scoring at least `threshold` is a detection. */
export function rawAtThreshold(
  rows: ScoredRows,
  profile: Profile,
  threshold: number,
  include?: readonly boolean[],
): number {
  const used = (file: number): boolean => include === undefined || include[file] === true;
  const windowBest = new Float64Array(rows.windows.reduce((sum, count) => sum + count, 0)).fill(
    -profile.fnWeight,
  );
  let fp = 0;
  for (const row of rows.order) {
    if ((rows.score[row] ?? 0) < threshold) break;
    if (!used(rows.file[row] ?? 0)) continue;
    const windowIndex = rows.window[row] ?? -1;
    if (windowIndex < 0) fp += (rows.unit[row] ?? 0) * profile.fpWeight;
    else
      windowBest[windowIndex] = Math.max(
        windowBest[windowIndex] ?? 0,
        (rows.unit[row] ?? 0) * profile.tpWeight,
      );
  }
  let windowsTotal = 0;
  let base = 0;
  rows.windows.forEach((count, file) => {
    if (used(file)) for (let k = 0; k < count; k += 1) windowsTotal += windowBest[base + k] ?? 0;
    base += count;
  });
  return windowsTotal + fp;
}

/** NAB's normalised score: 100 · (S − S_null) / (S_perfect − S_null) over `windows` windows. */
export function normalize(raw: number, windows: number, profile: Profile): number {
  const perfect = windows * profile.tpWeight;
  const empty = -windows * profile.fnWeight;
  return (100 * (raw - empty)) / (perfect - empty);
}

/** Best corpus score over all thresholds for one profile: raw, normalised and the threshold. */
export function scoreCorpus(
  files: readonly NabFile[],
  scores: readonly (readonly number[])[],
  profile: Profile,
): { raw: number; normalized: number; threshold: number } {
  const result = bestThreshold(prepareRows(files, scores), profile);
  return {
    raw: result.raw,
    normalized: normalize(result.raw, result.windows, profile),
    threshold: result.threshold,
  };
}
