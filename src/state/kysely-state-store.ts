// StateStore over Kysely: one implementation for SQLite and PostgreSQL, proven equal by one contract suite.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { ConflictError, NotFoundError, UnavailableError } from '../core/errors.js';
import {
  openDatabase,
  type AlertsTable,
  type AuditEventsTable,
  type Database,
  type Dialect,
  type EventsTable,
  type ProposalsTable,
  type RcaReportsTable,
  type ResourcesTable,
} from './database.js';
import { KyselyAgentBusRepository } from './kysely-agent-bus-repository.js';
import { migrateToLatest } from './migrations.js';
import type {
  AgentBusRepository,
  AlertEventRecord,
  AlertFilter,
  AlertRecord,
  AlertRepository,
  AlertState,
  AuditFilter,
  AuditRecord,
  AuditRepository,
  EventFilter,
  EventRecord,
  EventRepository,
  NewEvent,
  ProposalFilter,
  ProposalRecord,
  ProposalRepository,
  RcaReportFilter,
  RcaReportRecord,
  RcaReportRepository,
  ResourceFilter,
  ResourceKey,
  ResourceRecord,
  ResourceRepository,
  StateRepositories,
  StateStore,
  WorkflowLogLine,
  WorkflowLogRepository,
} from './ports.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface OpenStateStoreOptions {
  /** `postgres://…`, `sqlite:PATH` or undefined for `<dataDir>/state.db`. */
  url: string | undefined;
  dataDir: string;
}

export async function openStateStore(
  options: OpenStateStoreOptions,
): Promise<StateStore & { location: string }> {
  const { db, dialect, location } = openDatabase(options.url, options.dataDir);
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, dialect);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    if (error instanceof UnavailableError) throw error;
    throw new UnavailableError(`cannot open the state database at ${location}: ${String(error)}`, {
      hint: 'Check that the database is reachable (OPSPILOT_STATE_URL) and the data dir is writable.',
      cause: error,
    });
  }
  return Object.assign(new KyselyStateStore(db, dialect), { location });
}

export class KyselyStateStore implements StateStore {
  readonly resources: ResourceRepository;
  readonly events: EventRepository;
  readonly workflowLogs: WorkflowLogRepository;
  readonly alerts: AlertRepository;
  readonly audit: AuditRepository;
  readonly proposals: ProposalRepository;
  readonly rcaReports: RcaReportRepository;
  readonly agentBus: AgentBusRepository;

  constructor(
    private readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {
    this.resources = new KyselyResourceRepository(db, dialect);
    this.events = new KyselyEventRepository(db);
    this.workflowLogs = new KyselyWorkflowLogRepository(db);
    this.alerts = new KyselyAlertRepository(db);
    this.audit = new KyselyAuditRepository(db, dialect);
    this.proposals = new KyselyProposalRepository(db, dialect);
    this.rcaReports = new KyselyRcaReportRepository(db);
    this.agentBus = new KyselyAgentBusRepository(db, dialect);
  }

  transaction<T>(work: (repositories: StateRepositories) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) =>
      work({
        resources: new KyselyResourceRepository(trx, this.dialect),
        events: new KyselyEventRepository(trx),
        workflowLogs: new KyselyWorkflowLogRepository(trx),
        alerts: new KyselyAlertRepository(trx),
        audit: new KyselyAuditRepository(trx, this.dialect),
        proposals: new KyselyProposalRepository(trx, this.dialect),
        rcaReports: new KyselyRcaReportRepository(trx),
      }),
    );
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}

class KyselyResourceRepository implements ResourceRepository {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  async get(key: ResourceKey, options: { forUpdate?: boolean } = {}): Promise<ResourceRecord | undefined> {
    let query = this.db
      .selectFrom('resources')
      .selectAll()
      .where('kind', '=', key.kind)
      .where('namespace', '=', key.namespace)
      .where('name', '=', key.name);
    // SQLite has no row locks and needs none: Kysely runs its transactions one at a time on one connection.
    if (options.forUpdate === true && this.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row && toResource(row);
  }

  async list(filter: ResourceFilter): Promise<ResourceRecord[]> {
    let query = this.db.selectFrom('resources').selectAll().where('kind', '=', filter.kind);
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.project !== undefined) query = query.where('project', '=', filter.project);
    if (filter.component !== undefined) query = query.where('component', '=', filter.component);
    if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
    const rows = await query.orderBy('namespace').orderBy('name').execute();
    return rows.map(toResource);
  }

