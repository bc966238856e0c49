// Group commit for telemetry: batches are appended as they arrive and made durable together; each writer is
// answered only after its data is committed, so an acknowledged batch survives a crash. One commit runs at a
// time: what arrives meanwhile goes into the next one, so the busier the receiver, the bigger each commit.
// Back-pressure: past a bound of uncommitted records, writers are refused (and retry) instead of queued.
// Isolation: when a shared commit fails, each writer's batch is committed again on its own, so that a batch the
// store cannot take fails its own writer only; meanwhile new batches wait unappended, out of those commits.
import { InvalidError, UnavailableError, errorMessage } from '../../core/errors.js';
import { batchSize, type TelemetryBatch } from '../model.js';

/** What the pipeline needs from a store. */
export interface BatchWriter {
  /** Adds a batch to the next commit; throws only when the store can take nothing (closed, failed). */
  append(batch: TelemetryBatch): void;
  /**
   * Makes everything appended before it durable; on failure those appends are dropped. Rejects with
   * InvalidError when the store refused what was appended (its data), any other error when the store failed.
   */
  commit(): Promise<void>;
}

/** Thrown when the pipeline is full; edges answer 429/503 with Retry-After. */
export class OverloadedError extends UnavailableError {
  constructor(readonly retryAfterSeconds: number) {
    super('telemetry ingest is at capacity', { hint: `Retry after ${retryAfterSeconds} s.` });
  }
}

export interface IngestPipelineOptions {
  readonly writer: BatchWriter;
  /** Longest wait between the first uncommitted record and its commit; 0 commits at the end of the loop turn. */
  readonly flushIntervalMs: number;
  /** Commit at once when this many records wait. */
  readonly maxBatchRecords: number;
  /** Refuse writes beyond this many uncommitted records. */
  readonly maxPendingRecords: number;
  readonly onError?: (error: unknown) => void;
}

interface Waiter {
  readonly batch: TelemetryBatch;
  /** Whether the batch is in the store's next commit already (false while a failed group is retried). */
  appended: boolean;
  resolve(): void;
  reject(error: Error): void;
}

export interface IngestStats {
  readonly acceptedRecords: number;
  readonly commits: number;
  readonly refusedWrites: number;
  readonly pendingRecords: number;
}

export class IngestPipeline {
  /** Writers whose batches are appended but not yet part of a commit. */
  private waiters: Waiter[] = [];
  private waiting = 0;
  /** The commit in flight and how many records it carries. */
  private committing: Promise<void> | undefined;
  private inFlight = 0;
  /** Cancels the scheduled commit, when one is scheduled. */
  private scheduled: (() => void) | undefined;
  /** Set while a failed group is committed writer by writer: nothing else may be appended then. */
  private isolating = false;
  private closed = false;
  private accepted = 0;
  private commits = 0;
  private refused = 0;

  constructor(private readonly options: IngestPipelineOptions) {}

  /**
   * Resolves once the batch is durable; rejects with OverloadedError when full, InvalidError when the store
   * refused this batch, UnavailableError when the store failed.
   */
  write(batch: TelemetryBatch): Promise<void> {
    const size = batchSize(batch);
    if (size === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new UnavailableError('telemetry ingest is shutting down'));
    const uncommitted = this.waiting + this.inFlight;
    if (uncommitted + size > this.options.maxPendingRecords && uncommitted > 0) {
      this.refused += 1;
      return Promise.reject(new OverloadedError(1));
    }
    const appended = !this.isolating;
    if (appended) {
      try {
        this.options.writer.append(batch);
      } catch (error) {
        return Promise.reject(
          new UnavailableError(`the telemetry store takes no data: ${errorMessage(error)}`),
        );
      }
    }
    this.waiting += size;
    this.accepted += size;
    const done = new Promise<void>((resolve, reject) => {
      this.waiters.push({ batch, appended, resolve, reject });
    });
    this.schedule();
    return done;
  }

  /** Commits everything written so far; resolves when it is durable (or has failed). */
  async flush(): Promise<void> {
    await this.committing;
    await this.commitNow();
  }

