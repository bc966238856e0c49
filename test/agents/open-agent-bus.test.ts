// The factory picks the adapter from `agents.bus` and says clearly what is missing or unreachable.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidError, UnavailableError } from '../../src/core/errors.js';
import { openAgentBus } from '../../src/bus/open-agent-bus.js';
import { observation } from '../helpers/agent-buses.js';
import { sqliteStore, type TestStore } from '../helpers/state-stores.js';
import { waitFor } from '../helpers/wait-for.js';

/** A port nothing listens on (taken, then released). */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 1);
      });
    });
  });
}

describe('openAgentBus', () => {
  let subject: TestStore | undefined;
  afterEach(async () => {
    await subject?.dispose();
  });

  it('opens the embedded bus over the state store by default', async () => {
    subject = await sqliteStore();
    const bus = await openAgentBus({ kind: 'embedded', url: undefined }, { store: subject.store });
    expect(bus.kind).toBe('embedded');
    const seen: string[] = [];
    await bus.subscribe({ group: 'g', consumer: 'c', topics: ['observation'] }, (event) => {
      seen.push(event.id);
      return Promise.resolve();
    });
    const event = await bus.publish(observation());
    await waitFor(
      () => seen,
      (ids) => ids.length === 1,
      { what: 'the event' },
    );
    expect(seen).toEqual([event.id]);
    await bus.close();
  });

  it('refuses the embedded bus without a state store', async () => {
    await expect(openAgentBus({ kind: 'embedded', url: undefined })).rejects.toBeInstanceOf(InvalidError);
  });

  it('rejects with UnavailableError when the Redis or NATS broker cannot be reached', async () => {
    const port = await deadPort();
    await expect(openAgentBus({ kind: 'redis', url: `redis://127.0.0.1:${port}` })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    await expect(openAgentBus({ kind: 'nats', url: `nats://127.0.0.1:${port}` })).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});
