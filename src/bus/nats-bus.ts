// The agent bus on NATS JetStream: a file-backed stream of events (subject per topic), a durable pull consumer per
// bus group and topic (explicit ack, ack_wait, nak with delay), and two small streams beside it: parked events,
// and the groups' handled ids (one message per group and id, expiring after the retention).
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type Consumer,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
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

export interface NatsAgentBusOptions {
  /** `nats://host:port` (several separated by commas). */
  readonly url: string;
  /** Name of the event stream; its subjects are the lowercased name, `.event.` and the topic. */
  readonly stream?: string;
  /** Events kept per stream (oldest discarded past it); size it above the backlog a group may build. */
  readonly maxMessages?: number;
  readonly delivery?: Partial<DeliveryOptions>;
  /** Longest a pull waits for a message (at least 1000 ms, NATS's minimum). */
  readonly pullExpiresMs?: number;
  readonly report?: BusErrorReporter;
}

const nanos = (milliseconds: number) => Math.round(milliseconds * 1_000_000);

/** A lock so that one subscription runs one handler at a time, across its topics, as the other adapters do. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class NatsAgentBus implements AgentBus {
  readonly kind = 'nats' as const;
  private readonly subscriptions = new Set<NatsSubscription>();
  private connected = true;
  private closed = false;

  private constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly manager: JetStreamManager,
    private readonly settings: {
      readonly stream: string;
      readonly root: string;
      readonly delivery: DeliveryOptions;
      readonly pullExpiresMs: number;
      readonly report: BusErrorReporter;
    },
  ) {
    void this.watchStatus();
  }

  /** Connects and creates the streams if missing; rejects with UnavailableError when NATS cannot be reached. */
  static async connect(options: NatsAgentBusOptions): Promise<NatsAgentBus> {
    const stream = options.stream ?? 'OPSPILOT_AGENTS';
    const delivery = { ...defaultDeliveryOptions, ...options.delivery };
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: options.url.split(','),
        name: 'opspilot-agent-bus',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
    } catch (error) {
      throw unavailable('cannot connect', error);
    }
    try {
      const manager = await jetstreamManager(connection);
      const root = stream.toLowerCase();
      const [events, parked, processed] = NatsAgentBus.streamNames(stream);
      await ensureStream(manager, {
        name: events,
        subjects: [`${root}.event.>`],
        max_msgs: options.maxMessages ?? 1_000_000,
        // A publish retried within this window with the same event id is stored once.
        duplicate_window: nanos(120_000),
      });
      await ensureStream(manager, { name: parked, subjects: [`${root}.parked.>`], max_msgs: 100_000 });
      await ensureStream(manager, {
        name: processed,
        subjects: [`${root}.processed.>`],
        max_msgs_per_subject: 1,
        max_age: nanos(delivery.processedRetentionMs),
      });
      return new NatsAgentBus(connection, jetstream(connection), manager, {
        stream,
        root,
        delivery,
        pullExpiresMs: Math.max(1000, options.pullExpiresMs ?? 1000),
        report: options.report ?? (() => undefined),
      });
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw unavailable('cannot set up its streams', error);
    }
  }

  /** The event stream, the parked stream and the handled-ids stream. */
  static streamNames(stream: string): [string, string, string] {
    return [stream, `${stream}_PARKED`, `${stream}_PROCESSED`];
  }

  static subject(stream: string, topic: string): string {
    return `${stream.toLowerCase()}.event.${topic}`;
  }

  async publish(input: AgentEventInput): Promise<AgentEvent> {
    if (this.closed) throw new UnavailableError('the agent bus is closed');
    const { event, body } = encodeEvent(input);
    // While reconnecting the client would buffer the message and wait for an ack that may never come.
    if (!this.connected) throw unavailable('cannot store the event', new Error('disconnected from NATS'));
    try {
      await this.js.publish(NatsAgentBus.subject(this.settings.stream, event.topic), body, {
        msgID: event.id,
        timeout: 5000,
      });
    } catch (error) {
      throw unavailable('cannot store the event', error);
    }
    return event;
  }

  async subscribe(options: SubscribeOptions, handler: AgentEventHandler): Promise<Subscription> {
    if (this.closed) throw new UnavailableError('the agent bus is closed');
    const topics = checkSubscribeOptions(options);
    const consumers: { topic: AgentTopic; consumer: Consumer }[] = [];
    try {
      for (const topic of topics) {
        const durable = `${options.group}__${topic.replaceAll('.', '_')}`;
        await this.ensureConsumer(durable, topic);
        consumers.push({ topic, consumer: await this.js.consumers.get(this.settings.stream, durable) });
      }
    } catch (error) {
      throw unavailable('cannot subscribe', error);
    }
    const subscription = new NatsSubscription(
      { ...options, topics },
      handler,
      consumers,
      this.js,
      this.manager,
      this.settings,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async parked(group: string, options: { limit?: number } = {}): Promise<ParkedEvent[]> {
    const [, parkedStream] = NatsAgentBus.streamNames(this.settings.stream);
    // A throwaway consumer reads the group's parked subject from the start.
    const info = await this.manager.consumers.add(parkedStream, {
      filter_subject: `${this.settings.root}.parked.${group}`,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.All,
      inactive_threshold: nanos(30_000),
      mem_storage: true,
    });
    try {
      const wanted = Math.min(options.limit ?? 100, info.num_pending);
      if (wanted === 0) return [];
      const consumer = await this.js.consumers.get(parkedStream, info.name);
      const parked: ParkedEvent[] = [];
      const messages = await consumer.fetch({ max_messages: wanted, expires: 2000 });
      for await (const message of messages) {
        parked.push(message.json<ParkedEvent>());
        if (parked.length >= wanted) break;
      }
      return parked;
    } finally {
      await this.manager.consumers.delete(parkedStream, info.name).catch(() => false);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.connection.close().catch(() => undefined);
  }

  private async ensureConsumer(durable: string, topic: AgentTopic): Promise<void> {
    const ackWait = nanos(this.settings.delivery.ackTimeoutMs);
    const existing = await this.manager.consumers.info(this.settings.stream, durable).catch(() => null);
    if (existing !== null) {
      // The durable outlives its creator: the ack timeout configured now is the one that counts.
      if (existing.config.ack_wait !== ackWait) {
        await this.manager.consumers.update(this.settings.stream, durable, { ack_wait: ackWait });
      }
      return;
    }
    await this.manager.consumers.add(this.settings.stream, {
      durable_name: durable,
      filter_subject: NatsAgentBus.subject(this.settings.stream, topic),
      ack_policy: AckPolicy.Explicit,
      // A new group gets the events published from now on, like the other adapters.
      deliver_policy: DeliverPolicy.New,
      ack_wait: ackWait,
      // Parking after maxDeliveries is the bus's own rule (recorded); the server must not drop silently first.
      max_deliver: -1,
    });
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect') this.connected = false;
      if (status.type === 'reconnect') this.connected = true;
    }
  }
}

async function ensureStream(
  manager: JetStreamManager,
  config: { name: string; subjects: string[] } & Record<string, unknown>,
): Promise<void> {
  const existing = await manager.streams.info(config.name).catch(() => null);
  if (existing !== null) return;
  await manager.streams.add({
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    ...config,
  });
}

function unavailable(what: string, error: unknown): UnavailableError {
  return new UnavailableError(`the agent bus (nats) ${what}: ${errorMessage(error)}`, {
    hint: 'NATS is unreachable; agents pause until it is back. A publish may be retried with the same event.',
    cause: error,
  });
}

class NatsSubscription implements Subscription {
  private readonly controller = new AbortController();
  private readonly runner: DeliveryRunner;
  private readonly serial = new Serial();
  private readonly done: Promise<void>;

  constructor(
    private readonly options: SubscribeOptions & { topics: readonly AgentTopic[] },
    handler: AgentEventHandler,
    consumers: readonly { topic: AgentTopic; consumer: Consumer }[],
    private readonly js: JetStreamClient,
    manager: JetStreamManager,
    private readonly settings: {
      readonly stream: string;
      readonly root: string;
      readonly delivery: DeliveryOptions;
      readonly pullExpiresMs: number;
      readonly report: BusErrorReporter;
    },
    private readonly onClose: () => void,
  ) {
    const [, , processedStream] = NatsAgentBus.streamNames(settings.stream);
    this.runner = new DeliveryRunner({
      group: options.group,
      consumer: options.consumer,
      topics: options.topics,
      handler,
      ledger: {
        has: async (group, eventId) =>
          (await manager.streams.getMessage(processedStream, {
            last_by_subj: this.processedSubject(group, eventId),
          })) !== null,
      },
      options: settings.delivery,
      report: settings.report,
      signal: this.controller.signal,
    });
    this.done = Promise.all(consumers.map((entry) => this.loop(entry.consumer))).then(() => undefined);
  }

  /** A method, not a property read, so that loops re-read it after an await. */
  private closing(): boolean {
    return this.controller.signal.aborted;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
    this.onClose();
  }

  private processedSubject(group: string, eventId: string): string {
    return `${this.settings.root}.processed.${group}.${eventId.replaceAll(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  private async loop(consumer: Consumer): Promise<void> {
    const { signal } = this.controller;
    let backoff = 100;
    while (!signal.aborted) {
      try {
        const message = await consumer.next({ expires: this.settings.pullExpiresMs });
        backoff = 100;
        if (message === null) continue;
        if (this.closing()) {
          // Taken after close began: give it straight back.
          message.nak();
          break;
        }
        await this.serial.run(() => this.runner.handle(this.message(message)));
      } catch (error) {
        if (this.closing()) break;
        this.settings.report(error, `consuming for group ${this.options.group}`);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private message(message: JsMsg): ReceivedMessage {
    const { group } = this.options;
    const body = message.string();
    const deliveryCount = message.info.deliveryCount;
    const acknowledge = async (what: string) => {
      if (!(await message.ackAck({ timeout: 5000 }))) throw new Error(`NATS did not confirm the ${what}`);
    };
    return {
      body,
      deliveryCount,
      complete: async (eventId) => {
        await this.js.publish(this.processedSubject(group, eventId), '', { timeout: 5000 });
        await acknowledge('acknowledgement');
      },
      retry: (delayMs) => {
        message.nak(delayMs);
        return Promise.resolve();
      },
      park: async (eventId, reason) => {
        const parked: ParkedEvent = {
          group,
          topic: message.subject.slice(`${this.settings.root}.event.`.length),
          eventId,
          reason,
          deliveryCount,
          parkedAt: new Date().toISOString(),
          body,
        };
        await this.js.publish(`${this.settings.root}.parked.${group}`, JSON.stringify(parked), {
          timeout: 5000,
        });
        await acknowledge('parking');
      },
      extend: () => {
        message.working();
        return Promise.resolve();
      },
    };
  }
}