  async insert(record: ResourceRecord): Promise<void> {
    try {
      await this.db.insertInto('resources').values(fromResource(record)).execute();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(`${record.kind} ${qualified(record)} already exists`);
      }
      throw error;
    }
  }

  async update(record: ResourceRecord, expectedGeneration: number): Promise<void> {
    const row = fromResource(record);
    // The status is not written here: it has its own writer (setStatus) and a copy read earlier may be stale.
    const result = await this.db
      .updateTable('resources')
      .set({
        project: row.project,
        component: row.component,
        environment: row.environment,
        labels: row.labels,
        annotations: row.annotations,
        spec: row.spec,
        generation: row.generation,
        updated_at: row.updated_at,
      })
      .where('kind', '=', record.kind)
      .where('namespace', '=', record.namespace)
      .where('name', '=', record.name)
      .where('generation', '=', expectedGeneration)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new ConflictError(`${record.kind} ${qualified(record)} was changed or deleted meanwhile`, {
        hint: 'Read it again and retry.',
      });
    }
  }

  async setStatus(key: ResourceKey, status: unknown, updatedAt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('resources')
      .set({ status: status === undefined ? null : JSON.stringify(status), updated_at: updatedAt })
      .where('kind', '=', key.kind)
      .where('namespace', '=', key.namespace)
      .where('name', '=', key.name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(key: ResourceKey): Promise<boolean> {
    const result = await this.db
      .deleteFrom('resources')
      .where('kind', '=', key.kind)
      .where('namespace', '=', key.namespace)
      .where('name', '=', key.name)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

class KyselyEventRepository implements EventRepository {
  constructor(private readonly db: Executor) {}

  async record(event: NewEvent, foldWindowMs = 10 * 60_000): Promise<void> {
    const row = {
      namespace: event.namespace,
      object_kind: event.objectKind,
      object_name: event.objectName,
      project: event.project ?? null,
      component: event.component ?? null,
      environment: event.environment ?? null,
      replica: event.replica ?? null,
      type: event.type,
      reason: event.reason,
      message: event.message,
    };
    const windowStart = new Date(Date.parse(event.timestamp) - foldWindowMs).toISOString();
    // Fold only into the newest event of this object: a repeat after something else happened is news.
    const latest = await this.db
      .selectFrom('events')
      .selectAll()
      .where('namespace', '=', row.namespace)
      .where('object_kind', '=', row.object_kind)
      .where('object_name', '=', row.object_name)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (
      latest !== undefined &&
      latest.last_timestamp >= windowStart &&
      latest.reason === row.reason &&
      latest.message === row.message &&
      latest.replica === row.replica &&
      latest.type === row.type
    ) {
      await this.db
        .updateTable('events')
        .set({ count: latest.count + 1, last_timestamp: event.timestamp })
        .where('id', '=', latest.id)
        .execute();
      return;
    }
    await this.db
      .insertInto('events')
      .values({ ...row, count: 1, first_timestamp: event.timestamp, last_timestamp: event.timestamp })
      .execute();
  }

  async list(filter: EventFilter): Promise<EventRecord[]> {
    let query = this.db.selectFrom('events').selectAll();
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.project !== undefined) query = query.where('project', '=', filter.project);
    if (filter.component !== undefined) query = query.where('component', '=', filter.component);
    if (filter.environment !== undefined) query = query.where('environment', '=', filter.environment);
    if (filter.objectKind !== undefined) query = query.where('object_kind', '=', filter.objectKind);
    if (filter.objectName !== undefined) query = query.where('object_name', '=', filter.objectName);
    if (filter.reason !== undefined) query = query.where('reason', '=', filter.reason);
    if (filter.since !== undefined) query = query.where('last_timestamp', '>=', filter.since);
    const rows = await query
      .orderBy('last_timestamp', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 500)
      .execute();
    return rows.map(toEvent);
  }

  async prune(before: string): Promise<number> {
    const result = await this.db.deleteFrom('events').where('last_timestamp', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

class KyselyWorkflowLogRepository implements WorkflowLogRepository {
  constructor(private readonly db: Executor) {}

  async append(lines: readonly WorkflowLogLine[]): Promise<void> {
    // Both drivers cap bound parameters per statement; 6 columns × 500 rows stays well inside.
    for (let start = 0; start < lines.length; start += 500) {
      const rows = lines.slice(start, start + 500).map((line) => ({
        run_uid: line.runUid,
        sequence: line.sequence,
        timestamp: line.timestamp,
        step: line.step,
        stream: line.stream,
        line: line.line,
      }));
      await this.db.insertInto('workflow_logs').values(rows).execute();
    }
  }

  async list(
    runUid: string,
    options: { afterSequence?: number; limit?: number } = {},
  ): Promise<WorkflowLogLine[]> {
    const rows = await this.db
      .selectFrom('workflow_logs')
      .selectAll()
      .where('run_uid', '=', runUid)
      .where('sequence', '>', options.afterSequence ?? -1)
      .orderBy('sequence')
      .limit(options.limit ?? 10_000)
      .execute();
    return rows.map((row) => ({
      runUid: row.run_uid,
      sequence: row.sequence,
      timestamp: row.timestamp,
      step: row.step,
      stream: row.stream as WorkflowLogLine['stream'],
      line: row.line,
    }));
  }

  async deleteRun(runUid: string): Promise<void> {
    await this.db.deleteFrom('workflow_logs').where('run_uid', '=', runUid).execute();
  }
}

class KyselyAlertRepository implements AlertRepository {
  constructor(private readonly db: Executor) {}

  async get(fingerprint: string): Promise<AlertRecord | undefined> {
    const row = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('fingerprint', '=', fingerprint)
      .executeTakeFirst();
    return row && toAlert(row);
  }

  async upsert(alert: AlertRecord): Promise<void> {
    const row = {
      fingerprint: alert.fingerprint,
      source: alert.source,
      rule: alert.rule,
      namespace: alert.namespace,
      component: alert.component,
      environment: alert.environment,
      severity: alert.severity,
      labels: JSON.stringify(alert.labels),
      annotations: JSON.stringify(alert.annotations),
      state: alert.state,
      value: alert.value,
      summary: alert.summary,
      trigger_ai_rca: alert.triggerAiRca ? 1 : 0,
      group_key: alert.groupKey,
      started_at: alert.startedAt,
      fired_at: alert.firedAt,
      resolved_at: alert.resolvedAt,
      updated_at: alert.updatedAt,
    };
    const { fingerprint: _key, ...changes } = row;
    await this.db
      .insertInto('alerts')
      .values(row)
      .onConflict((conflict) => conflict.column('fingerprint').doUpdateSet(changes))
      .execute();
  }

  async list(filter: AlertFilter): Promise<AlertRecord[]> {
    let query = this.db.selectFrom('alerts').selectAll();
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.rule !== undefined) query = query.where('rule', '=', filter.rule);
    if (filter.groupKey !== undefined) query = query.where('group_key', '=', filter.groupKey);
    const rows = await query
      .orderBy('updated_at', 'desc')
      .limit(filter.limit ?? 500)
      .execute();
    return rows.map(toAlert);
  }

  async appendEvent(event: Omit<AlertEventRecord, 'id'>): Promise<void> {
    await this.db.insertInto('alert_events').values(event).execute();
  }

  async events(filter: {
    fingerprint?: string | undefined;
    namespace?: string | undefined;
    since?: string | undefined;
    limit?: number | undefined;
  }): Promise<AlertEventRecord[]> {
    let query = this.db.selectFrom('alert_events').selectAll();
    if (filter.fingerprint !== undefined) query = query.where('fingerprint', '=', filter.fingerprint);
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    const rows = await query
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 500)
      .execute();
    return rows.map((row) => ({ ...row, state: row.state as AlertState }));
  }
}

/** Any constant shared by every opspilot instance on one database: the key of the audit chain's advisory lock. */
const auditChainLockKey = 7_400_417;

class KyselyAuditRepository implements AuditRepository {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  async lockChain(): Promise<void> {
    if (this.dialect !== 'postgres') return;
    await sql`select pg_advisory_xact_lock(${auditChainLockKey})`.execute(this.db);
  }

  async head(): Promise<AuditRecord | undefined> {
    const row = await this.db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && toAudit(row);
  }

  async append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    // PostgreSQL takes at most 65535 parameters per statement: 18 columns, so insert in chunks.
    for (let start = 0; start < records.length; start += 1000) {
      await this.db
        .insertInto('audit_events')
        .values(records.slice(start, start + 1000).map(fromAudit))
        .execute();
    }
  }

  async list(filter: AuditFilter): Promise<AuditRecord[]> {
    let query = this.db.selectFrom('audit_events').selectAll();
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.principal !== undefined) query = query.where('principal', '=', filter.principal);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.decision !== undefined) query = query.where('decision', '=', filter.decision);
    if (filter.target !== undefined) {
      const prefix = filter.target;
      query = query.where(sql<string>`substr(target, 1, ${prefix.length})`, '=', prefix);
    }
    // Records keep UTC ISO times; an offset in the filter would compare wrongly as text.
    if (filter.since !== undefined) query = query.where('at', '>=', new Date(filter.since).toISOString());
    if (filter.until !== undefined) query = query.where('at', '<', new Date(filter.until).toISOString());
    if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
    const rows = await query
      .orderBy('seq', 'desc')
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toAudit);
  }

  async scan(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map(toAudit);
  }
}

