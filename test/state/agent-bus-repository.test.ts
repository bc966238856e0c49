// The embedded agent bus's tables on SQLite and PostgreSQL: claims that never overlap, and pruning that keeps
// what a group still has to handle.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentBusRepository } from '../../src/state/ports.js';
import { stateStores, type TestStore } from '../helpers/state-stores.js';

describe.each(stateStores)('AgentBusRepository on %s', (_name, open) => {
  let subject: TestStore;
  let repository: AgentBusRepository;

  beforeEach(async () => {
    subject = await open();
    repository = subject.store.agentBus;
  });
  afterEach(async () => {
    await subject.dispose();
  });

  const append = (id: string, publishedAt = 1000) =>
    repository.append({ id, topic: 'observation', tenant: 'shop', publishedAt, body: `{"id":"${id}"}` });

  it('hands each due delivery to one of several concurrent claimers, never more than asked', async () => {
    await repository.ensureGroup('elastik', 'observation', 0);
    for (let index = 0; index < 20; index += 1) await append(`e${index}`);
    const claims = await Promise.all(
      [1, 2, 3, 4].map((consumer) =>
        repository.claim({
          group: 'elastik',
          consumer: `c${consumer}`,
          topics: ['observation'],
          now: 2000,
          leaseUntil: 9000,
          limit: 5,
        }),
      ),
    );
    for (const claim of claims) expect(claim.length).toBeLessThanOrEqual(5);
    const seqs = claims.flat().map((claim) => claim.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Leased until 9000: nothing is due again before then, everything after.
    const again = {
      group: 'elastik',
      consumer: 'c5',
      topics: ['observation'],
      leaseUntil: 20_000,
      limit: 50,
    };
    const early = await repository.claim({ ...again, now: 8999 });
    expect(early.length + seqs.length).toBe(20);
    const late = await repository.claim({ ...again, now: 9000 });
    expect(late.map((claim) => claim.deliveryCount)).toEqual(seqs.map(() => 2));
  });

  it('queues an event only for the groups of its topic that existed when it was published, once per id', async () => {
    await repository.ensureGroup('a', 'observation', 0);
    await repository.ensureGroup('b', 'proposal', 0);
    expect(await append('first')).toBe(true);
    expect(await append('first')).toBe(false);
    await repository.ensureGroup('c', 'observation', 0);
    const claim = (group: string) =>
      repository.claim({
        group,
        consumer: 'x',
        topics: ['observation'],
        now: 5000,
        leaseUntil: 6000,
        limit: 10,
      });
    expect((await claim('a')).map((row) => row.body)).toEqual(['{"id":"first"}']);
    expect(await claim('b')).toEqual([]);
    expect(await claim('c')).toEqual([]);
  });

  it('prunes handled ids and old events, keeping events a group has not acknowledged', async () => {
    await repository.ensureGroup('g', 'observation', 0);
    await append('done', 1000);
    await append('pending', 1000);
    await append('recent', 5000);
    const [done] = await repository.claim({
      group: 'g',
      consumer: 'x',
      topics: ['observation'],
      now: 6000,
      leaseUntil: 7000,
      limit: 1,
    });
    expect(done?.body).toBe('{"id":"done"}');
    await repository.complete('g', done?.seq ?? -1, 'done', 1500);
    expect(await repository.isProcessed('g', 'done')).toBe(true);

    expect(await repository.prune(2000, 2000)).toEqual({ processed: 1, events: 1 });
    expect(await repository.isProcessed('g', 'done')).toBe(false);
    const rest = await repository.claim({
      group: 'g',
      consumer: 'x',
      topics: ['observation'],
      now: 8000,
      leaseUntil: 9000,
      limit: 10,
    });
    expect(rest.map((row) => row.body)).toEqual(['{"id":"pending"}', '{"id":"recent"}']);
  });
});
