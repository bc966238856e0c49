// The closed set of domain errors. Each edge maps them to its own wire form in exactly one place
// (HTTP status + problem+json in api/problem.ts, exit codes in cli/exit-codes.ts).

/** One problem with one field of one input document. `path` uses dots and [index], e.g. `spec.run.args[0]`. */
export interface FieldIssue {
  /** Index of the document in a multi-document input, when there is more than one. */
  readonly document?: number;
  readonly path: string;
  readonly message: string;
}

export type DomainErrorCode =
  | 'invalid'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthenticated'
  | 'needs_approval'
  | 'unavailable'
  | 'internal';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  /** What the caller can do about it; shown after the message. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** The input is malformed or breaks a rule; the caller must change it. */
export class InvalidError extends DomainError {
  readonly code = 'invalid' as const;
  readonly issues: readonly FieldIssue[];

  constructor(message: string, issues: readonly FieldIssue[] = [], options?: { hint?: string }) {
    super(message, options);
    this.issues = issues;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found' as const;
}

/** The request is valid but clashes with the current state (exists, still referenced, changed meanwhile). */
export class ConflictError extends DomainError {
  readonly code = 'conflict' as const;
}

export class ForbiddenError extends DomainError {
  readonly code = 'forbidden' as const;
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'unauthenticated' as const;
}

/** A dependency (database, runtime, upstream) cannot serve now; retrying later may work. */
export class UnavailableError extends DomainError {
  readonly code = 'unavailable' as const;
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** Renders a zod-style path (`['spec', 'run', 'args', 0]`) as `spec.run.args[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
