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

/**
 * Complementary error function to double precision: a Taylor series for erf below 2, Lentz's continued fraction
 * above (precision matters: NAB's scores sit a hair below 1 and their order sets the threshold).
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n += 1) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n += 1) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
