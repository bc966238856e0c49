// Real state stores for tests: a SQLite file in a temporary folder, and a fresh PostgreSQL database on the
// machine's server (OPSPILOT_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStateStore } from '../../src/state/kysely-state-store.js';
import type { StateStore } from '../../src/state/ports.js';

export interface TestStore {
  readonly store: StateStore;
  readonly url: string | undefined;
  readonly dataDir: string;
  dispose(): Promise<void>;
}

export const postgresAdminUrl =
  process.env.OPSPILOT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function sqliteStore(): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'opspilot-state-'));
  const store = await openStateStore({ url: undefined, dataDir });
  return {
    store,
    url: undefined,
    dataDir,
    async dispose() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates an empty database; returns its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `opspilot_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresAdminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresAdminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function postgresStore(): Promise<TestStore> {
  const database = await createPostgresDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'opspilot-state-'));
  const store = await openStateStore({ url: database.url, dataDir });
  return {
    store,
    url: database.url,
    dataDir,
    async dispose() {
      await store.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const stateStores: readonly [string, () => Promise<TestStore>][] = [
  ['sqlite', sqliteStore],
  ['postgres', postgresStore],
];
