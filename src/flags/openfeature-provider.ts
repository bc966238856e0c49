// An OpenFeature server provider that evaluates flags through OFREP's bulk endpoint of an opspilot server, for
// the services opspilot runs (the demo shop uses it). Each evaluation context's answer is kept for a short time
// and fetched again after it (If-None-Match, so an unchanged set costs a 304), so that a flag applied with
// `opspilot apply` reaches a running service within `refreshMs` and without a restart. When the server cannot be
// reached the code's default is returned with reason ERROR, as OpenFeature prescribes for a failed resolution.
import {
  ErrorCode,
  StandardResolutionReasons,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';

export interface OfrepProviderOptions {
  /** The opspilot server (OPSPILOT_FLAGS_URL in a replica). */
  readonly baseUrl: string;
  /** The replica's flag credential (OPSPILOT_FLAGS_TOKEN), or any token holding flags.read. */
  readonly token?: string | undefined;
  /** Context sent with every evaluation: namespace, component, environment of the replica. */
  readonly context?: Readonly<Record<string, string>>;
  /** How long an answer is used before it is fetched again (default 5 s). */
  readonly refreshMs?: number;
  /** Limit of one request (default 2 s); past it the evaluation falls back to the code default. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** One flag of a bulk answer, in OFREP's wire form. */
interface WireFlag {
  readonly key: string;
  readonly value?: unknown;
  readonly reason?: string;
  readonly variant?: string;
  readonly metadata?: Record<string, string | number | boolean>;
  readonly errorCode?: string;
  readonly errorDetails?: string;
}

interface Entry {
  readonly flags: ReadonlyMap<string, WireFlag>;
  readonly etag: string | undefined;
  readonly fetchedAt: number;
}

type FlagType = 'boolean' | 'string' | 'number' | 'object';

/** Contexts kept at once; past it the cache starts over (contexts vary by tenant, not by request). */
const maxContexts = 256;

export class OfrepProvider implements Provider {
  readonly metadata = { name: 'opspilot-ofrep' } as const;
  readonly runsOn = 'server';
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: OfrepProviderOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  resolveBooleanEvaluation(key: string, fallback: boolean, context: EvaluationContext) {
    return this.resolve(key, fallback, 'boolean', context);
  }

  resolveStringEvaluation(key: string, fallback: string, context: EvaluationContext) {
    return this.resolve(key, fallback, 'string', context);
  }

  resolveNumberEvaluation(key: string, fallback: number, context: EvaluationContext) {
    return this.resolve(key, fallback, 'number', context);
  }

  resolveObjectEvaluation<T extends JsonValue>(key: string, fallback: T, context: EvaluationContext) {
    return this.resolve(key, fallback, 'object', context);
  }

  onClose(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }

  private async resolve<T>(
    key: string,
    fallback: T,
    type: FlagType,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    const failed = (errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> => ({
      value: fallback,
      reason: StandardResolutionReasons.ERROR,
      errorCode,
      errorMessage,
    });
    let entry: Entry;
    try {
      entry = await this.entryFor(this.wireContext(context));
    } catch (error) {
      return failed(ErrorCode.GENERAL, `flags could not be fetched: ${(error as Error).message}`);
    }
    const flag = entry.flags.get(key);
    if (flag === undefined) return failed(ErrorCode.FLAG_NOT_FOUND, `flag ${key} does not exist`);
    if (flag.errorCode !== undefined) {
      return failed(errorCodeOf(flag.errorCode), flag.errorDetails ?? flag.errorCode);
    }
    if (!matchesType(flag.value, type)) {
      return failed(ErrorCode.TYPE_MISMATCH, `flag ${key} is not a ${type}`);
    }
    return {
      value: flag.value as T,
      ...(flag.variant === undefined ? {} : { variant: flag.variant }),
      ...(flag.reason === undefined ? {} : { reason: flag.reason }),
      ...(flag.metadata === undefined ? {} : { flagMetadata: flag.metadata }),
    };
  }

  /** The replica's own fields, then the call's string attributes (OFREP contexts are JSON; ours are flat). */
  private wireContext(context: EvaluationContext): Record<string, string> {
    const wire: Record<string, string> = { ...this.options.context };
    for (const [name, value] of Object.entries(context)) {
      if (typeof value === 'string' && value !== '') wire[name] = value;
    }
    return wire;
  }

  private async entryFor(context: Record<string, string>): Promise<Entry> {
    const cacheKey = JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b)));
    const cached = this.entries.get(cacheKey);
    if (cached !== undefined && this.now() - cached.fetchedAt < (this.options.refreshMs ?? 5000))
      return cached;
    // Concurrent evaluations of one context share one request.
    let pending = this.inFlight.get(cacheKey);
    if (pending === undefined) {
      pending = this.fetchFlags(context, cached).finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    const entry = await pending;
    if (this.entries.size >= maxContexts && !this.entries.has(cacheKey)) this.entries.clear();
    this.entries.set(cacheKey, entry);
    return entry;
  }

  private async fetchFlags(context: Record<string, string>, previous: Entry | undefined): Promise<Entry> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    if (previous?.etag !== undefined) headers['if-none-match'] = previous.etag;
    const response = await this.fetch(new URL('/ofrep/v1/evaluate/flags', this.options.baseUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify({ context }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
    });
    if (response.status === 304 && previous !== undefined) return { ...previous, fetchedAt: this.now() };
    if (!response.ok) {
      const text = await response.text();
      throw new Error(`HTTP ${response.status} ${text.slice(0, 200)}`);
    }
    const body = (await response.json()) as { flags?: WireFlag[] };
    return {
      flags: new Map((body.flags ?? []).map((flag) => [flag.key, flag])),
      etag: response.headers.get('etag') ?? undefined,
      fetchedAt: this.now(),
    };
  }
}

/**
 * A provider for a replica opspilot runs: the server and credential it injected (OPSPILOT_FLAGS_URL,
 * OPSPILOT_FLAGS_TOKEN) and the replica's identity as context. Undefined outside opspilot (no URL).
 */
export function ofrepProviderForReplica(
  environment: Readonly<Record<string, string | undefined>>,
  options: Pick<OfrepProviderOptions, 'refreshMs' | 'timeoutMs'> = {},
): OfrepProvider | undefined {
  const baseUrl = environment.OPSPILOT_FLAGS_URL;
  if (baseUrl === undefined || baseUrl === '') return undefined;
  const context: Record<string, string> = {};
  for (const [field, variable] of [
    ['namespace', 'OPSPILOT_NAMESPACE'],
    ['component', 'OPSPILOT_COMPONENT'],
    ['environment', 'OPSPILOT_ENVIRONMENT'],
  ] as const) {
    const value = environment[variable];
    if (value !== undefined && value !== '') context[field] = value;
  }
  return new OfrepProvider({ baseUrl, token: environment.OPSPILOT_FLAGS_TOKEN, context, ...options });
}

function matchesType(value: unknown, type: FlagType): boolean {
  if (type === 'object') return typeof value === 'object' && value !== null;
  return typeof value === type;
}

const errorCodes: ReadonlyMap<string, ErrorCode> = new Map(
  Object.values(ErrorCode).map((code) => [code, code]),
);

function errorCodeOf(code: string): ErrorCode {
  return errorCodes.get(code) ?? ErrorCode.GENERAL;
}
