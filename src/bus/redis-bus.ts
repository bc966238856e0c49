// The agent bus on Redis Streams: one stream per topic, one Redis consumer group per bus group and topic.
// XREADGROUP hands out new entries, XAUTOCLAIM takes back entries left unacknowledged past the ack timeout, and
// the group's handled ids live in a sorted set next to the streams, written in the same MULTI as the XACK.
import { Redis } from 'ioredis';
import { sleep } from '../core/clock.js';
import { UnavailableError, errorMessage } from '../core/errors.js';
import { DeliveryRunner, checkSubscribeOptions, type ReceivedMessage } from './delivery.js';
import { encodeEvent, type AgentEvent, type AgentEventInput, type AgentTopic } from './events.js';
import {
  defaultDeliveryOptions,
  type AgentBus,
  type AgentEventHandler,
  type BusErrorReporter,
  type DeliveryOptions,
  type ParkedEvent,
  type SubscribeOptions,
  type Subscription,
} from './ports.js';

export interface RedisAgentBusOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Prefix of every key this bus uses. */
  readonly prefix?: string;
  /**
   * Approximate length each topic's stream is trimmed to (XADD MAXLEN ~). An entry trimmed before a slow group
   * read it is lost to that group and recorded as parked; size it well above the backlog a group may build.
   */
  readonly maxLength?: number;
  readonly delivery?: Partial<DeliveryOptions>;
  /** Longest a consumer's read blocks; also how often it looks for entries to take back. */
  readonly blockMs?: number;
  readonly report?: BusErrorReporter;
}

const pruneIntervalMs = 60_000;

export class RedisAgentBus implements AgentBus {
  readonly kind = 'redis' as const;
  private readonly subscriptions = new Set<RedisSubscription>();
  private closed = false;

  private constructor(
    private readonly redis: Redis,
    private readonly settings: {
      readonly url: string;
      readonly prefix: string;
      readonly maxLength: number;
      readonly blockMs: number;
      readonly delivery: DeliveryOptions;
      readonly report: BusErrorReporter;
    },
  ) {}

