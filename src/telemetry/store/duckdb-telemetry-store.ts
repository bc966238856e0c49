// The embedded telemetry store: a DuckDB file in the data dir. Writes go through appenders on one connection
// and become durable (in DuckDB's write-ahead log) at commit(); queries run on their own connection.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { maskVariables } from '../../analysis/log-templates/mask.js';
import { UnavailableError, errorMessage } from '../../core/errors.js';
import {
  metricTypes,
  severity,
  type Attributes,
  type ResourceIdentity,
  type TelemetryBatch,
} from '../model.js';
import { canonical } from '../ingest/resource-identity.js';
import { schemaStatements, schemaVersion } from './duckdb-schema.js';

export interface DuckDbStoreOptions {
  /** Path of the database file; ':memory:' for tests that need no durability. */
  readonly path: string;
  /** DuckDB worker threads; defaults to DuckDB's choice (the number of cores). */
  readonly threads?: number;
  readonly memoryLimit?: string;
}

export type SqlParameters = Record<string, DuckDBValue>;

/** Resource columns as the queries see them. */
export interface StoredResource {
  readonly id: number;
  readonly service: string;
  readonly namespace: string;
  readonly project: string;
  readonly component: string;
  readonly environment: string;
  readonly instance: string;
}

export class DuckDbTelemetryStore {
  private readonly resourceIds = new Map<string, number>();
  private readonly resources = new Map<number, StoredResource>();
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
  append(batch: TelemetryBatch): void {
    const { logs, spans, points } = this.appenders;
    for (const log of batch.logs) {
      logs.appendTimestamp(timestamp(log.timeUs));
      logs.appendInteger(this.resourceId(log.resource));
      logs.appendUTinyInt(log.severityNumber);
      logs.appendVarchar(log.severityText);
      logs.appendVarchar(log.body);
      appendText(logs, log.traceId);
      appendText(logs, log.spanId);
      appendText(logs, attributesJson(log.attributes));
      appendText(logs, log.scope);
      appendText(logs, log.eventName);
      if (log.severityNumber >= severity.warn) logs.appendVarchar(maskVariables(log.body));
      else logs.appendNull();
      logs.endRow();
    }
    for (const span of batch.spans) {
      spans.appendTimestamp(timestamp(span.startUs));
      spans.appendTimestamp(timestamp(span.endUs));
      spans.appendDouble(span.durationUs);
      spans.appendInteger(this.resourceId(span.resource));
      spans.appendVarchar(span.traceId);
      spans.appendVarchar(span.spanId);
      spans.appendVarchar(span.parentSpanId);
      spans.appendVarchar(span.name);
      spans.appendUTinyInt(span.kind);
      spans.appendUTinyInt(span.statusCode);
      appendText(spans, span.statusMessage);
      const status = httpStatus(span.attributes);
      if (status === undefined) spans.appendNull();
      else spans.appendSmallInt(status);
      appendText(spans, peerOf(span.attributes));
      appendText(spans, attributesJson(span.attributes));
      appendText(spans, span.events.length === 0 ? '' : JSON.stringify(span.events));
      appendText(spans, span.scope);
      spans.endRow();
    }
    for (const point of batch.points) {
      points.appendTimestamp(timestamp(point.timeUs));
      if (point.startUs > 0) points.appendTimestamp(timestamp(point.startUs));
      else points.appendNull();
      const resourceId = this.resourceId(point.resource);
      points.appendInteger(resourceId);
      points.appendVarchar(point.name);
      appendText(points, point.unit);
      points.appendUTinyInt(metricTypes.indexOf(point.type));
      points.appendUTinyInt(point.temporality);
      points.appendBoolean(point.monotonic);
      appendNumber(points, point.value);
      appendNumber(points, point.count);
      appendNumber(points, point.min);
      appendNumber(points, point.max);
      appendText(points, point.bounds.length === 0 ? '' : JSON.stringify(point.bounds));
      appendText(points, point.bucketCounts.length === 0 ? '' : JSON.stringify(point.bucketCounts));
      const attributes = attributesJson(point.attributes);
      appendText(points, attributes);
      // A series is one metric of one resource with one attribute set: rates are computed per series.
      points.appendVarchar(`${resourceId}|${point.name}|${attributes}`);
      points.endRow();
    }
  }

  /** Makes everything appended so far durable and visible. */
  commit(): void {
    // Resources first: rows that reference a new resource must never be visible without it.
    this.appenders.resources.flushSync();
    this.appenders.logs.flushSync();
    this.appenders.spans.flushSync();
    this.appenders.points.flushSync();
  }

  /** Runs a read query on the query connection; rows come back as plain JS objects. */
  async query<T extends Record<string, unknown>>(sql: string, parameters: SqlParameters = {}): Promise<T[]> {
    const reader = await this.reader.runAndReadAll(sql, parameters);
    return reader.getRowObjectsJS() as T[];
  }

  /** Runs a statement that changes data (retention) on the writer connection. */
  async execute(sql: string, parameters: SqlParameters = {}): Promise<number> {
    const result = await this.writer.run(sql, parameters);
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
    for (const row of rows) {
      this.resourceIds.set(row.fingerprint, row.id);
      this.resources.set(row.id, row);
      this.nextResourceId = Math.max(this.nextResourceId, row.id + 1);
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
    this.resourceIds.set(resource.fingerprint, id);
    this.resources.set(id, { id, ...resource });
    return id;
  }
}

function timestamp(micros: number): DuckDBTimestampValue {
  return new DuckDBTimestampValue(BigInt(Math.round(micros)));
}

function appendText(appender: DuckDBAppender, text: string): void {
  if (text === '') appender.appendNull();
  else appender.appendVarchar(text);
}

function appendNumber(appender: DuckDBAppender, value: number): void {
  if (Number.isNaN(value)) appender.appendNull();
  else appender.appendDouble(value);
}

function attributesJson(attributes: Attributes): string {
  for (const _ in attributes) return JSON.stringify(attributes);
  return '';
}

/** http.response.status_code (current semantic conventions) or http.status_code (older ones). */
function httpStatus(attributes: Attributes): number | undefined {
  const value = attributes['http.response.status_code'] ?? attributes['http.status_code'];
  const status = typeof value === 'string' ? Number(value) : value;
  return typeof status === 'number' && Number.isInteger(status) && status >= 0 && status < 1000
    ? status
    : undefined;
}

/** The remote side a client span talks to: peer.service, else server.address[:port], else db.system. */
function peerOf(attributes: Attributes): string {
  const peer = attributes['peer.service'];
  if (typeof peer === 'string' && peer !== '') return peer;
  const address = attributes['server.address'] ?? attributes['net.peer.name'];
  const port = attributes['server.port'] ?? attributes['net.peer.port'];
  if (typeof address === 'string' && address !== '') {
    return typeof port === 'number' || typeof port === 'string' ? `${address}:${port}` : address;
  }
  const system = attributes['db.system.name'] ?? attributes['db.system'];
  return typeof system === 'string' ? system : '';
}
