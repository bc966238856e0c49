// The audit log: append-only and hash-chained (each record's hash covers the previous hash and every field).
// Appends are group-committed: records arriving while a commit runs form the next one, so per-call audit
// costs one shared transaction, not one fsync each. A caller is answered only after its record committed;
// if the commit fails, the caller fails (fail closed).
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import type { Clock } from '../../core/clock.js';
import { UnavailableError, errorMessage } from '../../core/errors.js';
import type { IdGenerator } from '../../core/ids.js';
import type { AuditFilter, AuditRecord, StateRepositories, StateStore } from '../../state/ports.js';

export type { AuditRecord } from '../../state/ports.js';

/** `none`: nothing was decided because nothing would change (a no-op write). */
export type AuditDecision = 'allow' | 'deny' | 'needs_approval' | 'approve' | 'reject' | 'system' | 'none';

/**
 * Counts the records written on behalf of one request, so that its edge can tell whether it still owes one
 * (a request refused before any service saw it). It travels on the Caller and is never stored.
 */
export class AuditTrail {
  private written = 0;

  /** Records committed for the request (inside a transaction: written, committing with it). */
  get records(): number {
    return this.written;
  }

  note(count: number): void {
    this.written += count;
  }
}

/** What a caller knows about one request; the log adds seq, id, time and hashes. */
export interface AuditEntry {
  readonly principal: string;
  readonly principalKind: string;
  readonly client: string;
  readonly edge: string;
  readonly action: string;
  readonly namespace: string;
  readonly target: string;
  readonly argsDigest: string;
  readonly decision: AuditDecision;
  readonly reasons: readonly string[];
  /** `ok`, `error:<code>`, `proposal:<id> pending`, … */
  readonly result: string;
  readonly details?: unknown;
  readonly latencyMs: number;
  /** The request it is written for (counted there, not stored). */
  readonly trail?: AuditTrail | undefined;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly checked: number;
  readonly head: { seq: number; hash: string } | null;
  readonly firstBroken: { seq: number; id: string; problem: string } | null;
}

export const genesisHash = '0'.repeat(64);

interface Waiting {
  readonly entry: AuditEntry;
  readonly at: string;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

export class AuditLog {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly watchers = new Set<(record: AuditRecord) => void>();

  constructor(
    private readonly options: {
      readonly store: StateStore;
      readonly clock: Clock;
      readonly ids: IdGenerator;
    },
  ) {}

  /** Calls `watcher` with every record once it is committed (live views); returns the unsubscribe. */
  watch(watcher: (record: AuditRecord) => void): () => void {
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  /** Watchers hear of records after the current work (a watcher that fails cannot fail the write). */
  private announce(records: readonly AuditRecord[]): void {
    if (this.watchers.size === 0) return;
    setImmediate(() => {
      for (const record of records) {
        for (const watcher of this.watchers) {
          try {
            watcher(record);
          } catch {
            // a live view's failure is not the audit log's
          }
        }
      }
    });
  }

  /** Appends one record; resolves once it is committed, rejects (UnavailableError) when it could not be. */
  append(entry: AuditEntry): Promise<AuditRecord> {
    return new Promise<AuditRecord>((resolve, reject) => {
      this.queue.push({ entry, at: this.options.clock.now().toISOString(), resolve, reject });
      this.schedule();
    });
  }

  /**
   * Appends records inside the caller's transaction, so that a state change and its audit record commit
   * together or not at all.
   */
  async appendWithin(tx: StateRepositories, entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    const at = this.options.clock.now().toISOString();
    const records = await this.chain(
      tx,
      entries.map((entry) => ({ entry, at })),
    );
    // The caller's transaction commits after this returns; a watcher may hear of it a moment early.
    for (const entry of entries) entry.trail?.note(1);
    this.announce(records);
    return records;
  }

  list(filter: AuditFilter): Promise<AuditRecord[]> {
    return this.options.store.audit.list(filter);
  }

  /** Walks the chain from the first record; reports the first record whose link or hash does not hold. */
  async verify(): Promise<VerifyResult> {
    let previous = { seq: 0, hash: genesisHash };
    let checked = 0;
    for (;;) {
      const page = await this.options.store.audit.scan(previous.seq, 1000);
      for (const record of page) {
        const problem =
          record.seq !== previous.seq + 1
            ? `expected seq ${previous.seq + 1}, found ${record.seq} (a record is missing)`
            : record.prevHash !== previous.hash
              ? 'prevHash does not match the previous record (a record was removed or reordered)'
              : recordHash(record) !== record.hash
                ? 'hash does not match the record (a field was changed)'
                : undefined;
        if (problem !== undefined) {
          return { ok: false, checked, head: null, firstBroken: { seq: record.seq, id: record.id, problem } };
        }
        previous = { seq: record.seq, hash: record.hash };
        checked += 1;
      }
      if (page.length < 1000) break;
    }
    return { ok: true, checked, head: checked === 0 ? null : previous, firstBroken: null };
  }

  /** Waits for every queued record to be committed (or failed). */
  async flush(): Promise<void> {
    while (this.flushing !== undefined || this.queue.length > 0) {
      if (this.flushing === undefined) this.startFlush();
      await this.flushing;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.flushing === undefined) this.startFlush();
    });
  }

  private startFlush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.flushing = this.commit(batch).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async commit(batch: Waiting[]): Promise<void> {
    try {
      const records = await this.options.store.transaction((tx) => this.chain(tx, batch));
      batch.forEach((waiting, index) => {
        const record = records[index];
        if (record === undefined) return;
        waiting.entry.trail?.note(1);
        waiting.resolve(record);
      });
      this.announce(records);
    } catch (error) {
      const failure = new UnavailableError(`the audit record could not be written: ${errorMessage(error)}`, {
        hint: 'The request was not carried out. Check the state database, then retry.',
        cause: error,
      });
      for (const waiting of batch) waiting.reject(failure);
    }
  }

  private async chain(
    tx: StateRepositories,
    items: readonly { entry: AuditEntry; at: string }[],
  ): Promise<AuditRecord[]> {
    await tx.audit.lockChain();
    const head = await tx.audit.head();
    let seq = head?.seq ?? 0;
    let prevHash = head?.hash ?? genesisHash;
    const records: AuditRecord[] = [];
    for (const { entry, at } of items) {
      seq += 1;
      const unsigned = {
        seq,
        id: this.options.ids.uid(),
        at,
        principal: entry.principal,
        principalKind: entry.principalKind,
        client: entry.client,
        edge: entry.edge,
        action: entry.action,
        namespace: entry.namespace,
        target: entry.target,
        argsDigest: entry.argsDigest,
        decision: entry.decision,
        reasons: [...entry.reasons],
        result: entry.result,
        details: entry.details ?? null,
        latencyMs: Math.round(entry.latencyMs * 1000) / 1000,
        prevHash,
      };
      const record: AuditRecord = { ...unsigned, hash: recordHash(unsigned) };
      records.push(record);
      prevHash = record.hash;
    }
    await tx.audit.append(records);
    return records;
  }
}

/** sha256 over the previous hash and the canonical JSON of every field but `hash`. */
export function recordHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...fields } = record;
  return createHash('sha256').update(record.prevHash).update(canonicalJson(fields)).digest('hex');
}
