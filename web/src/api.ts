// The dashboard's only way to the server: the same REST API the CLI uses, with the signed-in bearer token. The
// server authorizes and audits every call; the dashboard only hides what the signed-in role cannot do.
import type { Proposal, ProposalSummary } from '../../src/governance/proposals/contracts.js';
import type { ComponentStatus, PlatformEvent } from '../../src/platform/contracts.js';
import type { RcaReportView } from '../../src/rca/contracts.js';
import type { AlertView, SloStatusView } from '../../src/telemetry/alerting/contracts.js';
import type { MetricResult } from '../../src/telemetry/query/contracts.js';

export type {
  AlertView,
  ComponentStatus,
  MetricResult,
  PlatformEvent,
  Proposal,
  ProposalSummary,
  RcaReportView,
  SloStatusView,
};

const tokenKey = 'opspilot.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(tokenKey);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(tokenKey);
  else sessionStorage.setItem(tokenKey, token);
}

/** Anything thrown, as an Error to show. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** Proposes an intent on a component (scale, restart, rollback, promote): the server runs it or queues it. */
export async function proposeIntent(
  namespace: string,
  component: string,
  intent: 'scale' | 'restart' | 'rollback' | 'promote',
  body: Record<string, unknown>,
): Promise<Proposal> {
  const answer = await post<{ proposal: Proposal }>(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/components/${encodeURIComponent(component)}/${intent}`,
    body,
  );
  return answer.proposal;
}

/** An answer other than 2xx, with the server's problem+json detail and hint. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint: string | undefined,
  ) {
    super(message);
  }
}

async function failure(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let hint: string | undefined;
  try {
    const problem = (await response.json()) as { detail?: string; title?: string; hint?: string };
    message = problem.detail ?? problem.title ?? message;
    hint = problem.hint;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, hint);
}

/** The bearer token of the signed-in person, with `extra` headers. */
export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = storedToken();
  return { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...extra };
}

export async function get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  const search = new URLSearchParams(
    Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
  ).toString();
  const response = await fetch(`${path}${search === '' ? '' : `?${search}`}`, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** Server-sent events of a POST (fetch, since EventSource cannot send a bearer token). */
export async function* postEvents(
  path: string,
  body: unknown,
  signal?: AbortSignal,
): AsyncGenerator<{ event: string; data: unknown }> {
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json', accept: 'text/event-stream' }),
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
  if (!response.ok || response.body === null) throw await failure(response);
  yield* readEvents(response.body);
}

/** The events of a server-sent event stream, as `{event, data}` with the data parsed from JSON. */
export async function* readEvents(
  body: NonNullable<Response['body']>,
): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) yield { event, data: JSON.parse(data) as unknown };
      end = buffer.indexOf('\n\n');
    }
  }
}

export interface Whoami {
  subject: string;
  kind: string;
  issuer: string;
  grants: { role: string; scope: Record<string, string> }[];
  /** Per action, where the caller may do it. */
  allowed: Record<string, '*' | string[]>;
}

/** Whether the signed-in caller may do `action` in `namespace` (what the dashboard offers). */
export function may(who: Whoami | null, action: string, namespace: string): boolean {
  const where = who?.allowed[action];
  return where === '*' || (where?.includes(namespace) ?? false);
}

export interface Listed<T> {
  items: T[];
}

export interface ComponentResource {
  metadata: { name: string; namespace: string; project?: string };
  spec: { type?: string };
}
