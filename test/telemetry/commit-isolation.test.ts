// Group commit against the real threaded DuckDB store when one writer's batch cannot be stored: only that writer
// fails; the others that shared its commit are committed and acknowledged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidError } from '../../src/core/errors.js';
import { IngestPipeline } from '../../src/telemetry/ingest/ingest-pipeline.js';
import { ThreadedTelemetryStore } from '../../src/telemetry/store/threaded-telemetry-store.js';
import { logBatch } from '../helpers/telemetry-batches.js';

const workspaces: string[] = [];

afterEach(() => {
  for (const workspace of workspaces.splice(0)) rmSync(workspace, { recursive: true, force: true });
});

async function open(): Promise<ThreadedTelemetryStore> {
  const workspace = mkdtempSync(join(tmpdir(), 'opspilot-isolation-'));
  workspaces.push(workspace);
  return ThreadedTelemetryStore.open({ path: join(workspace, 'telemetry.duckdb') });
}

describe('IngestPipeline over the DuckDB store', () => {
  it('fails only the writer whose batch the store refuses; the rest of its commit group is stored', async () => {
    const store = await open();
    const failures: unknown[] = [];
    const pipeline = new IngestPipeline({
      writer: store,
      flushIntervalMs: 50, // all the writes below share one commit
      maxBatchRecords: 10_000,
      maxPendingRecords: 10_000,
      onError: (error) => failures.push(error),
    });
    const good = (index: number) =>
      logBatch([`request ${index} line 1`, `request ${index} line 2`], {
        resource: { 'service.name': 'cart', 'opspilot.namespace': 'tenant-b' },
      });
    // A batch no decoder makes (they validate timestamps), so only the store can refuse it: no timestamp is NaN.
    const poisoned = logBatch(['cannot be stored'], {
      resource: { 'service.name': 'checkout', 'opspilot.namespace': 'tenant-a' },
      timeUs: Number.NaN,
    });
    const writes = [
      pipeline.write(poisoned),
      ...Array.from({ length: 20 }, (_, index) => pipeline.write(good(index))),
    ];
    const results = await Promise.allSettled(writes);
    expect(results.slice(1).map((result) => result.status)).toEqual(
      Array.from({ length: 20 }, () => 'fulfilled'),
    );
    const [refused] = results;
    expect(refused?.status).toBe('rejected');
    if (refused?.status === 'rejected') {
      expect(refused.reason).toBeInstanceOf(InvalidError);
      expect((refused.reason as Error).message).toMatch(/the telemetry store refused the batch/);
    }
    expect(failures).toHaveLength(2); // the shared commit, then the poisoned batch's own
    const rows = await store.query<{ service: string; n: number }>(
      'SELECT r.service, count(*)::INTEGER AS n FROM logs JOIN resources r ON r.id = resource_id GROUP BY r.service',
    );
    expect(rows).toEqual([{ service: 'cart', n: 40 }]);
    expect(pipeline.stats()).toMatchObject({ pendingRecords: 0 });
    await pipeline.close();
    await store.close();
  });

  it('fails every writer when the store itself is down', async () => {
    const store = await open();
    const pipeline = new IngestPipeline({
      writer: store,
      flushIntervalMs: 50,
      maxBatchRecords: 10_000,
      maxPendingRecords: 10_000,
    });
    const writes = [pipeline.write(logBatch(['one'])), pipeline.write(logBatch(['two']))];
    await store.close();
    const results = await Promise.allSettled(writes);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as Error).message).toMatch(/closed/);
    }
  });
});