/** First key of the two-key advisory locks that serialize proposals per namespace (the second: the name's hash). */
const proposalLockKey = 7_400_418;

class KyselyProposalRepository implements ProposalRepository {
  constructor(
    private readonly db: Executor,
    private readonly dialect: Dialect,
  ) {}

  async lockNamespace(namespace: string): Promise<void> {
    if (this.dialect !== 'postgres') return;
    await sql`select pg_advisory_xact_lock(${proposalLockKey}, hashtext(${namespace}))`.execute(this.db);
  }

  async get(id: string, options: { forUpdate?: boolean } = {}): Promise<ProposalRecord | undefined> {
    let query = this.db.selectFrom('proposals').selectAll().where('id', '=', id);
    if (options.forUpdate === true && this.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row && toProposal(row);
  }

  async insert(record: ProposalRecord): Promise<void> {
    try {
      await this.db.insertInto('proposals').values(fromProposal(record)).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`proposal ${record.id} already exists`);
      throw error;
    }
  }

  async update(record: ProposalRecord, expectedVersion: number): Promise<void> {
    const { id: _id, ...row } = fromProposal(record);
    const result = await this.db
      .updateTable('proposals')
      .set(row)
      .where('id', '=', record.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new ConflictError(`proposal ${record.id} was changed meanwhile`, {
        hint: 'Read it again: someone may have approved, rejected or executed it.',
      });
    }
  }

