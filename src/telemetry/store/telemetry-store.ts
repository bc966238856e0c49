// What the rest of the telemetry plane needs from the store. The server's store runs DuckDB on a worker thread
// (ThreadedTelemetryStore); DuckDbTelemetryStore is the same store on the calling thread.
import type { ResourceIdentity, TelemetryBatch } from '../model.js';

/** Named query parameters (`$name` in SQL); arrays become lists. */
export type SqlParameters = Record<
  string,
  string | number | boolean | bigint | null | readonly string[] | readonly number[]
>;

/** Resource columns as the queries see them: the identity without its attributes, and the store's id. */
export type StoredResource = { readonly id: number } & Pick<
  ResourceIdentity,
  'service' | 'namespace' | 'project' | 'component' | 'environment' | 'instance'
>;

export interface TelemetryStore {
  /** Adds a batch; nothing is durable (or visible) before the next commit. */
  append(batch: TelemetryBatch): void;
  /**
   * Makes everything appended so far durable and visible; rejects when it could not, dropping those appends:
   * with InvalidError when a value appended could not be stored, UnavailableError when the store failed.
   */
  commit(): Promise<void>;
  query<T extends Record<string, unknown>>(sql: string, parameters?: SqlParameters): Promise<T[]>;
  /** A statement that changes data (retention); resolves with the rows changed. */
  execute(sql: string, parameters?: SqlParameters): Promise<number>;
  resource(id: number): StoredResource | undefined;
  allResources(): StoredResource[];
  close(): Promise<void>;
}
