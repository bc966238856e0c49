// The telemetry store as the server uses it: DuckDB runs on its own worker thread (store-thread.ts), so that
// appending, committing and querying never block the event loop that serves OTLP, REST and MCP. Batches are
// posted as they arrive; a commit resolves once the worker has made everything posted before it durable.
// Messages keep their order both ways, so a query sent after a commit sees that commit's rows, and the resources
// a commit added are known here before any query result that references them arrives.
import { Worker } from 'node:worker_threads';
import { InvalidError, UnavailableError } from '../../core/errors.js';
import type { TelemetryBatch } from '../model.js';
import type { DuckDbStoreOptions } from './duckdb-telemetry-store.js';
import { toStoreBatch, transferables } from './store-batch.js';
import type { StoreReply, StoreRequest } from './store-thread.js';
import type { SqlParameters, StoredResource, TelemetryStore } from './telemetry-store.js';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class ThreadedTelemetryStore implements TelemetryStore {
  private readonly resources = new Map<number, StoredResource>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly onFailure: (error: Error) => void,
  ) {
    worker.on('message', (reply: StoreReply) => {
      this.receive(reply);
    });
    worker.on('error', (error) => {
      this.fail(
        new UnavailableError(`the telemetry store thread failed: ${error.message}`, { cause: error }),
      );
    });
    worker.on('exit', (code) => {
      if (this.closing !== undefined) this.fail(new UnavailableError('the telemetry store is closed'));
      else this.fail(new UnavailableError(`the telemetry store thread exited (code ${code})`));
    });
  }

  /**
   * Opens the database on a new thread. Should that thread die, every waiting and later call fails with
   * UnavailableError (ingest answers 503, nothing acknowledged is lost) and `onFailure` is told once.
   */
  static async open(
    options: DuckDbStoreOptions,
    onFailure: (error: Error) => void = () => undefined,
  ): Promise<ThreadedTelemetryStore> {
    const worker = startWorker(options);
    const resources = await new Promise<StoredResource[]>((resolve, reject) => {
      const onMessage = (reply: StoreReply): void => {
        worker.off('error', onError);
        if (reply.op === 'ready') resolve(reply.resources);
        else if (reply.op === 'failed') reject(new UnavailableError(reply.error));
        else reject(new Error(`unexpected first message from the store thread: ${reply.op}`));
      };
      const onError = (error: Error): void => {
        worker.off('message', onMessage);
        reject(
          new UnavailableError(`the telemetry store thread did not start: ${error.message}`, {
            cause: error,
          }),
        );
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    });
    const store = new ThreadedTelemetryStore(worker, onFailure);
    for (const resource of resources) store.resources.set(resource.id, resource);
    return store;
  }

  append(batch: TelemetryBatch): void {
    if (this.failure !== undefined) throw this.failure;
    const columns = toStoreBatch(batch);
    this.worker.postMessage({ op: 'append', batch: columns } satisfies StoreRequest, transferables(columns));
  }

  /** Rejects with InvalidError when an appended batch held a value DuckDB cannot store, UnavailableError else. */
  async commit(): Promise<void> {
    await this.call((id) => ({ op: 'commit', id }));
  }

  query<T extends Record<string, unknown>>(sql: string, parameters: SqlParameters = {}): Promise<T[]> {
    return this.call((id) => ({ op: 'query', id, sql, parameters })) as Promise<T[]>;
  }

  execute(sql: string, parameters: SqlParameters = {}): Promise<number> {
    return this.call((id) => ({ op: 'execute', id, sql, parameters })) as Promise<number>;
  }

  resource(id: number): StoredResource | undefined {
    return this.resources.get(id);
  }

  allResources(): StoredResource[] {
    return [...this.resources.values()];
  }

  /** Closes the database (flushing what is appended) and ends the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.failure === undefined) {
        await this.call((id) => ({ op: 'close', id })).catch(() => undefined);
      }
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private call(request: (id: number) => StoreRequest): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(request(id));
    });
  }

  private post(request: StoreRequest): void {
    this.worker.postMessage(request);
  }

  private receive(reply: StoreReply): void {
    if (reply.op !== 'done' && reply.op !== 'error') return;
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.op === 'done') {
      for (const resource of reply.resources ?? []) this.resources.set(resource.id, resource);
      waiter?.resolve(reply.value);
    } else if (reply.refused === true) {
      waiter?.reject(new InvalidError(`the telemetry store refused the batch: ${reply.error}`));
    } else waiter?.reject(new UnavailableError(reply.error));
  }

  private fail(error: Error): void {
    if (this.failure === undefined && this.closing === undefined) this.onFailure(error);
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }
}

/**
 * The compiled worker next to this file; when this file runs from TypeScript sources (tests, `tsx`), the
 * worker's source is loaded through tsx.
 */
function startWorker(options: DuckDbStoreOptions): Worker {
  const workerData = { ...options };
  if (import.meta.url.endsWith('.ts')) {
    // (A development-only path: `tsx` is a dev dependency, resolved from the working directory.)
    const source = new URL('./store-thread.ts', import.meta.url).href;
    return new Worker(
      `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`,
      { eval: true, workerData },
    );
  }
  return new Worker(new URL('./store-thread.js', import.meta.url), { workerData });
}
