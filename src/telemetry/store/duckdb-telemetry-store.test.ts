import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { logBatch } from '../../../test/helpers/telemetry-batches.js';
import { DuckDbTelemetryStore } from './duckdb-telemetry-store.js';
import { toStoreBatch } from './store-batch.js';

const workspaces: string[] = [];

afterEach(() => {
  for (const workspace of workspaces.splice(0)) rmSync(workspace, { recursive: true, force: true });
});

describe('DuckDbTelemetryStore commits', () => {
  it('keeps nothing of a commit that fails after some tables were written, and goes on afterwards', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'opspilot-duckdb-'));
    workspaces.push(workspace);
    const path = join(workspace, 'telemetry.duckdb');
    // A logs table that refuses one body, made before the store opens (it keeps an existing table): the logs
    // then fail after the new resource's row was written in the same commit.
    const setup = await DuckDBInstance.create(path);
    const connection = await setup.connect();
    await connection.run(
      `CREATE TABLE logs (ts TIMESTAMP NOT NULL, resource_id INTEGER NOT NULL, severity_number UTINYINT NOT NULL,
         severity_text VARCHAR, body VARCHAR NOT NULL CHECK (body <> 'poison'), trace_id VARCHAR, span_id VARCHAR,
         attributes VARCHAR, scope VARCHAR, event_name VARCHAR, template_key VARCHAR)`,
    );
    connection.closeSync();
    setup.closeSync();

    const store = await DuckDbTelemetryStore.open({ path });
    store.append(toStoreBatch(logBatch(['poison'])));
    await expect(store.commit()).rejects.toThrow(/CHECK constraint/);
    expect(await store.query('SELECT count(*)::INTEGER AS n FROM resources')).toEqual([{ n: 0 }]);
    expect(store.allResources()).toEqual([]);

    // The same service again: no duplicate resource, nothing left over from the failed group.
    store.append(toStoreBatch(logBatch(['fine'])));
    expect(await store.commit()).toEqual([expect.objectContaining({ service: 'cart' })]);
    expect(await store.query('SELECT body FROM logs')).toEqual([{ body: 'fine' }]);
    expect(await store.query('SELECT count(*)::INTEGER AS n FROM resources')).toEqual([{ n: 1 }]);
    await store.close();
  });
});