  stats(): IngestStats {
    return {
      acceptedRecords: this.accepted,
      commits: this.commits,
      refusedWrites: this.refused,
      pendingRecords: this.waiting + this.inFlight,
    };
  }

  /** Refuses further writes and commits what is pending. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.committing !== undefined) return; // the running commit chains the next
    if (this.waiting >= this.options.maxBatchRecords) {
      void this.commitNow(); // a full batch does not wait for the scheduled commit
      return;
    }
    if (this.scheduled !== undefined) return;
    // 0: commit once the requests that arrived in this turn of the event loop are appended.
    const commit = (): void => {
      this.scheduled = undefined;
      void this.commitNow();
    };
    if (this.options.flushIntervalMs === 0) {
      const immediate = setImmediate(commit);
      this.scheduled = () => {
        clearImmediate(immediate);
      };
    } else {
      const timer = setTimeout(commit, this.options.flushIntervalMs);
      this.scheduled = () => {
        clearTimeout(timer);
      };
    }
  }

  /** Starts a commit of the waiting writers unless one runs; never rejects. */
  private commitNow(): Promise<void> {
    if (this.committing !== undefined) return this.committing;
    this.scheduled?.();
    this.scheduled = undefined;
    if (this.waiters.length === 0) return Promise.resolve();
    const waiters = this.waiters;
    this.waiters = [];
    this.inFlight = this.waiting;
    this.waiting = 0;
    this.committing = this.commitGroup(waiters).finally(() => {
      this.committing = undefined;
      // Writers that arrived during this commit have waited long enough: commit them now.
      if (this.waiters.length > 0) void this.commitNow();
    });
    return this.committing;
  }

  /** Appends the batches written during a retry (the others are in already) and commits them all together. */
  private async commitGroup(waiters: readonly Waiter[]): Promise<void> {
    try {
      for (const waiter of waiters) {
        if (waiter.appended) continue;
        this.options.writer.append(waiter.batch);
        waiter.appended = true;
      }
    } catch (error) {
      this.options.onError?.(error);
      this.settle(waiters, new UnavailableError(`the telemetry store takes no data: ${errorMessage(error)}`));
      return;
    }
    try {
      await this.options.writer.commit();
    } catch (error) {
      await this.commitSeparately(waiters, error);
      return;
    }
    this.commits += 1;
    this.settle(waiters);
  }

  /**
   * After a shared commit failed: commits each writer's batch on its own, one after another, so that only the
   * writers whose batches fail again are refused. A store that is down fails them all, each at once. Batches
   * written while the shared commit ran are appended already: they are committed first, together (and, should
   * that fail, one by one too). Until this is done, new batches are not appended, so that every commit here
   * takes in exactly what it is meant to.
   */
  private async commitSeparately(group: readonly Waiter[], error: unknown): Promise<void> {
    this.isolating = true;
    const early = this.waiters;
    this.waiters = [];
    this.inFlight += this.waiting;
    this.waiting = 0;
    this.options.onError?.(error);
    const alone: Waiter[] = [];
    if (group.length === 1) this.settle(group, commitFailure(error));
    else alone.push(...group);
    if (early.length > 0) {
      try {
        await this.options.writer.commit();
        this.commits += 1;
        this.settle(early);
      } catch (earlyError) {
        this.options.onError?.(earlyError);
        if (early.length === 1) this.settle(early, commitFailure(earlyError));
        else alone.push(...early);
      }
    }
    for (const waiter of alone) {
      try {
        this.options.writer.append(waiter.batch);
        await this.options.writer.commit();
        this.commits += 1;
        this.settle([waiter]);
      } catch (failure) {
        this.options.onError?.(failure);
        this.settle([waiter], commitFailure(failure));
      }
    }
    this.isolating = false;
  }

  /** Answers writers whose commit is over: resolved, or rejected with `failure`. */
  private settle(waiters: readonly Waiter[], failure?: Error): void {
    for (const waiter of waiters) {
      this.inFlight -= batchSize(waiter.batch);
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure);
    }
  }
}

/** What a writer whose commit failed is told: the store refused its data, or the store failed. */
function commitFailure(error: unknown): Error {
  if (error instanceof InvalidError) return error;
  return new UnavailableError(`telemetry store could not commit: ${errorMessage(error)}`);
}
