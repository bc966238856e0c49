// Real agent buses for the contract suite: embedded over a SQLite file and a fresh PostgreSQL database, Redis
// Streams on the machine's server (a unique key prefix per test) and NATS JetStream on the machine's server
// (unique stream names per test). `open` may be called several times: each bus is one "process".
import { randomBytes, randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { EmbeddedAgentBus } from '../../src/bus/embedded-bus.js';
import { NatsAgentBus } from '../../src/bus/nats-bus.js';
import { RedisAgentBus } from '../../src/bus/redis-bus.js';
import type { AgentEventInput } from '../../src/bus/events.js';
import type { AgentBus, BusErrorReporter, DeliveryOptions } from '../../src/bus/ports.js';
import type { ConsumerSpec } from '../fixtures/agent-bus-consumer.js';
import { postgresStore, sqliteStore, type TestStore } from './state-stores.js';

export const redisTestUrl = process.env.OPSPILOT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const natsTestUrl = process.env.OPSPILOT_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface BusOpenOptions {
  readonly delivery?: Partial<DeliveryOptions>;
  readonly report?: BusErrorReporter;
}

export interface BusSubject {
  open(options?: BusOpenOptions): Promise<AgentBus>;
  /** Puts a message on a topic behind the bus's back, as a broken or hostile publisher could. */
  injectRaw(topic: string, body: string): Promise<void>;
  /** How another process opens this same bus (test/fixtures/agent-bus-consumer.ts). */
  readonly processSpec: Omit<ConsumerSpec, 'ackTimeoutMs'>;
  dispose(): Promise<void>;
}

const suffix = () => randomBytes(5).toString('hex');

function embeddedSubject(open: () => Promise<TestStore>): () => Promise<BusSubject> {
  return async () => {
    const subject = await open();
    const buses: AgentBus[] = [];
    return {
      processSpec: { kind: 'embedded', stateUrl: subject.url, dataDir: subject.dataDir },
      open(options = {}) {
        const bus = new EmbeddedAgentBus({
          repository: subject.store.agentBus,
          pollIntervalMs: 50,
          ...options,
        });
        buses.push(bus);
        return Promise.resolve(bus);
      },
      async injectRaw(topic, body) {
        await subject.store.agentBus.append({
          id: `raw-${suffix()}`,
          topic,
          tenant: 'shop',
          publishedAt: Date.now(),
          body,
        });
      },
      async dispose() {
        for (const bus of buses) await bus.close();
        await subject.dispose();
      },
    };
  };
}

export function redisSubject(url: string = redisTestUrl): () => Promise<BusSubject> {
  return () => {
    const prefix = `opspilot-test-${suffix()}`;
    const buses: AgentBus[] = [];
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    return Promise.resolve({
      processSpec: { kind: 'redis', url, prefix },
      async open(options = {}) {
        const bus = await RedisAgentBus.connect({ url, prefix, ...options });
        buses.push(bus);
        return bus;
      },
      async injectRaw(topic, body) {
        await admin.xadd(RedisAgentBus.streamKey(prefix, topic), '*', 'id', `raw-${suffix()}`, 'body', body);
      },
      async dispose() {
        for (const bus of buses) await bus.close();
        const keys = await admin.keys(`${prefix}:*`);
        if (keys.length > 0) await admin.del(...keys);
        admin.disconnect();
      },
    });
  };
}

export function natsSubject(url: string = natsTestUrl): () => Promise<BusSubject> {
  return () => {
    const stream = `OPSPILOT_TEST_${suffix().toUpperCase()}`;
    const buses: AgentBus[] = [];
    return Promise.resolve({
      processSpec: { kind: 'nats', url, stream },
      async open(options = {}) {
        const bus = await NatsAgentBus.connect({ url, stream, ...options });
        buses.push(bus);
        return bus;
      },
      async injectRaw(topic, body) {
        const connection = await connect({ servers: url });
        try {
          await jetstream(connection).publish(NatsAgentBus.subject(stream, topic), body);
        } finally {
          await connection.close();
        }
      },
      async dispose() {
        for (const bus of buses) await bus.close();
        const connection = await connect({ servers: url });
        try {
          const manager = await jetstreamManager(connection);
          for (const name of NatsAgentBus.streamNames(stream)) {
            await manager.streams.delete(name).catch(() => false);
          }
        } finally {
          await connection.close();
        }
      },
    });
  };
}

export const agentBusSubjects: readonly [string, () => Promise<BusSubject>][] = [
  ['embedded/sqlite', embeddedSubject(sqliteStore)],
  ['embedded/postgres', embeddedSubject(postgresStore)],
  ['redis', redisSubject()],
  ['nats', natsSubject()],
];

/** A valid observation event; fields may be overridden. */
export function observation(overrides: Partial<AgentEventInput> = {}): AgentEventInput {
  return {
    id: randomUUID(),
    topic: 'observation',
    causationId: null,
    tenant: 'shop',
    source: 'watchtower',
    occurredAt: new Date().toISOString(),
    payload: {
      component: 'api',
      environment: 'production',
      severity: 'critical',
      summary: 'p99 latency 4x its usual range while memory climbs',
      signals: [{ name: 'latency_p99', value: 1.9, unit: 's', baseline: 0.45 }],
    },
    ...overrides,
  } as AgentEventInput;
}
