// One contract for the StateStore port, run against SQLite and PostgreSQL alike.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/core/errors.js';
import { openStateStore } from '../../src/state/kysely-state-store.js';
import type { ResourceRecord, StateStore } from '../../src/state/ports.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';

function record(overrides: Partial<ResourceRecord> = {}): ResourceRecord {
  return {
    uid: `uid-${Math.random().toString(36).slice(2)}`,
    kind: 'Component',
    namespace: 'default',
    name: 'echo',
    project: 'shop',
    component: 'echo',
    environment: null,
    labels: { team: 'a' },
    annotations: {},
    spec: { run: { command: 'node', args: ['server.js'] }, nested: [1, { deep: true }] },
    status: null,
    generation: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe.each(stateStores)('StateStore contract on %s', (_name, open) => {
  let subject: TestStore;
  let store: StateStore;

  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  });
  afterEach(async () => {
    await subject.dispose();
  });

  it('stores and reads resources exactly', async () => {
    const echo = record();
    await store.resources.insert(echo);
    expect(await store.resources.get(echo)).toEqual(echo);
    expect(
      await store.resources.get({ kind: 'Component', namespace: 'other', name: 'echo' }),
    ).toBeUndefined();
  });

  it('refuses a duplicate key with a conflict', async () => {
    await store.resources.insert(record());
    await expect(store.resources.insert(record())).rejects.toBeInstanceOf(ConflictError);
  });

  it('lists by kind, namespace and indexed references, ordered by namespace then name', async () => {
    await store.resources.insert(record({ name: 'b', component: 'b' }));
    await store.resources.insert(record({ name: 'a', component: 'a', namespace: 'z' }));
    await store.resources.insert(record({ name: 'a', component: 'a' }));
    await store.resources.insert(record({ kind: 'Release', name: 'a-1', component: 'a' }));
    const all = await store.resources.list({ kind: 'Component' });
    expect(all.map((item) => `${item.namespace}/${item.name}`)).toEqual(['default/a', 'default/b', 'z/a']);
    const inDefault = await store.resources.list({ kind: 'Component', namespace: 'default' });
    expect(inDefault.map((item) => item.name)).toEqual(['a', 'b']);
    const releases = await store.resources.list({ kind: 'Release', component: 'a' });
    expect(releases.map((item) => item.name)).toEqual(['a-1']);
  });

  it('updates with optimistic concurrency', async () => {
    const echo = record();
    await store.resources.insert(echo);
    const next = { ...echo, spec: { changed: true }, generation: 2, updatedAt: '2026-01-02T00:00:00.000Z' };
    await store.resources.update(next, 1);
    expect((await store.resources.get(echo))?.spec).toEqual({ changed: true });
    await expect(store.resources.update({ ...next, generation: 3 }, 1)).rejects.toBeInstanceOf(ConflictError);
  });

  it('leaves the status alone on update, so a stale copy cannot overwrite it', async () => {
    const echo = record({ status: { latestRevision: 1 } });
    await store.resources.insert(echo);
    await store.resources.setStatus(echo, { latestRevision: 2 }, '2026-01-02T00:00:00.000Z');
    await store.resources.update({ ...echo, labels: { team: 'b' }, generation: 2 }, 1); // carries the stale status
    const read = await store.resources.get(echo);
    expect(read?.status).toEqual({ latestRevision: 2 });
    expect(read?.labels).toEqual({ team: 'b' });
  });

  it('serialises read-modify-write through a row locked for update', async () => {
    const counter = record({ status: { count: 0 } });
    await store.resources.insert(counter);
    const increment = (holdMs: number) =>
      store.transaction(async (tx) => {
        const current = await tx.resources.get(counter, { forUpdate: true });
        const count = (current?.status as { count: number }).count;
        await new Promise((resolve) => setTimeout(resolve, holdMs));
        await tx.resources.setStatus(counter, { count: count + 1 }, '2026-01-02T00:00:00.000Z');
      });
    const first = increment(150);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await Promise.all([first, increment(0)]);
    expect((await store.resources.get(counter))?.status).toEqual({ count: 2 });
  });

  it('writes status without touching the generation, and deletes', async () => {
    const echo = record();
    await store.resources.insert(echo);
    expect(
      await store.resources.setStatus(echo, { latestRelease: 'echo-1' }, '2026-01-03T00:00:00.000Z'),
    ).toBe(true);
    const read = await store.resources.get(echo);
    expect(read?.status).toEqual({ latestRelease: 'echo-1' });
    expect(read?.generation).toBe(1);
    expect(await store.resources.delete(echo)).toBe(true);
    expect(await store.resources.delete(echo)).toBe(false);
    expect(await store.resources.setStatus(echo, {}, '2026-01-03T00:00:00.000Z')).toBe(false);
  });

  it('commits a transaction as a whole or not at all', async () => {
    await store.transaction(async (tx) => {
      await tx.resources.insert(record({ name: 'one' }));
      await tx.resources.insert(record({ name: 'two' }));
    });
    await expect(
      store.transaction(async (tx) => {
        await tx.resources.insert(record({ name: 'three' }));
        await tx.events.record({
          namespace: 'default',
          objectKind: 'Component',
          objectName: 'three',
          type: 'Normal',
          reason: 'Created',
          message: 'x',
          timestamp: '2026-01-01T00:00:00.000Z',
        });
        await tx.resources.insert(record({ name: 'one' })); // conflict: rolls back three and the event
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    const names = (await store.resources.list({ kind: 'Component' })).map((item) => item.name);
    expect(names).toEqual(['one', 'two']);
    expect(await store.events.list({})).toEqual([]);
  });

  it('records events newest first, folds repeats and filters', async () => {
    const base = {
      namespace: 'default',
      objectKind: 'ReleaseBinding',
      objectName: 'echo-dev',
      component: 'echo',
      environment: 'dev',
      replica: 'echo-dev-abcde',
      type: 'Warning' as const,
      reason: 'BackOff',
      message: 'Back-off 1s restarting failed replica',
    };
    await store.events.record({ ...base, timestamp: '2026-01-01T00:00:00.000Z' });
    await store.events.record({ ...base, timestamp: '2026-01-01T00:00:05.000Z' });
    await store.events.record({
      ...base,
      reason: 'Started',
      type: 'Normal',
      message: 'Started',
      timestamp: '2026-01-01T00:00:06.000Z',
    });
    await store.events.record({
      ...base,
      component: 'other',
      objectName: 'other-dev',
      timestamp: '2026-01-01T00:00:07.000Z',
    });
    const echo = await store.events.list({ namespace: 'default', component: 'echo' });
    expect(echo.map((event) => [event.reason, event.count])).toEqual([
      ['Started', 1],
      ['BackOff', 2],
    ]);
    expect(echo[1]?.firstTimestamp).toBe('2026-01-01T00:00:00.000Z');
    expect(echo[1]?.lastTimestamp).toBe('2026-01-01T00:00:05.000Z');
    expect(await store.events.list({ reason: 'BackOff', limit: 1 })).toHaveLength(1);
    expect(await store.events.list({ since: '2026-01-01T00:00:06.500Z' })).toHaveLength(1);
    expect(await store.events.prune('2026-01-01T00:00:06.000Z')).toBe(1);
  });

  it('appends and pages workflow logs in order', async () => {
    const lines = Array.from({ length: 1200 }, (_, index) => ({
      runUid: 'run-1',
      sequence: index,
      timestamp: '2026-01-01T00:00:00.000Z',
      step: 'build',
      stream: 'stdout' as const,
      line: `line ${index}`,
    }));
    await store.workflowLogs.append(lines);
    const page = await store.workflowLogs.list('run-1', { afterSequence: 999, limit: 50 });
    expect(page.map((line) => line.sequence)).toEqual(Array.from({ length: 50 }, (_, index) => 1000 + index));
    expect(await store.workflowLogs.list('run-1')).toHaveLength(1200);
    await store.workflowLogs.deleteRun('run-1');
    expect(await store.workflowLogs.list('run-1')).toEqual([]);
  });

  it('upserts alerts and keeps their state changes', async () => {
    const alert = {
      fingerprint: 'fp-1',
      source: 'opspilot',
      rule: 'AlertRule/high-errors',
      namespace: 'shop',
      component: 'cart',
      environment: 'prod',
      severity: 'critical',
      labels: { alertname: 'high-errors' },
      annotations: { summary: 'x' },
      state: 'pending' as const,
      value: 0.25,
      summary: 'error rate 0.25',
      triggerAiRca: true,
      groupKey: 'shop/prod',
      startedAt: '2026-01-01T00:00:00.000Z',
      firedAt: null,
      resolvedAt: null,
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    await store.alerts.upsert(alert);
    await store.alerts.upsert({
      ...alert,
      state: 'firing',
      firedAt: '2026-01-01T00:01:00.000Z',
      updatedAt: '2026-01-01T00:01:00.000Z',
    });
    expect(await store.alerts.get('fp-1')).toEqual({
      ...alert,
      state: 'firing',
      firedAt: '2026-01-01T00:01:00.000Z',
      updatedAt: '2026-01-01T00:01:00.000Z',
    });
    expect(await store.alerts.list({ namespace: 'shop', state: 'firing' })).toHaveLength(1);
    expect(await store.alerts.list({ state: 'resolved' })).toEqual([]);
    for (const [state, at] of [
      ['pending', '00:00'],
      ['firing', '00:01'],
    ] as const) {
      await store.alerts.appendEvent({
        fingerprint: 'fp-1',
        namespace: 'shop',
        rule: alert.rule,
        state,
        at: `2026-01-01T${at}:00.000Z`,
        value: 0.25,
        message: state,
      });
    }
    expect((await store.alerts.events({ fingerprint: 'fp-1' })).map((event) => event.state)).toEqual([
      'firing',
      'pending',
    ]);
    expect(await store.alerts.events({ namespace: 'other' })).toEqual([]);
  });

  it('migrates idempotently when opened again', async () => {
    await store.resources.insert(record());
    const again = await openStateStore({ url: subject.url, dataDir: subject.dataDir });
    try {
      expect(await again.resources.list({ kind: 'Component' })).toHaveLength(1);
    } finally {
      await again.close();
    }
  });
});
