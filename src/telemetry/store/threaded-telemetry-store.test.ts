import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { logBatch } from '../../../test/helpers/telemetry-batches.js';
import type { TelemetryBatch } from '../model.js';
import { ThreadedTelemetryStore } from './threaded-telemetry-store.js';

const workspaces: string[] = [];

afterEach(() => {
  for (const workspace of workspaces.splice(0)) rmSync(workspace, { recursive: true, force: true });
});

/** Error lines of one service of namespace shop. */
function logs(service: string, bodies: readonly string[], timeUs = Date.now() * 1000): TelemetryBatch {
  return logBatch(bodies, {
    resource: { 'service.name': service, 'opspilot.namespace': 'shop' },
    timeUs,
    severityNumber: 17,
    severityText: 'ERROR',
    attributes: { attempt: 3 },
  });
}

async function open(): Promise<{ store: ThreadedTelemetryStore; path: string }> {
  const workspace = mkdtempSync(join(tmpdir(), 'opspilot-store-'));
  workspaces.push(workspace);
  const path = join(workspace, 'telemetry.duckdb');
  return { store: await ThreadedTelemetryStore.open({ path }), path };
}

describe('ThreadedTelemetryStore', () => {
  it('makes appended rows visible at commit, with their resources known on this thread', async () => {
    const { store } = await open();
    store.append(logs('cart', ['payment declined for order 17']));
    expect(await store.query('SELECT count(*)::INTEGER AS n FROM logs')).toEqual([{ n: 0 }]);
    await store.commit();
    const rows = await store.query<{ resource_id: number; template_key: string; attributes: string }>(
      'SELECT resource_id, template_key, attributes FROM logs',
    );
    expect(rows).toEqual([
      { resource_id: 1, template_key: 'payment declined for order <*>', attributes: '{"attempt":3}' },
    ]);
    expect(store.resource(1)).toMatchObject({ service: 'cart', namespace: 'shop', component: 'cart' });
    await store.close();
  });

  it('drops the whole group when an append fails, and goes on with the next one', async () => {
    const { store } = await open();
    store.append(logs('cart', ['kept before']));
    await store.commit();
    store.append(logs('cart', ['lost with its group']));
    store.append(logs('checkout', ['cannot be stored'], Number.NaN)); // no timestamp can hold NaN
    await expect(store.commit()).rejects.toThrow();
    expect(store.allResources().map((resource) => resource.service)).toEqual(['cart']);
    store.append(logs('checkout', ['stored after the failure']));
    await store.commit();
    const bodies = await store.query<{ body: string }>('SELECT body FROM logs ORDER BY body');
    expect(bodies.map((row) => row.body)).toEqual(['kept before', 'stored after the failure']);
    expect(
      store
        .allResources()
        .map((resource) => resource.service)
        .sort(),
    ).toEqual(['cart', 'checkout']);
    await store.close();
  });

  it('reopens with what was committed, and refuses work once closed', async () => {
    const { store, path } = await open();
    store.append(logs('cart', ['one', 'two']));
    await store.commit();
    await store.close();
    await expect(store.query('SELECT 1')).rejects.toThrow(/exited|closed/);
    expect(() => {
      store.append(logs('cart', ['three']));
    }).toThrow();

    const reopened = await ThreadedTelemetryStore.open({ path });
    expect(await reopened.query('SELECT count(*)::INTEGER AS n FROM logs')).toEqual([{ n: 2 }]);
    expect(reopened.resource(1)?.service).toBe('cart');
    await reopened.close();
  });
});
