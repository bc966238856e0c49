// Opens the state database: a SQLite file by default, PostgreSQL for a postgres:// URL. Same Kysely schema.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type Generated, type SqliteDialectConfig } from 'kysely';
import pg from 'pg';

export interface ResourcesTable {
  uid: string;
  kind: string;
  namespace: string;
  name: string;
  project: string | null;
  component: string | null;
  environment: string | null;
  labels: string;
  annotations: string;
  spec: string;
  status: string | null;
  generation: number;
  created_at: string;
  updated_at: string;
}

export interface EventsTable {
  id: Generated<number>;
  namespace: string;
  object_kind: string;
  object_name: string;
  project: string | null;
  component: string | null;
  environment: string | null;
  replica: string | null;
  type: string;
  reason: string;
  message: string;
  count: number;
  first_timestamp: string;
  last_timestamp: string;
}

export interface WorkflowLogsTable {
  run_uid: string;
  sequence: number;
  timestamp: string;
  step: string;
  stream: string;
  line: string;
}

export interface AlertsTable {
  fingerprint: string;
  source: string;
  rule: string;
  namespace: string;
  component: string | null;
  environment: string | null;
  severity: string;
  labels: string;
  annotations: string;
  state: string;
  value: number | null;
  summary: string;
  trigger_ai_rca: number;
  group_key: string;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  updated_at: string;
}

export interface AlertEventsTable {
  id: Generated<number>;
  fingerprint: string;
  namespace: string;
  rule: string;
  state: string;
  at: string;
  value: number | null;
  message: string;
}

export interface AuditEventsTable {
  /** bigint: PostgreSQL returns it as a string. */
  seq: number | string;
  id: string;
  at: string;
  principal: string;
  principal_kind: string;
  client: string;
  edge: string;
  action: string;
  namespace: string;
  target: string;
  args_digest: string;
  decision: string;
  reasons: string;
  result: string;
  details: string;
  latency_ms: number;
  prev_hash: string;
  hash: string;
}

export interface ProposalsTable {
  id: string;
  namespace: string;
  status: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
  body: string;
}

export interface RcaReportsTable {
  id: string;
  namespace: string;
  status: string;
  alert_fingerprint: string;
  group_key: string;
  created_at: string;
  updated_at: string;
  body: string;
}

/** The embedded agent bus (src/bus/embedded-bus.ts). Times are epoch milliseconds; bigints come back as strings from PostgreSQL. */
export interface AgentBusEventsTable {
  seq: Generated<number | string>;
  id: string;
  topic: string;
  tenant: string;
  published_at: number | string;
  body: string;
}

export interface AgentBusGroupsTable {
  group_name: string;
  topic: string;
  created_at: number | string;
}

/** One row per event a group has not yet acknowledged; deleted on acknowledgement. */
export interface AgentBusDeliveriesTable {
  group_name: string;
  event_seq: number | string;
  topic: string;
  delivery_count: number;
  /** Claimable from this time on: now when queued, the lease's end once claimed, later after a failure. */
  available_at: number | string;
  consumer: string | null;
}

export interface AgentBusProcessedTable {
  group_name: string;
  event_id: string;
  processed_at: number | string;
}

export interface AgentBusParkedTable {
  id: Generated<number | string>;
  group_name: string;
  event_id: string | null;
  topic: string;
  reason: string;
  delivery_count: number;
  parked_at: number | string;
  body: string;
}

export interface Database {
  agent_bus_events: AgentBusEventsTable;
  agent_bus_groups: AgentBusGroupsTable;
  agent_bus_deliveries: AgentBusDeliveriesTable;
  agent_bus_processed: AgentBusProcessedTable;
  agent_bus_parked: AgentBusParkedTable;
  rca_reports: RcaReportsTable;
  resources: ResourcesTable;
  events: EventsTable;
  workflow_logs: WorkflowLogsTable;
  alerts: AlertsTable;
  alert_events: AlertEventsTable;
  audit_events: AuditEventsTable;
  proposals: ProposalsTable;
}

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Human-readable location, with no password. */
  readonly location: string;
}

/** `url` is `postgres://…`, `sqlite:PATH`, or undefined for `<dataDir>/state.db`. */
export function openDatabase(url: string | undefined, dataDir: string): OpenedDatabase {
  if (url !== undefined && /^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle client that loses its connection must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    const location = new URL(url);
    location.password = '';
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      dialect: 'postgres',
      location: location.toString(),
    };
  }
  const file =
    url === undefined ? resolve(dataDir, 'state.db') : resolve(dataDir, url.slice('sqlite:'.length));
  mkdirSync(dirname(file), { recursive: true });
  const database = new SqliteDatabase(file);
  // WAL keeps readers off the writer's back; NORMAL sync is crash-safe for the process (not for power loss).
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }),
    dialect: 'sqlite',
    location: file,
  };
}

/**
 * Kysely prepares every query afresh; preparing costs more than running the small queries of the state store.
 * Statements are kept by SQL text (the queries are parameterised, so the set is small and bounded here) and
 * reused unless one is still iterating.
 */
function withStatementCache(database: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    prepare(source: string) {
      const cached = statements.get(source);
      if (cached !== undefined && !cached.busy) return cached;
      const statement = database.prepare(source);
      if (statements.size >= 500) statements.clear();
      statements.set(source, statement);
      return statement;
    },
    close() {
      database.close();
    },
  };
}
