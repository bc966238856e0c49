// Prints an error the way a person can act on it, and picks the exit code.
import { isDomainError, type FieldIssue } from '../core/errors.js';
import { ApiError } from './api-client.js';
import { exitCodeForStatus, exitCodes, type ExitCode } from './exit-codes.js';
import { locate, type ManifestDocument } from './manifest-files.js';

export function reportError(
  error: unknown,
  write: (text: string) => void,
  documents?: readonly ManifestDocument[],
): ExitCode {
  let message: string;
  let hint: string | undefined;
  let issues: readonly FieldIssue[] = [];
  let code: ExitCode;
  if (error instanceof ApiError) {
    message = error.message;
    hint = error.problem.hint;
    issues = error.problem.errors ?? [];
    code = exitCodeForStatus(error.status);
  } else if (isDomainError(error)) {
    message = error.message;
    hint = error.hint;
    issues = 'issues' in error ? (error.issues as readonly FieldIssue[]) : [];
    code =
      error.code === 'invalid'
        ? exitCodes.invalid
        : error.code === 'unavailable'
          ? exitCodes.unavailable
          : exitCodes.failure;
  } else {
    message = error instanceof Error ? error.message : String(error);
    code = exitCodes.failure;
  }
  write(`error: ${message}\n`);
  for (const issue of issues) write(`  ${describeIssue(issue, documents)}\n`);
  if (hint !== undefined) write(`hint: ${hint}\n`);
  return code;
}

function describeIssue(issue: FieldIssue, documents?: readonly ManifestDocument[]): string {
  const document = issue.document === undefined ? undefined : documents?.[issue.document];
  if (document === undefined) {
    const where = issue.document === undefined ? '' : `document ${issue.document + 1}: `;
    return `${where}${issue.path}: ${issue.message}`;
  }
  const value = document.value as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const label =
    typeof value?.kind === 'string' && typeof value.metadata?.name === 'string'
      ? ` (${value.kind} ${value.metadata.name})`
      : '';
  return `${locate(document, issue.path)}  document ${document.position}${label}  ${issue.path}: ${issue.message}`;
}
