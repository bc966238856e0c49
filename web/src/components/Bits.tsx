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

export function ago(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '–';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.max(0, seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString();
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