  /** Connects; rejects with UnavailableError when Redis cannot be reached now. */
  static async connect(options: RedisAgentBusOptions): Promise<RedisAgentBus> {
    const report = options.report ?? (() => undefined);
    const redis = openConnection(options.url, report);
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw unavailable('cannot connect', error);
    }
    return new RedisAgentBus(redis, {
      url: options.url,
      prefix: options.prefix ?? 'opspilot:agents',
      maxLength: options.maxLength ?? 100_000,
      blockMs: options.blockMs ?? 500,
      delivery: { ...defaultDeliveryOptions, ...options.delivery },
      report,
    });
  }

  static streamKey(prefix: string, topic: string): string {
    return `${prefix}:topic:${topic}`;
  }

  async publish(input: AgentEventInput): Promise<AgentEvent> {
    if (this.closed) throw new UnavailableError('the agent bus is closed');
    const { event, body } = encodeEvent(input);
    try {
      await this.redis.xadd(
        RedisAgentBus.streamKey(this.settings.prefix, event.topic),
        'MAXLEN',
        '~',
        String(this.settings.maxLength),
        '*',
        'id',
        event.id,
        'body',
        body,
      );
    } catch (error) {
      throw unavailable('cannot store the event', error);
    }
    return event;
  }

  async subscribe(options: SubscribeOptions, handler: AgentEventHandler): Promise<Subscription> {
    if (this.closed) throw new UnavailableError('the agent bus is closed');
    const topics = checkSubscribeOptions(options);
    const reader = openConnection(this.settings.url, this.settings.report);
    try {
      await reader.connect();
      await ensureGroups(reader, this.settings.prefix, options.group, topics);
    } catch (error) {
      reader.disconnect();
      throw unavailable('cannot subscribe', error);
    }
    const subscription = new RedisSubscription(
      { ...options, topics },
      handler,
      this.redis,
      reader,
      this.settings,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async parked(group: string, options: { limit?: number } = {}): Promise<ParkedEvent[]> {
    const entries = await this.redis.xrange(
      parkedKey(this.settings.prefix, group),
      '-',
      '+',
      'COUNT',
      options.limit ?? 100,
    );
    return entries.map(([, fields]) => {
      const field = fieldReader(fields);
      return {
        group,
        topic: field('topic'),
        eventId: field('eventId') === '' ? null : field('eventId'),
        reason: field('reason'),
        deliveryCount: Number(field('deliveryCount')),
        parkedAt: field('parkedAt'),
        body: field('body'),
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.redis.quit().catch(() => {
      this.redis.disconnect();
    });
  }
}

/**
 * Commands fail at once while disconnected (no offline queue, no resending of unanswered commands), so that a
 * publish never resolves on a write Redis did not take, and never repeats one behind the caller's back.
 * ioredis reconnects in the background.
 */
function openConnection(url: string, report: BusErrorReporter): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  redis.on('error', (error: unknown) => {
    report(error, 'redis connection');
  });
  return redis;
}

async function ensureGroups(
  redis: Redis,
  prefix: string,
  group: string,
  topics: readonly AgentTopic[],
): Promise<void> {
  for (const topic of topics) {
    try {
      // `$`: a new group starts with the entries published from now on, like the other adapters.
      await redis.xgroup('CREATE', RedisAgentBus.streamKey(prefix, topic), group, '$', 'MKSTREAM');
    } catch (error) {
      if (!errorMessage(error).includes('BUSYGROUP')) throw error;
    }
  }
}

const parkedKey = (prefix: string, group: string) => `${prefix}:parked:${group}`;
const processedKey = (prefix: string, group: string) => `${prefix}:processed:${group}`;

function unavailable(what: string, error: unknown): UnavailableError {
  return new UnavailableError(`the agent bus (redis) ${what}: ${errorMessage(error)}`, {
    hint: 'Redis is unreachable; agents pause until it is back. A publish may be retried with the same event.',
    cause: error,
  });
}

function fieldReader(fields: readonly string[]): (name: string) => string {
  return (name) => {
    for (let index = 0; index + 1 < fields.length; index += 2) {
      if (fields[index] === name) return fields[index + 1] ?? '';
    }
    return '';
  };
}

type StreamEntry = [id: string, fields: string[]];

class RedisSubscription implements Subscription {
  private readonly controller = new AbortController();
  private readonly runner: DeliveryRunner;
  private readonly done: Promise<void>;
  private lastPrune = 0;

  constructor(
    private readonly options: SubscribeOptions & { topics: readonly AgentTopic[] },
    handler: AgentEventHandler,
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly settings: {
      readonly prefix: string;
      readonly blockMs: number;
      readonly delivery: DeliveryOptions;
      readonly report: BusErrorReporter;
    },
    private readonly onClose: () => void,
  ) {
    const ledgerKey = processedKey(settings.prefix, options.group);
    this.runner = new DeliveryRunner({
      group: options.group,
      consumer: options.consumer,
      topics: options.topics,
      handler,
      ledger: { has: async (_group, eventId) => (await redis.zscore(ledgerKey, eventId)) !== null },
      options: settings.delivery,
      report: settings.report,
      signal: this.controller.signal,
    });
    this.done = this.loop();
  }

  /** A method, not a property read, so that loops re-read it after an await. */
  private closing(): boolean {
    return this.controller.signal.aborted;
  }

  async close(): Promise<void> {
    this.controller.abort();
    // Ends a blocked read at once; a handler in hand finishes and acknowledges over the other connection.
    this.reader.disconnect();
    await this.done;
    this.onClose();
  }

  private async loop(): Promise<void> {
    const { signal } = this.controller;
    let backoff = 100;
    while (!signal.aborted) {
      try {
        await this.prune();
        const reclaimed = await this.reclaimOne();
        if (!reclaimed) await this.readNew();
        backoff = 100;
      } catch (error) {
        if (this.closing()) break;
        if (errorMessage(error).includes('NOGROUP')) {
          // Redis lost the group (restarted without persistence): make it again and carry on from now.
          await ensureGroups(
            this.reader,
            this.settings.prefix,
            this.options.group,
            this.options.topics,
          ).catch(() => undefined);
        }
        this.settings.report(error, `consuming for group ${this.options.group}`);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Takes back one entry left unacknowledged past the ack timeout (or released by a failed handler). */
  private async reclaimOne(): Promise<boolean> {
    const { group, consumer } = this.options;
    for (const topic of this.options.topics) {
      const key = RedisAgentBus.streamKey(this.settings.prefix, topic);
      const result = (await this.reader.xautoclaim(
        key,
        group,
        consumer,
        this.settings.delivery.ackTimeoutMs,
        '0-0',
        'COUNT',
        1,
      )) as [string, (StreamEntry | null)[], string[]?];
      for (const deletedId of result[2] ?? []) {
        // Trimmed (MAXLEN) before this group acknowledged it; XAUTOCLAIM has dropped it from the group.
        await this.redis.xadd(
          parkedKey(this.settings.prefix, group),
          '*',
          ...parkedFields(
            topic,
            null,
            `entry ${deletedId} was trimmed from the stream before it was handled`,
            0,
            '',
          ),
        );
      }
      const entry = result[1][0];
      if (entry === undefined || entry === null) continue;
      const pending = (await this.reader.xpending(key, group, entry[0], entry[0], 1)) as [
        string,
        string,
        number,
        number,
      ][];
      const deliveryCount = pending[0]?.[3] ?? 1;
      await this.runner.handle(this.message(topic, entry, deliveryCount));
      return true;
    }
    return false;
  }

  private async readNew(): Promise<void> {
    const { group, consumer, topics } = this.options;
    const keys = topics.map((topic) => RedisAgentBus.streamKey(this.settings.prefix, topic));
    const result = (await this.reader.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      1,
      'BLOCK',
      this.settings.blockMs,
      'STREAMS',
      ...keys,
      ...keys.map(() => '>'),
    )) as [string, StreamEntry[]][] | null;
    for (const [key, entries] of result ?? []) {
      const topic = topics[keys.indexOf(key)];
      if (topic === undefined) continue;
      for (const entry of entries) await this.runner.handle(this.message(topic, entry, 1));
    }
  }

  private message(topic: AgentTopic, [entryId, fields]: StreamEntry, deliveryCount: number): ReceivedMessage {
    const { group, consumer } = this.options;
    const key = RedisAgentBus.streamKey(this.settings.prefix, topic);
    const body = fieldReader(fields)('body');
    const { ackTimeoutMs } = this.settings.delivery;
    return {
      body,
      deliveryCount,
      complete: async (eventId) => {
        const results = await this.redis
          .multi()
          .zadd(processedKey(this.settings.prefix, group), Date.now(), eventId)
          .xack(key, group, entryId)
          .exec();
        const failed = results?.find(([error]) => error !== null);
        if (results === null || failed !== undefined) {
          throw new Error(
            `acknowledging ${entryId} failed: ${errorMessage(failed?.[0] ?? 'transaction aborted')}`,
          );
        }
      },
      retry: async (delayMs) => {
        // Back-date the entry's idle time so that XAUTOCLAIM takes it again after `delayMs`, not the ack timeout.
        await this.redis.xclaim(
          key,
          group,
          consumer,
          0,
          entryId,
          'IDLE',
          Math.max(0, ackTimeoutMs - delayMs),
          'JUSTID',
        );
      },
      park: async (eventId, reason) => {
        const results = await this.redis
          .multi()
          .xadd(
            parkedKey(this.settings.prefix, group),
            '*',
            ...parkedFields(topic, eventId, reason, deliveryCount, body),
          )
          .xack(key, group, entryId)
          .exec();
        const failed = results?.find(([error]) => error !== null);
        if (results === null || failed !== undefined) {
          throw new Error(`parking ${entryId} failed: ${errorMessage(failed?.[0] ?? 'transaction aborted')}`);
        }
      },
      extend: async () => {
        // XCLAIM by its owner resets the idle time, which is what XAUTOCLAIM measures.
        await this.redis.xclaim(key, group, consumer, 0, entryId, 'JUSTID');
      },
    };
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < pruneIntervalMs) return;
    this.lastPrune = now;
    await this.redis.zremrangebyscore(
      processedKey(this.settings.prefix, this.options.group),
      '-inf',
      now - this.settings.delivery.processedRetentionMs,
    );
  }
}

function parkedFields(
  topic: string,
  eventId: string | null,
  reason: string,
  deliveryCount: number,
  body: string,
): string[] {
  return [
    'topic',
    topic,
    'eventId',
    eventId ?? '',
    'reason',
    reason,
    'deliveryCount',
    String(deliveryCount),
    'parkedAt',
    new Date().toISOString(),
    'body',
    body,
  ];
}
