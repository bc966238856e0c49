// Exit codes of the CLI, and the one place that maps errors onto them.

export const exitCodes = {
  ok: 0,
  /** The request was understood but failed (not found, conflict, forbidden, server error). */
  failure: 1,
  /** The input was wrong (usage, validation); fix it and run again. */
  invalid: 2,
  /** The server could not be reached or is unavailable. */
  unavailable: 3,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400 || status === 413 || status === 415 || status === 422) return exitCodes.invalid;
  if (status === 502 || status === 503 || status === 504) return exitCodes.unavailable;
  return exitCodes.failure;
}
