// The standard normal tail, to double precision, for turning z-scores into probabilities. Pure.

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

/** −log10 of the upper tail probability of the standard normal at z (0 for z ≤ 0), accurate far out. */
export function normalTailLog10(z: number): number {
  if (z <= 0) return 0;
  if (z < 30) return -Math.log10(0.5 * erfc(z / Math.SQRT2));
  // Q(z) ≈ φ(z)/z · (1 − 1/z²): erfc underflows long before the scores stop mattering.
  const log = -(z * z) / 2 - Math.log(z * Math.sqrt(2 * Math.PI)) + Math.log(1 - 1 / (z * z));
  return -log / Math.LN10;
}
