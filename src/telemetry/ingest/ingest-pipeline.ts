// Group commit for telemetry: batches are appended as they arrive and made durable together every few
// milliseconds; each writer is answered only after its data is committed, so an acknowledged batch survives a
// crash. Back-pressure: past a bound of uncommitted records, writers are refused (and retry) instead of queued.
import { UnavailableError, errorMessage } from '../../core/errors.js';
import { batchSize, type TelemetryBatch } from '../model.js';

/** What the pipeline needs from a store. */
export interface BatchWriter {
  append(batch: TelemetryBatch): void;
  commit(): void;
}

/** Thrown when the pipeline is full; edges answer 429/503 with Retry-After. */
export class OverloadedError extends UnavailableError {
  constructor(readonly retryAfterSeconds: number) {
    super('telemetry ingest is at capacity', { hint: `Retry after ${retryAfterSeconds} s.` });
  }
}

export interface IngestPipelineOptions {
  readonly writer: BatchWriter;
  /** Longest wait between the first uncommitted record and its commit. */
  readonly flushIntervalMs: number;
  /** Commit at once when this many records wait. */
  readonly maxBatchRecords: number;
  /** Refuse writes beyond this many uncommitted records. */
  readonly maxPendingRecords: number;
  readonly onError?: (error: unknown) => void;
}

interface Waiter {
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
  private waiters: Waiter[] = [];
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private accepted = 0;
  private commits = 0;
  private refused = 0;

  constructor(private readonly options: IngestPipelineOptions) {}

  /** Resolves once the batch is durable; rejects with OverloadedError when full, UnavailableError on failure. */
  write(batch: TelemetryBatch): Promise<void> {
    const size = batchSize(batch);
    if (size === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new UnavailableError('telemetry ingest is shutting down'));
    if (this.pending + size > this.options.maxPendingRecords && this.pending > 0) {
      this.refused += 1;
      return Promise.reject(new OverloadedError(1));
    }
    try {
      this.options.writer.append(batch);
    } catch (error) {
      return Promise.reject(
        new UnavailableError(`telemetry store refused the batch: ${errorMessage(error)}`),
      );
    }
    this.pending += size;
    this.accepted += size;
    const done = new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
    if (this.pending >= this.options.maxBatchRecords) this.flush();
    else
      this.timer ??= setTimeout(() => {
        this.flush();
      }, this.options.flushIntervalMs);
    return done;
  }

  /** Commits what is pending now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    this.pending = 0;
    try {
      this.options.writer.commit();
      this.commits += 1;
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      this.options.onError?.(error);
      const failure = new UnavailableError(`telemetry store could not commit: ${errorMessage(error)}`);
      for (const waiter of waiters) waiter.reject(failure);
    }
  }

  stats(): IngestStats {
    return {
      acceptedRecords: this.accepted,
      commits: this.commits,
      refusedWrites: this.refused,
      pendingRecords: this.pending,
    };
  }

  /** Commits what is pending and refuses further writes. */
  close(): void {
    this.closed = true;
    this.flush();
  }
}
