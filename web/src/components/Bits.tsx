// Small shared pieces: status badges, relative times, error and loading states.
import type { ReactNode } from 'react';
import { ApiError } from '../api.js';

export function Badge({
  tone,
  children,
}: {
  tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted';
  children: ReactNode;
}) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

/** "5 min ago", or "in 24 h" for a time to come. */
export function ago(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '–';
  const delta = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const seconds = Math.abs(delta);
  const span =
    seconds < 60
      ? `${seconds} s`
      : seconds < 3600
        ? `${Math.round(seconds / 60)} min`
        : seconds < 86_400
          ? `${Math.round(seconds / 3600)} h`
          : null;
  if (span === null) return new Date(iso).toLocaleString();
  return delta >= -1 ? `${span} ago` : `in ${span}`;
}

export function Problem({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  return (
    <div className="problem" role="alert">
      <strong>{error.message}</strong>
      {error instanceof ApiError && error.hint !== undefined && <p>{error.hint}</p>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function severityTone(severity: string): 'bad' | 'warn' | 'info' {
  return severity === 'critical' ? 'bad' : severity === 'warning' ? 'warn' : 'info';
}
