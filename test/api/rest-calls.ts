// REST calls over real HTTP to an in-process server, and the audit records they left, for the tests of what the
// REST edge answers and audits.
import type { AuditRecord } from '../../src/state/ports.js';
import type { InProcessServer } from '../helpers/in-process.js';

export interface Answer {
  readonly status: number;
  readonly type: string;
  /** The JSON body ({} when empty). */
  readonly body: Record<string, unknown>;
}

export interface RestCalls {
  readonly call: (
    method: string,
    path: string,
    options?: { token?: string; body?: unknown },
  ) => Promise<Answer>;
  /** The audit head's seq now (0 when the log is empty). */
  readonly head: () => Promise<number>;
  /** The records committed after `seq`, oldest first. */
  readonly recordsAfter: (seq: number) => Promise<AuditRecord[]>;
}

export function restCalls(server: () => InProcessServer): RestCalls {
  return {
    async call(method, path, options = {}) {
      const response = await fetch(`${server().url}${path}`, {
        method,
        headers: {
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        type: response.headers.get('content-type') ?? '',
        body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      };
    },
    async head() {
      const [latest] = await server().opspilot.governance.audit.list({ limit: 1 });
      return latest?.seq ?? 0;
    },
    async recordsAfter(seq) {
      const records = await server().opspilot.governance.audit.list({ limit: 1000 });
      return records.filter((record) => record.seq > seq).reverse();
    },
  };
}

/** An Environment document (cluster-scoped, starts nothing): the cheapest thing to apply. */
export function environment(name: string, displayName: string): unknown {
  return {
    apiVersion: 'opspilot.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name },
    spec: { displayName },
  };
}
