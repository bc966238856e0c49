// The CLI's client of the REST API: JSON in and out, problem+json turned into ApiError.
import { UnavailableError, type FieldIssue } from '../core/errors.js';
import { version } from '../server/package-info.js';

export interface ProblemBody {
  readonly title?: string;
  readonly status?: number;
  readonly code?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly errors?: readonly FieldIssue[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

export class ApiClient {
  constructor(
    readonly server: string,
    readonly token?: string,
  ) {}

  get<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    return this.request<T>('GET', path, query);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, {}, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** POSTs and reads the answer as server-sent events, yielding each event with its parsed JSON data. */
  async *events(path: string, body: unknown): AsyncGenerator<{ event: string; data: unknown }> {
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'content-type': 'application/json',
      'user-agent': `opspilot-cli/${version}`,
    };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(new URL(path, `${this.server}/`), {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new UnavailableError(
        `cannot reach the opspilot server at ${this.server} (${(error as Error).message})`,
        {
          hint: 'Start it with `opspilot up`, or point --server / OPSPILOT_SERVER at a running one.',
        },
      );
    }
    if (!response.ok || response.body === null) {
      const text = await response.text();
      const parsed = text === '' ? undefined : safeJson(text);
      throw new ApiError(
        response.status,
        parsed !== undefined && typeof parsed === 'object' && parsed !== null
          ? parsed
          : { detail: text || response.statusText },
      );
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0) yield { event, data: safeJson(data.join('\n')) };
        end = buffer.indexOf('\n\n');
      }
    }
  }

  private async request<T>(
    method: string,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
    body?: unknown,
  ): Promise<T> {
    const url = new URL(path, `${this.server}/`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': `opspilot-cli/${version}`,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })
        .cause;
      const reason = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message;
      throw new UnavailableError(`cannot reach the opspilot server at ${this.server} (${reason})`, {
        hint: 'Start it with `opspilot up`, or point --server / OPSPILOT_SERVER at a running one.',
      });
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : safeJson(text);
    if (!response.ok) {
      let problem =
        parsed !== undefined && typeof parsed === 'object' && parsed !== null
          ? (parsed as ProblemBody)
          : { detail: text || response.statusText };
      if (response.status === 401 && this.token === undefined) {
        problem = {
          ...problem,
          hint: 'Set OPSPILOT_TOKEN (opspilot up prints one; `opspilot token create` makes more), or run the CLI where the server keeps its data dir.',
        };
      }
      throw new ApiError(response.status, problem);
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
