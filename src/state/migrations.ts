// Versioned schema migrations, shared by SQLite and PostgreSQL. Never edit a released migration: add one.
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { UnavailableError, errorMessage } from '../core/errors.js';
import type { Dialect } from './database.js';

function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('resources')
          .addColumn('uid', 'text', (column) => column.primaryKey())
          .addColumn('kind', 'text', (column) => column.notNull())
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('name', 'text', (column) => column.notNull())
          .addColumn('project', 'text')
          .addColumn('component', 'text')
          .addColumn('environment', 'text')
          .addColumn('labels', 'text', (column) => column.notNull())
          .addColumn('annotations', 'text', (column) => column.notNull())
          .addColumn('spec', 'text', (column) => column.notNull())
          .addColumn('status', 'text')
          .addColumn('generation', 'integer', (column) => column.notNull())
          .addColumn('created_at', 'text', (column) => column.notNull())
          .addColumn('updated_at', 'text', (column) => column.notNull())
          .addUniqueConstraint('resources_kind_namespace_name', ['kind', 'namespace', 'name'])
          .execute();
        await db.schema
          .createIndex('resources_by_component')
          .on('resources')
          .columns(['namespace', 'component', 'kind'])
          .execute();

        await db.schema
          .createTable('events')
          .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (column) =>
            dialect === 'postgres' ? column.primaryKey() : column.primaryKey().autoIncrement(),
          )
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('object_kind', 'text', (column) => column.notNull())
          .addColumn('object_name', 'text', (column) => column.notNull())
          .addColumn('project', 'text')
          .addColumn('component', 'text')
          .addColumn('environment', 'text')
          .addColumn('replica', 'text')
          .addColumn('type', 'text', (column) => column.notNull())
          .addColumn('reason', 'text', (column) => column.notNull())
          .addColumn('message', 'text', (column) => column.notNull())
          .addColumn('count', 'integer', (column) => column.notNull())
          .addColumn('first_timestamp', 'text', (column) => column.notNull())
          .addColumn('last_timestamp', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('events_by_namespace_time')
          .on('events')
          .columns(['namespace', 'last_timestamp'])
          .execute();
        await db.schema
          .createIndex('events_by_component')
          .on('events')
          .columns(['namespace', 'component', 'last_timestamp'])
          .execute();

        await db.schema
          .createTable('workflow_logs')
          .addColumn('run_uid', 'text', (column) => column.notNull())
          .addColumn('sequence', 'integer', (column) => column.notNull())
          .addColumn('timestamp', 'text', (column) => column.notNull())
          .addColumn('step', 'text', (column) => column.notNull())
          .addColumn('stream', 'text', (column) => column.notNull())
          .addColumn('line', 'text', (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_logs_pk', ['run_uid', 'sequence'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('workflow_logs').execute();
        await db.schema.dropTable('events').execute();
        await db.schema.dropTable('resources').execute();
      },
    },
    '0002_alerts': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('alerts')
          .addColumn('fingerprint', 'text', (column) => column.primaryKey())
          .addColumn('source', 'text', (column) => column.notNull())
          .addColumn('rule', 'text', (column) => column.notNull())
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('component', 'text')
          .addColumn('environment', 'text')
          .addColumn('severity', 'text', (column) => column.notNull())
          .addColumn('labels', 'text', (column) => column.notNull())
          .addColumn('annotations', 'text', (column) => column.notNull())
          .addColumn('state', 'text', (column) => column.notNull())
          .addColumn('value', 'double precision')
          .addColumn('summary', 'text', (column) => column.notNull())
          .addColumn('trigger_ai_rca', 'integer', (column) => column.notNull())
          .addColumn('group_key', 'text', (column) => column.notNull())
          .addColumn('started_at', 'text', (column) => column.notNull())
          .addColumn('fired_at', 'text')
          .addColumn('resolved_at', 'text')
          .addColumn('updated_at', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('alerts_by_namespace_state')
          .on('alerts')
          .columns(['namespace', 'state'])
          .execute();
        await db.schema
          .createTable('alert_events')
          .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (column) =>
            dialect === 'postgres' ? column.primaryKey() : column.primaryKey().autoIncrement(),
          )
          .addColumn('fingerprint', 'text', (column) => column.notNull())
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('rule', 'text', (column) => column.notNull())
          .addColumn('state', 'text', (column) => column.notNull())
          .addColumn('at', 'text', (column) => column.notNull())
          .addColumn('value', 'double precision')
          .addColumn('message', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('alert_events_by_fingerprint')
          .on('alert_events')
          .columns(['fingerprint', 'at'])
          .execute();
        await db.schema
          .createIndex('alert_events_by_namespace')
          .on('alert_events')
          .columns(['namespace', 'at'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('alert_events').execute();
        await db.schema.dropTable('alerts').execute();
      },
    },
    '0003_governance': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('audit_events')
          .addColumn('seq', 'bigint', (column) => column.primaryKey())
          .addColumn('id', 'text', (column) => column.notNull().unique())
          .addColumn('at', 'text', (column) => column.notNull())
          .addColumn('principal', 'text', (column) => column.notNull())
          .addColumn('principal_kind', 'text', (column) => column.notNull())
          .addColumn('client', 'text', (column) => column.notNull())
          .addColumn('edge', 'text', (column) => column.notNull())
          .addColumn('action', 'text', (column) => column.notNull())
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('target', 'text', (column) => column.notNull())
          .addColumn('args_digest', 'text', (column) => column.notNull())
          .addColumn('decision', 'text', (column) => column.notNull())
          .addColumn('reasons', 'text', (column) => column.notNull())
          .addColumn('result', 'text', (column) => column.notNull())
          .addColumn('details', 'text', (column) => column.notNull())
          .addColumn('latency_ms', 'double precision', (column) => column.notNull())
          .addColumn('prev_hash', 'text', (column) => column.notNull())
          .addColumn('hash', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('audit_events_by_namespace')
          .on('audit_events')
          .columns(['namespace', 'seq'])
          .execute();
        await db.schema
          .createIndex('audit_events_by_principal')
          .on('audit_events')
          .columns(['principal', 'seq'])
          .execute();
        await db.schema
          .createTable('proposals')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('status', 'text', (column) => column.notNull())
          .addColumn('created_by', 'text', (column) => column.notNull())
          .addColumn('created_at', 'text', (column) => column.notNull())
          .addColumn('updated_at', 'text', (column) => column.notNull())
          .addColumn('version', 'integer', (column) => column.notNull())
          .addColumn('body', 'text', (column) => column.notNull())
          .execute();
        await db.schema.createIndex('proposals_by_status').on('proposals').columns(['status']).execute();
        await db.schema
          .createIndex('proposals_by_namespace')
          .on('proposals')
          .columns(['namespace', 'created_at'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('proposals').execute();
        await db.schema.dropTable('audit_events').execute();
      },
    },
    '0004_rca_reports': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('rca_reports')
          .addColumn('id', 'text', (column) => column.primaryKey())
          .addColumn('namespace', 'text', (column) => column.notNull())
          .addColumn('status', 'text', (column) => column.notNull())
          .addColumn('alert_fingerprint', 'text', (column) => column.notNull())
          .addColumn('group_key', 'text', (column) => column.notNull())
          .addColumn('created_at', 'text', (column) => column.notNull())
          .addColumn('updated_at', 'text', (column) => column.notNull())
          .addColumn('body', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('rca_reports_by_namespace')
          .on('rca_reports')
          .columns(['namespace', 'created_at'])
          .execute();
        await db.schema
          .createIndex('rca_reports_by_group')
          .on('rca_reports')
          .columns(['group_key', 'created_at'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        await db.schema.dropTable('rca_reports').execute();
      },
    },
    '0005_agent_bus': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('agent_bus_events')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (column) =>
            dialect === 'postgres' ? column.primaryKey() : column.primaryKey().autoIncrement(),
          )
          .addColumn('id', 'text', (column) => column.notNull().unique())
          .addColumn('topic', 'text', (column) => column.notNull())
          .addColumn('tenant', 'text', (column) => column.notNull())
          .addColumn('published_at', 'bigint', (column) => column.notNull())
          .addColumn('body', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('agent_bus_events_by_time')
          .on('agent_bus_events')
          .column('published_at')
          .execute();
        await db.schema
          .createTable('agent_bus_groups')
          .addColumn('group_name', 'text', (column) => column.notNull())
          .addColumn('topic', 'text', (column) => column.notNull())
          .addColumn('created_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('agent_bus_groups_pk', ['group_name', 'topic'])
          .execute();
        await db.schema
          .createIndex('agent_bus_groups_by_topic')
          .on('agent_bus_groups')
          .column('topic')
          .execute();
        await db.schema
          .createTable('agent_bus_deliveries')
          .addColumn('group_name', 'text', (column) => column.notNull())
          .addColumn('event_seq', 'bigint', (column) => column.notNull())
          .addColumn('topic', 'text', (column) => column.notNull())
          .addColumn('delivery_count', 'integer', (column) => column.notNull())
          .addColumn('available_at', 'bigint', (column) => column.notNull())
          .addColumn('consumer', 'text')
          .addPrimaryKeyConstraint('agent_bus_deliveries_pk', ['group_name', 'event_seq'])
          .execute();
        await db.schema
          .createIndex('agent_bus_deliveries_claimable')
          .on('agent_bus_deliveries')
          .columns(['group_name', 'available_at'])
          .execute();
        await db.schema
          .createTable('agent_bus_processed')
          .addColumn('group_name', 'text', (column) => column.notNull())
          .addColumn('event_id', 'text', (column) => column.notNull())
          .addColumn('processed_at', 'bigint', (column) => column.notNull())
          .addPrimaryKeyConstraint('agent_bus_processed_pk', ['group_name', 'event_id'])
          .execute();
        await db.schema
          .createIndex('agent_bus_processed_by_time')
          .on('agent_bus_processed')
          .column('processed_at')
          .execute();
        await db.schema
          .createTable('agent_bus_parked')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (column) =>
            dialect === 'postgres' ? column.primaryKey() : column.primaryKey().autoIncrement(),
          )
          .addColumn('group_name', 'text', (column) => column.notNull())
          .addColumn('event_id', 'text')
          .addColumn('topic', 'text', (column) => column.notNull())
          .addColumn('reason', 'text', (column) => column.notNull())
          .addColumn('delivery_count', 'integer', (column) => column.notNull())
          .addColumn('parked_at', 'bigint', (column) => column.notNull())
          .addColumn('body', 'text', (column) => column.notNull())
          .execute();
        await db.schema
          .createIndex('agent_bus_parked_by_group')
          .on('agent_bus_parked')
          .columns(['group_name', 'id'])
          .execute();
      },
      async down(db: Kysely<unknown>) {
        for (const table of [
          'agent_bus_parked',
          'agent_bus_processed',
          'agent_bus_deliveries',
          'agent_bus_groups',
          'agent_bus_events',
        ]) {
          await db.schema.dropTable(table).execute();
        }
      },
    },
  };
}

export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'opspilot_migrations',
    migrationLockTableName: 'opspilot_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new UnavailableError(`state database migration ${failed} failed: ${errorMessage(error)}`, {
      hint: 'The database may be newer than this opspilot, or unreachable. Check OPSPILOT_STATE_URL.',
      cause: error,
    });
  }
  return (results ?? [])
    .filter((result) => result.status === 'Success')
    .map((result) => result.migrationName);
}

export const latestMigration = Object.keys(migrations('sqlite')).sort().at(-1);
