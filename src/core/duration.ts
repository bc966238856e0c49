// Durations as resources and queries write them: <n><s|m|h|d> (30s, 5m, 1h, 7d). Pure.
import { InvalidError } from './errors.js';

export const durationUnitsMs = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function durationMs(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (match === null)
    throw new InvalidError(`invalid duration '${text}'`, [], { hint: 'Use <n><s|m|h|d>, e.g. 30s, 5m, 1h.' });
  return Number(match[1]) * durationUnitsMs[match[2] as keyof typeof durationUnitsMs];
}

/** The longest window a telemetry query covers, and the most points a series holds (rules are checked against them). */
export const maxQueryWindowDays = 31;
export const maxSeriesPoints = 2000;
