import { erfc } from '../../src/analysis/anomaly/normal.js';

// NAB's "windowed Gaussian" baseline, re-implemented to check the scorer against its published 39.65: a window
// of the last 6400 values, re-estimated every 100 values; the score grows with the tail probability of |z|.
export function windowedGaussian(values: readonly number[]): number[] {
  const windowSize = 6400;
  const stepSize = 100;
  let window: number[] = [];
  let step: number[] = [];
  let mean = 0;
  let std = 1;
  const update = (): void => {
    mean = window.reduce((sum, value) => sum + value, 0) / window.length;
    std = Math.sqrt(window.reduce((sum, value) => sum + (value - mean) ** 2, 0) / window.length);
    if (std === 0) std = 0.000001;
  };
  return values.map((value) => {
    let score = 0;
    if (window.length > 0) score = 1 - tail(Math.abs(value - mean) / std);
    if (window.length < windowSize) {
      window.push(value);
      update();
    } else {
      step.push(value);
      if (step.length === stepSize) {
        window = [...window.slice(stepSize), ...step];
        step = [];
        update();
      }
    }
    return score;
  });
}

/** Q(z): the upper tail probability of the standard normal distribution. */
function tail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}
