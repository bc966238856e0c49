// The broker dies mid-run: a private redis-server / nats-server (never the machine's shared ones) is killed while
// an agent publishes and another handles, then started again on the same data. Publishing pauses while it is
// down; afterwards every event whose publish resolved is handled exactly once and nothing else is.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/core/errors.js';
import type { AgentBus } from '../../src/bus/ports.js';
import { natsSubject, observation, redisSubject, type BusSubject } from '../helpers/agent-buses.js';
import { waitFor } from '../helpers/wait-for.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

interface Broker {
  readonly url: string;
  start(): Promise<void>;
  /** SIGKILL: a crash, not a clean shutdown. */
  kill(): Promise<void>;
  dispose(): Promise<void>;
}

async function privateBroker(kind: 'redis' | 'nats'): Promise<Broker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `opspilot-${kind}-`));
  let child: ChildProcess | undefined;
  const broker: Broker = {
    url: kind === 'redis' ? `redis://127.0.0.1:${port}` : `nats://127.0.0.1:${port}`,
    async start() {
      child =
        kind === 'redis'
          ? // appendfsync always: a write Redis acknowledged is on disk, so a kill -9 loses nothing acknowledged.
            spawn(
              '/usr/bin/redis-server',
              [
                '--port',
                String(port),
                '--bind',
                '127.0.0.1',
                '--save',
                '',
                '--appendonly',
                'yes',
                '--appendfsync',
                'always',
                '--dir',
                dir,
              ],
              { stdio: 'ignore' },
            )
          : spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
              stdio: 'ignore',
            });
      await waitFor(() => portOpen(port), Boolean, { what: `${kind} listening on ${port}` });
    },
    async kill() {
      const running = child;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async dispose() {
      await broker.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

const subjects: [string, 'redis' | 'nats', (url: string) => () => Promise<BusSubject>][] = [
  ['redis', 'redis', redisSubject],
  ['nats', 'nats', natsSubject],
];

describe.each(subjects)('AgentBus on %s when the broker dies mid-run', (_name, kind, subjectFor) => {
  let broker: Broker | undefined;
  let subject: BusSubject | undefined;

  afterEach(async () => {
    await subject?.dispose().catch(() => undefined);
    await broker?.dispose();
  });

  it('pauses publishing while it is down and afterwards handles every published event exactly once', async () => {
    broker = await privateBroker(kind);
    subject = await subjectFor(broker.url)();
    const delivery = { ackTimeoutMs: 2000, retryDelayMs: 100, maxDeliveries: 5 };
    const publisher: AgentBus = await subject.open({ delivery });
    const agent: AgentBus = await subject.open({ delivery });

    // The "actions" an agent takes: how often each event's handler completed.
    const actions = new Map<string, number>();
    await agent.subscribe({ group: 'elastik', consumer: 'e1', topics: ['observation'] }, async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 40));
      actions.set(event.id, (actions.get(event.id) ?? 0) + 1);
    });

    const published: string[] = [];
    let refusals = 0;
    const total = 60;
    const killAt = 20;
    let restarted: Promise<void> | undefined;
    let backlogAtKill = 0;
    while (published.length < total) {
      if (published.length === killAt && restarted === undefined) {
        // Handlers are slower than publishing: the agent has a backlog, and likely an event in hand.
        backlogAtKill = published.filter((id) => !actions.has(id)).length;
        await broker.kill();
        const current = broker;
        restarted = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => current.start());
      }
      const event = observation({ id: randomUUID() });
      // An agent's publish loop: on UnavailableError it pauses and retries the same event (same id).
      for (;;) {
        try {
          await publisher.publish(event);
          published.push(event.id);
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(UnavailableError);
          refusals += 1;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    await restarted;

    await waitFor(
      () => published.filter((id) => !actions.has(id)).length,
      (missing) => missing === 0,
      { what: 'every published event handled', timeoutMs: 30_000 },
    );
    // Long enough for any redelivery of an unacknowledged event to show up as a second action.
    await new Promise((resolve) => setTimeout(resolve, delivery.ackTimeoutMs + 1000));
    // The outage really was mid-run: publishes were refused and the agent had events to get through.
    expect(refusals).toBeGreaterThan(0);
    expect(backlogAtKill).toBeGreaterThan(0);
    expect([...actions.keys()].sort()).toEqual([...published].sort());
    expect([...actions.values()].filter((count) => count !== 1)).toEqual([]);
    expect(await agent.parked('elastik')).toEqual([]);
  });
});
