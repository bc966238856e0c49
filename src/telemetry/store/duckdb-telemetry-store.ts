// The embedded telemetry store: a DuckDB file in the data dir. Writes go through appenders on one connection
// and become durable (in DuckDB's write-ahead log) at commit(); queries run on their own connection.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBInstance,
  DuckDBTimestampValue,
  listValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { UnavailableError, errorMessage } from '../../core/errors.js';
import type { ResourceIdentity } from '../model.js';
import { canonical } from '../ingest/resource-identity.js';
import { schemaStatements, schemaVersion } from './duckdb-schema.js';
import type { StoreBatch } from './store-batch.js';
import type { SqlParameters, StoredResource } from './telemetry-store.js';

export interface DuckDbStoreOptions {
  /** Path of the database file; ':memory:' for tests that need no durability. */
  readonly path: string;
  /** DuckDB worker threads; defaults to DuckDB's choice (the number of cores). */
  readonly threads?: number;
  readonly memoryLimit?: string;
}

/**
 * The DuckDB store itself, on the thread that opened it. The server runs it on a worker thread behind
 * ThreadedTelemetryStore; tests and tools may use it directly.
 */
export class DuckDbTelemetryStore {
  private readonly resourceIds = new Map<string, number>();
  private readonly resources = new Map<number, StoredResource>();
  /** Resources appended since the last commit: forgotten again if the appends are discarded. */
  private uncommitted: StoredResource[] = [];
  private readonly fingerprints = new Map<number, string>();
  private nextResourceId = 1;
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly appenders: {
      logs: DuckDBAppender;
      spans: DuckDBAppender;
      points: DuckDBAppender;
      resources: DuckDBAppender;
    },
  ) {}

  static async open(options: DuckDbStoreOptions): Promise<DuckDbTelemetryStore> {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(options.path, {
        ...(options.threads === undefined ? {} : { threads: String(options.threads) }),
        ...(options.memoryLimit === undefined ? {} : { memory_limit: options.memoryLimit }),
      });
    } catch (error) {
      throw new UnavailableError(
        `cannot open the telemetry store at ${options.path}: ${errorMessage(error)}`,
        {
          hint: 'Another process may hold it open (one opspilot per data dir), or the file is damaged.',
          cause: error,
        },
      );
    }
    const writer = await instance.connect();
    for (const statement of schemaStatements) await writer.run(statement);
    await writer.run(
      `INSERT INTO store_info VALUES ('schema_version', '${schemaVersion}') ON CONFLICT (key) DO NOTHING`,
    );
    const reader = await instance.connect();
    const store = new DuckDbTelemetryStore(instance, writer, reader, {
      logs: await writer.createAppender('logs'),
      spans: await writer.createAppender('spans'),
      points: await writer.createAppender('metric_points'),
      resources: await writer.createAppender('resources'),
    });
    await store.loadResources();
    return store;
  }

  /** Adds a batch to the appenders. Nothing is durable (or visible) before commit(). */
  append(batch: StoreBatch): void {
    const { logs, spans, points } = this.appenders;
    const ids = batch.resources.map((resource) => this.resourceId(resource));
    const l = batch.logs;
    for (let row = 0; row < l.count; row += 1) {
      logs.appendTimestamp(timestamp(l.timeUs[row] ?? 0));
      logs.appendInteger(ids[l.resource[row] ?? 0] ?? 0);
      logs.appendUTinyInt(l.severityNumber[row] ?? 0);
      logs.appendVarchar(l.severityText[row] ?? '');
      logs.appendVarchar(l.body[row] ?? '');
      appendText(logs, l.traceId[row]);
      appendText(logs, l.spanId[row]);
      appendText(logs, l.attributes[row]);
      appendText(logs, l.scope[row]);
      appendText(logs, l.eventName[row]);
      appendText(logs, l.templateKey[row]);
      logs.endRow();
    }
    const s = batch.spans;
    for (let row = 0; row < s.count; row += 1) {
      spans.appendTimestamp(timestamp(s.startUs[row] ?? 0));
      spans.appendTimestamp(timestamp(s.endUs[row] ?? 0));
      spans.appendDouble(s.durationUs[row] ?? 0);
      spans.appendInteger(ids[s.resource[row] ?? 0] ?? 0);
      spans.appendVarchar(s.traceId[row] ?? '');
      spans.appendVarchar(s.spanId[row] ?? '');
      spans.appendVarchar(s.parentSpanId[row] ?? '');
      spans.appendVarchar(s.name[row] ?? '');
      spans.appendUTinyInt(s.kind[row] ?? 0);
      spans.appendUTinyInt(s.statusCode[row] ?? 0);
      appendText(spans, s.statusMessage[row]);
      const status = s.httpStatus[row] ?? -1;
      if (status < 0) spans.appendNull();
      else spans.appendSmallInt(status);
      appendText(spans, s.peer[row]);
      appendText(spans, s.attributes[row]);
      appendText(spans, s.events[row]);
      appendText(spans, s.scope[row]);
      spans.endRow();
    }
    const p = batch.points;
    for (let row = 0; row < p.count; row += 1) {
      points.appendTimestamp(timestamp(p.timeUs[row] ?? 0));
      const start = p.startUs[row] ?? 0;
      if (start > 0) points.appendTimestamp(timestamp(start));
      else points.appendNull();
      const resourceId = ids[p.resource[row] ?? 0] ?? 0;
      const name = p.name[row] ?? '';
      const attributes = p.attributes[row] ?? '';
      points.appendInteger(resourceId);
      points.appendVarchar(name);
      appendText(points, p.unit[row]);
      points.appendUTinyInt(p.type[row] ?? 0);
      points.appendUTinyInt(p.temporality[row] ?? 0);
      points.appendBoolean(p.monotonic[row] === 1);
      appendNumber(points, p.value[row]);
      appendNumber(points, p.valueCount[row]);
      appendNumber(points, p.min[row]);
      appendNumber(points, p.max[row]);
      appendText(points, p.bounds[row]);
      appendText(points, p.bucketCounts[row]);
      appendText(points, attributes);
      // A series is one metric of one resource with one attribute set: rates are computed per series.
      points.appendVarchar(`${resourceId}|${name}|${attributes}`);
      points.endRow();
    }
  }

  /**
   * Makes everything appended so far durable and visible, in one transaction: all of it or (on failure, which
   * it reports by throwing) none of it. Returns the resources it added. Nothing may be appended while it runs.
   */
  async commit(): Promise<StoredResource[]> {
    const added = this.uncommitted;
    this.uncommitted = [];
    try {
      await this.writer.run('BEGIN TRANSACTION');
      // Resources first: rows that reference a new resource must never be visible without it.
      this.appenders.resources.flushSync();
      this.appenders.logs.flushSync();
      this.appenders.spans.flushSync();
      this.appenders.points.flushSync();
      await this.writer.run('COMMIT');
      return added;
    } catch (error) {
      await this.writer.run('ROLLBACK').catch(() => undefined); // DuckDB may have aborted it already
      this.uncommitted = added;
      this.discard();
      throw error;
    }
  }

  /** Drops everything appended since the last commit (after a failed append or commit). */
  discard(): void {
    for (const appender of Object.values(this.appenders)) appender.clear();
    for (const resource of this.uncommitted) {
      this.resourceIds.delete(this.fingerprints.get(resource.id) ?? '');
      this.resources.delete(resource.id);
      this.fingerprints.delete(resource.id);
    }
    this.uncommitted = [];
  }

  /** Runs a read query on the query connection; rows come back as plain JS objects. */
  async query<T extends Record<string, unknown>>(sql: string, parameters: SqlParameters = {}): Promise<T[]> {
    const reader = await this.reader.runAndReadAll(sql, duckdbParameters(parameters));
    return reader.getRowObjectsJS() as T[];
  }

  /** Runs a statement that changes data (retention) on the writer connection. */
  async execute(sql: string, parameters: SqlParameters = {}): Promise<number> {
    const result = await this.writer.run(sql, duckdbParameters(parameters));
    return result.rowsChanged;
  }

  resource(id: number): StoredResource | undefined {
    return this.resources.get(id);
  }

  allResources(): StoredResource[] {
    return [...this.resources.values()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const appender of Object.values(this.appenders)) {
      try {
        appender.closeSync();
      } catch {
        // closing flushes; a failure here means nothing more can be saved
      }
    }
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
    await Promise.resolve();
  }

  private async loadResources(): Promise<void> {
    const rows = await this.query<{
      id: number;
      fingerprint: string;
      service: string;
      namespace: string;
      project: string;
      component: string;
      environment: string;
      instance: string;
    }>(
      'SELECT id, fingerprint, service, namespace, project, component, environment, instance FROM resources',
    );
    for (const { fingerprint, ...resource } of rows) {
      this.resourceIds.set(fingerprint, resource.id);
      this.resources.set(resource.id, resource);
      this.fingerprints.set(resource.id, fingerprint);
      this.nextResourceId = Math.max(this.nextResourceId, resource.id + 1);
    }
  }

  private resourceId(resource: ResourceIdentity): number {
    const known = this.resourceIds.get(resource.fingerprint);
    if (known !== undefined) return known;
    const id = this.nextResourceId++;
    const resources = this.appenders.resources;
    resources.appendInteger(id);
    resources.appendVarchar(resource.fingerprint);
    resources.appendVarchar(resource.service);
    resources.appendVarchar(resource.namespace);
    resources.appendVarchar(resource.project);
    resources.appendVarchar(resource.component);
    resources.appendVarchar(resource.environment);
    resources.appendVarchar(resource.instance);
    resources.appendVarchar(canonical(resource.attributes));
    resources.appendTimestamp(timestamp(Date.now() * 1000));
    resources.endRow();
    const stored: StoredResource = {
      id,
      service: resource.service,
      namespace: resource.namespace,
      project: resource.project,
      component: resource.component,
      environment: resource.environment,
      instance: resource.instance,
    };
    this.resourceIds.set(resource.fingerprint, id);
    this.resources.set(id, stored);
    this.fingerprints.set(id, resource.fingerprint);
    this.uncommitted.push(stored);
    return id;
  }
}

/** Arrays become DuckDB lists (`x IN (SELECT unnest($keys))`). */
function duckdbParameters(parameters: SqlParameters): Record<string, DuckDBValue> {
  const converted: Record<string, DuckDBValue> = {};
  for (const [name, value] of Object.entries(parameters)) {
    converted[name] = Array.isArray(value)
      ? listValue(value as readonly DuckDBValue[])
      : (value as DuckDBValue);
  }
  return converted;
}

function timestamp(micros: number): DuckDBTimestampValue {
  return new DuckDBTimestampValue(BigInt(Math.round(micros)));
}

function appendText(appender: DuckDBAppender, text: string | undefined): void {
  if (text === undefined || text === '') appender.appendNull();
  else appender.appendVarchar(text);
}

function appendNumber(appender: DuckDBAppender, value: number | undefined): void {
  if (value === undefined || Number.isNaN(value)) appender.appendNull();
  else appender.appendDouble(value);
}
