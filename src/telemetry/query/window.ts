// Time windows and steps for queries: `last_1h`, absolute ranges, and step sizes that keep series readable.
import {
  durationMs,
  durationUnitsMs as unitMs,
  maxQueryWindowDays,
  maxSeriesPoints,
} from '../../core/duration.js';
import { InvalidError } from '../../core/errors.js';

export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

export function resolveWindow(
  input: { period?: string | undefined; from?: string | undefined; to?: string | undefined },
  now: Date,
  defaultPeriod = 'last_1h',
): Window {
  if (input.period !== undefined && (input.from !== undefined || input.to !== undefined)) {
    throw new InvalidError('give either period or from/to, not both', [
      { path: 'period', message: 'conflicts with from/to' },
    ]);
  }
  const toMs = input.to === undefined ? now.getTime() : Date.parse(input.to);
  let fromMs: number;
  if (input.from !== undefined) fromMs = Date.parse(input.from);
  else fromMs = toMs - durationMs((input.period ?? defaultPeriod).slice('last_'.length));
  if (!(fromMs < toMs)) {
    throw new InvalidError('the window is empty: from must be before to', [
      { path: 'from', message: 'must be before to' },
    ]);
  }
  if (toMs - fromMs > maxQueryWindowDays * unitMs.d) {
    throw new InvalidError(
      `the window is longer than ${maxQueryWindowDays} days`,
      [{ path: 'period', message: 'too long' }],
      {
        hint: 'Query a shorter window; telemetry is kept for the retention period only anyway.',
      },
    );
  }
  return { fromUs: fromMs * 1000, toUs: toMs * 1000 };
}

/** The step: as asked, or the smallest "nice" step giving at most ~60 points. Never more than 2000 points. */
export function resolveStep(window: Window, step: string | undefined): { stepUs: number; text: string } {
  const spanMs = (window.toUs - window.fromUs) / 1000;
  if (step !== undefined) {
    const ms = durationMs(step);
    if (ms <= 0)
      throw new InvalidError('step must be positive', [{ path: 'step', message: 'must be positive' }]);
    if (spanMs / ms > maxSeriesPoints) {
      throw new InvalidError(`step ${step} gives more than ${maxSeriesPoints} points for this window`, [
        { path: 'step', message: 'too small for the window' },
      ]);
    }
    return { stepUs: ms * 1000, text: step };
  }
  const nice = [
    '10s',
    '15s',
    '30s',
    '1m',
    '2m',
    '5m',
    '10m',
    '15m',
    '30m',
    '1h',
    '2h',
    '3h',
    '6h',
    '12h',
    '1d',
  ];
  const chosen = nice.find((candidate) => spanMs / durationMs(candidate) <= 60) ?? '1d';
  return { stepUs: durationMs(chosen) * 1000, text: chosen };
}

export function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
