import { describe, expect, it } from 'vitest';
import { MeanBreakout } from './breakout.js';
import { Ring, SlidingMax, quantile } from './rolling.js';

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('rolling state', () => {
  it('SlidingMax agrees with the maximum of the last values, through growth and expiry', () => {
    const random = lcg(1);
    const size = 37;
    const max = new SlidingMax(size);
    const seen: number[] = [];
    for (let index = 0; index < 3000; index += 1) {
      // A falling stretch makes the deque hold many values, so it has to grow.
      const value = index % 500 < 100 ? 1000 - index : Math.floor(random() * 100);
      max.push(value);
      seen.push(value);
      expect(max.peek()).toBe(Math.max(...seen.slice(-size)));
    }
  });

  it('Ring keeps the last values in order', () => {
    const ring = new Ring(3);
    expect(ring.push(1)).toBeUndefined();
    ring.push(2);
    ring.push(3);
    expect(ring.push(4)).toBe(1);
    expect([ring.ago(1), ring.ago(2), ring.ago(3), ring.ago(4)]).toEqual([4, 3, 2, undefined]);
  });

  it('quantile interpolates between sorted values', () => {
    expect(quantile([3, 1, 2, 4, 5], 0.5)).toBe(3);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([], 0.5)).toBeUndefined();
  });

  it('MeanBreakout measures how far a moving mean leaves its recent range, over that range', () => {
    const breakout = new MeanBreakout(2, 100);
    const excesses = [0, 10, 0, 10, 0, 10, 25].map((value) => breakout.push(value));
    // Means of two: 5 each time; the last, (10 + 25) / 2 = 17.5, is beyond a range of width 0.
    expect(excesses.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(excesses[6]).toBe(1e6);
    const wide = new MeanBreakout(1, 100);
    [0, 10].forEach((value) => wide.push(value));
    expect(wide.push(15)).toBe(0.5); // 5 beyond a range of 10
    expect(wide.push(12)).toBe(0); // inside 0–15
  });
});