  async list(filter: ProposalFilter): Promise<ProposalRecord[]> {
    let query = this.db.selectFrom('proposals').selectAll();
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.createdBy !== undefined) query = query.where('created_by', '=', filter.createdBy);
    if (filter.statuses !== undefined && filter.statuses.length > 0) {
      query = query.where('status', 'in', [...filter.statuses]);
    }
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toProposal);
  }
}

class KyselyRcaReportRepository implements RcaReportRepository {
  constructor(private readonly db: Executor) {}

  async insert(record: RcaReportRecord): Promise<void> {
    try {
      await this.db.insertInto('rca_reports').values(fromRcaReport(record)).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`RCA report ${record.id} already exists`);
      throw error;
    }
  }

  async update(record: RcaReportRecord): Promise<void> {
    const result = await this.db
      .updateTable('rca_reports')
      .set({ status: record.status, updated_at: record.updatedAt, body: JSON.stringify(record.body) })
      .where('id', '=', record.id)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1)
      throw new NotFoundError(`RCA report ${record.id} does not exist`);
  }

  async get(id: string): Promise<RcaReportRecord | undefined> {
    const row = await this.db.selectFrom('rca_reports').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRcaReport(row);
  }

  async list(filter: RcaReportFilter): Promise<RcaReportRecord[]> {
    let query = this.db.selectFrom('rca_reports').selectAll();
    if (filter.namespace !== undefined) query = query.where('namespace', '=', filter.namespace);
    if (filter.groupKey !== undefined) query = query.where('group_key', '=', filter.groupKey);
    if (filter.statuses !== undefined && filter.statuses.length > 0) {
      query = query.where('status', 'in', [...filter.statuses]);
    }
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map(toRcaReport);
  }
}

