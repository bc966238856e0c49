// The audit log: append-only and chained with a secret (each record's HMAC covers the previous one and every
// field), its head signed into a checkpoints file apart from the database now and then, every N records and
// at shutdown. Appends are group-committed: records arriving while a commit runs form the next one, so
// per-call audit costs one shared transaction, not one fsync each. A caller is answered only after its record
// committed; if the commit fails, the caller fails (fail closed).
import type { Config } from '../../config/config-schema.js';
import type { Clock } from '../../core/clock.js';
import { InvalidError, UnavailableError, errorMessage } from '../../core/errors.js';
import type { IdGenerator } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import { PeriodicTask } from '../../core/periodic-task.js';
import type { AuditFilter, AuditRecord, StateRepositories, StateStore } from '../../state/ports.js';
import { AuditCheckpoints, type Checkpoint, type CheckpointReason } from './audit-checkpoints.js';
import { auditPaths, createAuditKeys, readAuditKeys, type AuditKeys } from './audit-keys.js';
import {
  genesisHash,
  holds,
  legacyRecordHash,
  recordMac,
  verifyAuditChain,
  type VerifyResult,
} from './audit-verification.js';

export type { AuditRecord } from '../../state/ports.js';
export type { VerifyResult } from './audit-verification.js';
export { genesisHash } from './audit-verification.js';

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

