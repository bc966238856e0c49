import { scoreBreakout, defaultBreakoutOptions } from '../../src/analysis/anomaly/breakout.js';
import { loadCorpus, loadProfiles, scoreCorpus } from './nab-scorer.js';
const files = loadCorpus();
const profiles = loadProfiles();
const epochMs = (stamp: string): number => Date.parse(`${stamp.replace(' ', 'T')}Z`);
const stamps = files.map((f) => f.timestamps.map(epochMs));
for (const arg of process.argv.slice(2)) {
  const options = { ...defaultBreakoutOptions, ...JSON.parse(arg) };
  const t0 = performance.now();
  const scores = files.map((f, i) => scoreBreakout(f.values, stamps[i], options));
  const ms = performance.now() - t0;
  const out = Object.entries(profiles).map(([, p]) => {
    const r = scoreCorpus(files, scores, p);
    return `${r.normalized.toFixed(2)}@${r.threshold.toFixed(3)}`;
  });
  console.log(arg, out.join(' '), `${Math.round(ms)}ms`);
}
