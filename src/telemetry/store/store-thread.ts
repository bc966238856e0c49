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
  | {
      readonly op: 'error';
      readonly id: number;
      readonly error: string;
      /** The store refused the data appended for this commit (not a failure of the store). */
      readonly refused?: true;
    };

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

/**
 * Appends, commits and statements that change data run one after another, in arrival order: a commit's
 * transaction must never take in rows that arrived while it ran. Queries wait for what came before them (so
 * they see every earlier commit) but run beside what comes after.
 */
let writes: Promise<void> = Promise.resolve();

port.on('message', (request: StoreRequest) => {
  switch (request.op) {
    case 'append': {
      const { batch } = request;
      writes = writes.then(() => {
        if (appendFailure !== undefined) return; // the group fails at its commit anyway
        try {
          store.append(batch);
        } catch (error) {
          appendFailure = errorMessage(error);
        }
      });
      return;
    }
    case 'commit':
      writes = writes.then(() => commit(request.id));
      return;
    case 'query': {
      const { id, sql, parameters } = request;
      answer(
        id,
        writes.then(() => store.query(sql, parameters)),
      );
      return;
    }
    case 'execute': {
      const { id, sql, parameters } = request;
      const work = writes.then(() => store.execute(sql, parameters));
      writes = work.then(
        () => undefined,
        () => undefined,
      );
      answer(id, work);
      return;
    }
    case 'close':
      writes = writes.then(async () => {
        try {
          await store.close();
          reply({ op: 'done', id: request.id, value: null });
        } catch (error) {
          reply({ op: 'error', id: request.id, error: errorMessage(error) });
        }
        port.close();
      });
      return;
  }
});

async function commit(id: number): Promise<void> {
  const failure = appendFailure;
  appendFailure = undefined;
  if (failure !== undefined) {
    store.discard();
    reply({ op: 'error', id, error: failure, refused: true });
    return;
  }
  try {
    const resources = await store.commit();
    reply({ op: 'done', id, value: null, resources });
  } catch (error) {
    reply({ op: 'error', id, error: errorMessage(error) });
  }
}

function answer(id: number, work: Promise<unknown>): void {
  work.then(
    (value) => {
      reply({ op: 'done', id, value });
    },
    (error: unknown) => {
      reply({ op: 'error', id, error: errorMessage(error) });
    },
  );
}

function reply(message: StoreReply): void {
  port?.postMessage(message);
}