function toRcaReport(row: Selectable<RcaReportsTable>): RcaReportRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    status: row.status,
    alertFingerprint: row.alert_fingerprint,
    groupKey: row.group_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    body: JSON.parse(row.body) as unknown,
  };
}

function fromRcaReport(record: RcaReportRecord): RcaReportsTable {
  return {
    id: record.id,
    namespace: record.namespace,
    status: record.status,
    alert_fingerprint: record.alertFingerprint,
    group_key: record.groupKey,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    body: JSON.stringify(record.body),
  };
}

function toAudit(row: Selectable<AuditEventsTable>): AuditRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    at: row.at,
    principal: row.principal,
    principalKind: row.principal_kind,
    client: row.client,
    edge: row.edge,
    action: row.action,
    namespace: row.namespace,
    target: row.target,
    argsDigest: row.args_digest,
    decision: row.decision,
    reasons: JSON.parse(row.reasons) as string[],
    result: row.result,
    details: JSON.parse(row.details) as unknown,
    latencyMs: row.latency_ms,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function fromAudit(record: AuditRecord): AuditEventsTable {
  return {
    seq: record.seq,
    id: record.id,
    at: record.at,
    principal: record.principal,
    principal_kind: record.principalKind,
    client: record.client,
    edge: record.edge,
    action: record.action,
    namespace: record.namespace,
    target: record.target,
    args_digest: record.argsDigest,
    decision: record.decision,
    reasons: JSON.stringify(record.reasons),
    result: record.result,
    details: JSON.stringify(record.details ?? null),
    latency_ms: record.latencyMs,
    prev_hash: record.prevHash,
    hash: record.hash,
  };
}

function toProposal(row: Selectable<ProposalsTable>): ProposalRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    status: row.status,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    body: JSON.parse(row.body) as unknown,
  };
}

function fromProposal(record: ProposalRecord): ProposalsTable {
  return {
    id: record.id,
    namespace: record.namespace,
    status: record.status,
    created_by: record.createdBy,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    version: record.version,
    body: JSON.stringify(record.body),
  };
}

function toAlert(row: Selectable<AlertsTable>): AlertRecord {
  return {
    fingerprint: row.fingerprint,
    source: row.source,
    rule: row.rule,
    namespace: row.namespace,
    component: row.component,
    environment: row.environment,
    severity: row.severity,
    labels: JSON.parse(row.labels) as Record<string, string>,
    annotations: JSON.parse(row.annotations) as Record<string, string>,
    state: row.state as AlertState,
    value: row.value,
    summary: row.summary,
    triggerAiRca: row.trigger_ai_rca === 1,
    groupKey: row.group_key,
    startedAt: row.started_at,
    firedAt: row.fired_at,
    resolvedAt: row.resolved_at,
    updatedAt: row.updated_at,
  };
}

function toResource(row: Selectable<ResourcesTable>): ResourceRecord {
  return {
    uid: row.uid,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    project: row.project,
    component: row.component,
    environment: row.environment,
    labels: JSON.parse(row.labels) as Record<string, string>,
    annotations: JSON.parse(row.annotations) as Record<string, string>,
    spec: JSON.parse(row.spec) as unknown,
    status: row.status === null ? null : (JSON.parse(row.status) as unknown),
    generation: row.generation,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function fromResource(record: ResourceRecord): ResourcesTable {
  return {
    uid: record.uid,
    kind: record.kind,
    namespace: record.namespace,
    name: record.name,
    project: record.project,
    component: record.component,
    environment: record.environment,
    labels: JSON.stringify(record.labels),
    annotations: JSON.stringify(record.annotations),
    spec: JSON.stringify(record.spec),
    status: record.status === null || record.status === undefined ? null : JSON.stringify(record.status),
    generation: record.generation,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

function toEvent(row: Selectable<EventsTable>): EventRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    objectKind: row.object_kind,
    objectName: row.object_name,
    project: row.project,
    component: row.component,
    environment: row.environment,
    replica: row.replica,
    type: row.type as EventRecord['type'],
    reason: row.reason,
    message: row.message,
    timestamp: row.last_timestamp,
    count: row.count,
    firstTimestamp: row.first_timestamp,
    lastTimestamp: row.last_timestamp,
  };
}

function qualified(key: ResourceKey): string {
  return key.namespace === '' ? key.name : `${key.namespace}/${key.name}`;
}

function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
