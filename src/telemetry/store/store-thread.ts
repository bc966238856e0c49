// The telemetry store's own thread: it owns the DuckDB database, appends and commits batches and runs queries,
// so that the server's event loop only receives and decodes. Messages are handled in arrival order; see
// threaded-telemetry-store.ts for the other side.
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../core/errors.js';
import { DuckDbTelemetryStore, type DuckDbStoreOptions } from './duckdb-telemetry-store.js';
import type { StoreBatch } from './store-batch.js';
import type { SqlParameters, StoredResource } from './telemetry-store.js';

export type StoreRequest =
  | { readonly op: 'append'; readonly batch: StoreBatch }
  | { readonly op: 'commit'; readonly id: number }
  | { readonly op: 'query'; readonly id: number; readonly sql: string; readonly parameters: SqlParameters }
  | { readonly op: 'execute'; readonly id: number; readonly sql: string; readonly parameters: SqlParameters }
  | { readonly op: 'close'; readonly id: number };

export type StoreReply =
  | { readonly op: 'ready'; readonly resources: StoredResource[] }
  | { readonly op: 'failed'; readonly error: string }
  | {
      readonly op: 'done';
      readonly id: number;
      readonly value: unknown;
      readonly resources?: StoredResource[];
    }
  | { readonly op: 'error'; readonly id: number; readonly error: string };

const port = parentPort;
if (port === null) throw new Error('store-thread.ts runs as a worker thread');

let store: DuckDbTelemetryStore;
try {
  store = await DuckDbTelemetryStore.open(workerData as DuckDbStoreOptions);
  port.postMessage({ op: 'ready', resources: store.allResources() } satisfies StoreReply);
} catch (error) {
  port.postMessage({ op: 'failed', error: errorMessage(error) } satisfies StoreReply);
  process.exit(1);
}

/** The first append that failed since the last commit: that commit must fail too. */
let appendFailure: string | undefined;

port.on('message', (request: StoreRequest) => {
  switch (request.op) {
    case 'append':
      if (appendFailure !== undefined) return; // the group fails at its commit anyway
      try {
        store.append(request.batch);
      } catch (error) {
        appendFailure = errorMessage(error);
      }
      return;
    case 'commit':
      commit(request.id);
      return;
    case 'query':
      answer(request.id, store.query(request.sql, request.parameters));
      return;
    case 'execute':
      answer(request.id, store.execute(request.sql, request.parameters));
      return;
    case 'close':
      answer(
        request.id,
        store.close().then(() => {
          port.close();
        }),
      );
      return;
  }
});

function commit(id: number): void {
  try {
    if (appendFailure !== undefined) throw new Error(appendFailure);
    const resources = store.commit();
    port?.postMessage({ op: 'done', id, value: null, resources } satisfies StoreReply);
  } catch (error) {
    store.discard();
    port?.postMessage({ op: 'error', id, error: errorMessage(error) } satisfies StoreReply);
  } finally {
    appendFailure = undefined;
  }
}

function answer(id: number, work: Promise<unknown>): void {
  work.then(
    (value) => port?.postMessage({ op: 'done', id, value } satisfies StoreReply),
    (error: unknown) =>
      port?.postMessage({ op: 'error', id, error: errorMessage(error) } satisfies StoreReply),
  );
}
