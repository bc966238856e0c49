// Warm-up: what part of a rule's window may be judged for a series that has just begun, and an SLO's error
// budget over the time actually observed. Pure; the evaluator and the SLO status feed it the first time a
// component reported.

export interface WarmUpSettings {
  /**
   * A component's first minute of telemetry is never judged. Replicas of a fresh deployment (or a fresh demo)
   * start in any order: until the services they call are up, their calls fail ("fetch failed"), caches are cold
   * and the first requests are slow. That is a start, not a fault.
   */
  readonly startupGraceMs: number;
  /**
   * After the grace, a rule needs this much data before it may fire (three of the 10 s metric exports, a few
   * hundred spans of the demo's traffic): a handful of samples is not a rate.
   */
  readonly minimumObservedMs: number;
  /** An SLO burn rate from fewer requests than this in its short window is noise (one failure of three). */
  readonly minimumSloRequests: number;
}

export const defaultWarmUp: WarmUpSettings = {
  startupGraceMs: 60_000,
  minimumObservedMs: 30_000,
  minimumSloRequests: 10,
};

/** The judged part of a window ending now, or undefined while the series warms up. */
export interface JudgedWindow {
  readonly fromMs: number;
  readonly observedMs: number;
}

/**
 * The part of `windowMs` (ending at `nowMs`) that may be judged: from the end of the series' startup grace
 * (or the window's start, when later). Undefined without data, or while less than `minimumObservedMs` (or the
 * whole window, when shorter) of judged data exists.
 */
export function judgedWindow(
  nowMs: number,
  windowMs: number,
  firstSeenMs: number | null,
  settings: WarmUpSettings = defaultWarmUp,
): JudgedWindow | undefined {
  if (firstSeenMs === null) return undefined;
  const fromMs = Math.max(nowMs - windowMs, firstSeenMs + settings.startupGraceMs);
  const observedMs = nowMs - fromMs;
  if (observedMs < Math.min(windowMs, settings.minimumObservedMs)) return undefined;
  return { fromMs, observedMs };
}

/** Why a series is not judged yet, for the alert summary. */
export function warmingUp(
  nowMs: number,
  firstSeenMs: number | null,
  settings: WarmUpSettings = defaultWarmUp,
): string {
  if (firstSeenMs === null) return 'no data yet';
  const seconds = Math.max(0, Math.round((nowMs - firstSeenMs) / 1000));
  return `warming up: first reported ${seconds} s ago; judged from ${(settings.startupGraceMs + settings.minimumObservedMs) / 1000} s on`;
}

/**
 * Share of the error budget of the whole window left (1 untouched, below 0 overspent). The budget is the
 * objective's share of the requests the window will see; with less observed time than the window, that is the
 * observed traffic extrapolated to the window, so eleven minutes of errors spend eleven minutes' worth of a
 * 30-day budget rather than the whole of it forty times over. Null without requests.
 */
export function errorBudgetRemaining(input: {
  readonly total: number;
  readonly bad: number;
  readonly objective: number;
  readonly windowMs: number;
  readonly observedMs: number;
}): number | null {
  if (input.total === 0) return null;
  const allowed = 1 - input.objective / 100;
  const observedShare = Math.min(1, Math.max(0, input.observedMs) / input.windowMs);
  return 1 - (input.bad / input.total / allowed) * observedShare;
}