export interface AuditLogOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  readonly config: Pick<Config, 'dataDir' | 'audit'>;
}

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
  /** The head the newest checkpoint holds, and records appended since it. */
  private checkpointed: { seq: number; hash: string } | undefined;
  private sinceCheckpoint = 0;
  /** Checkpoint writes, one after another. */
  private checkpointing: Promise<unknown> = Promise.resolve();
  private readonly ticker: PeriodicTask;

  private constructor(
    private readonly options: AuditLogOptions,
    private readonly keys: AuditKeys,
    private readonly checkpoints: AuditCheckpoints,
  ) {
    this.ticker = new PeriodicTask(() => this.checkpoint('interval').then(() => undefined), {
      intervalMs: options.config.audit.checkpointIntervalMs,
      onError: (error) => {
        options.logger.error({ err: error }, 'the audit checkpoint could not be written; retrying');
      },
    });
  }

  /**
   * Loads the audit key (creating it over an empty chain or one an older opspilot left unkeyed), checks the
   * newest checkpoint against the chain, and checkpoints the head if it moved since.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const { keyFile, checkpointsFile } = auditPaths(options.config);
    const head = await options.store.audit.head();
    let keys = readAuditKeys(keyFile);
    let reason: CheckpointReason = 'start';
    if (keys === undefined) {
      if (head !== undefined && legacyRecordHash(head) !== head.hash) {
        throw new InvalidError(
          `the audit chain (newest record ${head.seq}) is keyed, but there is no audit key at ${keyFile}`,
          [],
          {
            hint: 'Restore the key file from a backup, or set audit.keyFile to the key file the other opspilot instances on this database use. A new key cannot extend a chain keyed by another one.',
          },
        );
      }
      keys = createAuditKeys(
        keyFile,
        head === undefined ? null : { seq: head.seq, hash: head.hash },
        options.clock.now(),
      );
      reason = keys.legacyHead === null ? 'new-key' : 'legacy';
    }
    const checkpoints = new AuditCheckpoints(checkpointsFile, keys);
    const log = new AuditLog(options, keys, checkpoints);
    const { checkpoints: stored } = checkpoints.read();
    const latest = stored.at(-1)?.checkpoint;
    if (latest !== undefined) log.checkpointed = { seq: latest.seq, hash: latest.hash };
    else if (reason === 'start' && head !== undefined) {
      options.logger.warn(
        { file: checkpointsFile, seq: head.seq },
        'no audit checkpoints yet: a new instance on a shared database, or the file was lost; checkpointing from here',
      );
    }
    if (latest !== undefined) await log.compareWithChain(latest, head);
    if (head !== undefined && !holds(keys, head)) {
      options.logger.error(
        { seq: head.seq, keyFile },
        'the newest audit record does not verify with this audit key (tampered with, or written by an instance with another key); run `opspilot audit verify`',
      );
    }
    await log.checkpoint(reason);
    return log;
  }

  /** Where the signed checkpoints go. */
  get checkpointsFile(): string {
    return this.checkpoints.file;
  }

  /** Logs at start what `verify` would report about the newest checkpoint, so tampering shows in the log. */
  private async compareWithChain(latest: Checkpoint, head: AuditRecord | undefined): Promise<void> {
    if (latest.seq === 0) return;
    const [record] = await this.options.store.audit.scan(latest.seq - 1, 1);
    const problem =
      record?.seq !== latest.seq
        ? `truncated: checkpoint at seq ${latest.seq} but the chain ends at ${head?.seq ?? 0}`
        : record.hash !== latest.hash
          ? `rewritten: record ${latest.seq} is not the one its checkpoint signed`
          : undefined;
    if (problem !== undefined) {
      this.options.logger.error(
        { problem },
        'the audit chain was tampered with; run `opspilot audit verify`',
      );
    }
  }

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
    let records: AuditRecord[];
    try {
      records = await this.chain(
        tx,
        entries.map((entry) => ({ entry, at })),
      );
    } catch (error) {
      // The caller's transaction rolls back with it: the state change is not made either.
      throw unwritable(error);
    }
    // The caller's transaction commits after this returns; a watcher may hear of it a moment early.
    for (const entry of entries) entry.trail?.note(1);
    this.announce(records);
    this.counted(records.length);
    return records;
  }

  list(filter: AuditFilter): Promise<AuditRecord[]> {
    return this.options.store.audit.list(filter);
  }

  /**
   * Recomputes the chain's MACs from the first record, checks every checkpoint's signature and that the chain
   * still holds each checkpoint's head and reaches the latest one; reports everything it finds.
   */
  verify(): Promise<VerifyResult> {
    return verifyAuditChain({
      records: this.options.store.audit,
      keys: this.keys,
      checkpoints: this.checkpoints,
    });
  }

  /** Checkpoints now and then while running (`audit.checkpointIntervalMs`). */
  start(): void {
    this.ticker.start();
  }

  /** Stops checkpointing after the records still queued committed and the head was checkpointed. */
  async stop(): Promise<void> {
    await this.ticker.stop();
    await this.flush();
    await this.checkpoint('shutdown').catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'the audit checkpoint at shutdown could not be written');
    });
  }

  /**
   * Signs the chain's head (as committed in the database, other instances' records included) into the
   * checkpoints file, unless the newest checkpoint already holds it. Resolves with what it wrote.
   */
  checkpoint(reason: CheckpointReason): Promise<Checkpoint | undefined> {
    const next = this.checkpointing.then(async () => {
      const head = await this.options.store.audit.head();
      const seq = head?.seq ?? 0;
      const hash = head?.hash ?? genesisHash;
      if (this.checkpointed?.seq === seq && this.checkpointed.hash === hash) return undefined;
      this.sinceCheckpoint = 0;
      const written = await this.checkpoints.append({
        seq,
        hash,
        at: this.options.clock.now().toISOString(),
        reason,
      });
      this.checkpointed = { seq, hash };
      return written;
    });
    this.checkpointing = next.catch(() => undefined);
    return next;
  }

  /** Counts committed records; past `audit.checkpointEveryRecords` since the last checkpoint, writes one. */
  private counted(records: number): void {
    this.sinceCheckpoint += records;
    if (this.sinceCheckpoint < this.options.config.audit.checkpointEveryRecords) return;
    this.sinceCheckpoint = 0;
    this.checkpoint('records').catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'the audit checkpoint could not be written');
    });
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
      this.counted(records.length);
    } catch (error) {
      const failure = unwritable(error);
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
      const record: AuditRecord = { ...unsigned, hash: recordMac(this.keys.macKey, unsigned) };
      records.push(record);
      prevHash = record.hash;
    }
    await tx.audit.append(records);
    return records;
  }
}

/** What a caller hears when its audit record could not be committed (REST: 503 with the hint). */
function unwritable(error: unknown): UnavailableError {
  return new UnavailableError(`the audit record could not be written: ${errorMessage(error)}`, {
    hint: 'The request was not carried out. Check the state database, then retry.',
    cause: error,
  });
}
