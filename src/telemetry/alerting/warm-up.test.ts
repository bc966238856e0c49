import { describe, expect, it } from 'vitest';
import { defaultWarmUp, errorBudgetRemaining, judgedWindow, warmingUp } from './warm-up.js';

const minute = 60_000;
const now = Date.parse('2026-11-21T10:00:00.000Z');

describe('judgedWindow', () => {
  it('judges nothing without data, nor during the startup grace, nor from a handful of samples', () => {
    expect(judgedWindow(now, minute, null)).toBeUndefined();
    expect(judgedWindow(now, minute, now - 40_000)).toBeUndefined(); // inside the first minute
    expect(judgedWindow(now, minute, now - defaultWarmUp.startupGraceMs - 10_000)).toBeUndefined(); // 10 s judged
  });

  it('judges the window from the end of the startup grace, once enough data exists', () => {
    const first = now - defaultWarmUp.startupGraceMs - 45_000;
    expect(judgedWindow(now, 5 * minute, first)).toEqual({ fromMs: now - 45_000, observedMs: 45_000 });
  });

  it('judges the whole window of a series older than window and grace', () => {
    expect(judgedWindow(now, minute, now - 60 * minute)).toEqual({
      fromMs: now - minute,
      observedMs: minute,
    });
  });

  it('says why a series is not judged yet', () => {
    expect(warmingUp(now, now - 20_000)).toBe('warming up: first reported 20 s ago; judged from 90 s on');
  });
});

describe('errorBudgetRemaining', () => {
  it('spends the budget of the time observed, not of the whole window forty times over', () => {
    // 20 % failures for eleven minutes against a 99.5 % objective over 30 days.
    const spent = errorBudgetRemaining({
      total: 2640,
      bad: 528,
      objective: 99.5,
      windowMs: 30 * 24 * 60 * minute,
      observedMs: 11 * minute,
    });
    expect(spent).toBeCloseTo(1 - 40 * (11 / (30 * 24 * 60)), 6);
    expect(spent).toBeGreaterThan(0.98);
  });

  it('equals the plain bad share over the budget once the whole window is observed', () => {
    const remaining = errorBudgetRemaining({
      total: 1000,
      bad: 10,
      objective: 99,
      windowMs: minute,
      observedMs: 2 * minute,
    });
    expect(remaining).toBeCloseTo(0, 9);
    expect(
      errorBudgetRemaining({ total: 0, bad: 0, objective: 99, windowMs: minute, observedMs: minute }),
    ).toBeNull();
  });
});
