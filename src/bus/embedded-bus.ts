// The default agent bus: durable in the state database (SQLite or PostgreSQL), so a single opspilot needs no
// broker. Consumers poll for due deliveries; a publish in the same process wakes them at once.
import { sleep, systemClock, type Clock } from '../core/clock.js';
import { UnavailableError, errorMessage } from '../core/errors.js';
import type { AgentBusRepository } from '../state/ports.js';
import { DeliveryRunner, Wakeup, checkSubscribeOptions, type ReceivedMessage } from './delivery.js';
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

export interface EmbeddedAgentBusOptions {
  /** The state store's bus tables (`store.agentBus`). */
  readonly repository: AgentBusRepository;
  readonly delivery?: Partial<DeliveryOptions>;
  /** How often an idle consumer looks for events published by other processes. */
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
  readonly report?: BusErrorReporter;
}

const housekeepingIntervalMs = 3600_000;

export class EmbeddedAgentBus implements AgentBus {
  readonly kind = 'embedded' as const;
  private readonly repository: AgentBusRepository;
  private readonly options: DeliveryOptions;
  private readonly pollIntervalMs: number;
  private readonly clock: Clock;
  private readonly report: BusErrorReporter;
  private readonly subscriptions = new Set<EmbeddedSubscription>();
  private readonly housekeeping: NodeJS.Timeout;
  private closed = false;

  constructor(options: EmbeddedAgentBusOptions) {
    this.repository = options.repository;
    this.options = { ...defaultDeliveryOptions, ...options.delivery };
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.clock = options.clock ?? systemClock;
    this.report = options.report ?? (() => undefined);
    this.housekeeping = setInterval(() => {
      void this.prune();
    }, housekeepingIntervalMs);
    this.housekeeping.unref();
  }

  async publish(input: AgentEventInput): Promise<AgentEvent> {
    this.assertOpen();
    const { event, body } = encodeEvent(input);
    try {
      await this.repository.append({
        id: event.id,
        topic: event.topic,
        tenant: event.tenant,
        publishedAt: this.clock.now().getTime(),
        body,
      });
    } catch (error) {
      throw new UnavailableError(`the agent bus (embedded) cannot store the event: ${errorMessage(error)}`, {
        hint: 'The state database is unreachable; retry the same event (its id makes the retry harmless).',
        cause: error,
      });
    }
    for (const subscription of this.subscriptions) subscription.wake(event.topic);
    return event;
  }

  async subscribe(options: SubscribeOptions, handler: AgentEventHandler): Promise<Subscription> {
    this.assertOpen();
    const topics = checkSubscribeOptions(options);
    const now = this.clock.now().getTime();
    for (const topic of topics) await this.repository.ensureGroup(options.group, topic, now);
    const subscription = new EmbeddedSubscription(
      { ...options, topics },
      handler,
      this.repository,
      this.options,
      this.pollIntervalMs,
      this.clock,
      this.report,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async parked(group: string, options: { limit?: number } = {}): Promise<ParkedEvent[]> {
    const rows = await this.repository.listParked(group, options.limit ?? 100);
    return rows.map((row) => ({ ...row, parkedAt: new Date(row.parkedAt).toISOString() }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.housekeeping);
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  /** Handled ids and fully delivered events older than the retention go. */
  private async prune(): Promise<void> {
    const before = this.clock.now().getTime() - this.options.processedRetentionMs;
    try {
      await this.repository.prune(before, before);
    } catch (error) {
      this.report(error, 'pruning the embedded agent bus');
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the agent bus is closed');
  }
}

class EmbeddedSubscription implements Subscription {
  private readonly controller = new AbortController();
  private readonly wakeup = new Wakeup();
  private readonly runner: DeliveryRunner;
  private readonly done: Promise<void>;

  constructor(
    private readonly options: SubscribeOptions & { topics: readonly AgentTopic[] },
    handler: AgentEventHandler,
    private readonly repository: AgentBusRepository,
    private readonly delivery: DeliveryOptions,
    private readonly pollIntervalMs: number,
    private readonly clock: Clock,
    private readonly report: BusErrorReporter,
    private readonly onClose: () => void,
  ) {
    this.runner = new DeliveryRunner({
      group: options.group,
      consumer: options.consumer,
      topics: options.topics,
      handler,
      ledger: { has: (group, eventId) => repository.isProcessed(group, eventId) },
      options: delivery,
      report,
      signal: this.controller.signal,
    });
    this.done = this.loop();
  }

  wake(topic: AgentTopic): void {
    if (this.options.topics.includes(topic)) this.wakeup.wake();
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

  private async loop(): Promise<void> {
    const { signal } = this.controller;
    let backoff = 100;
    while (!signal.aborted) {
      try {
        const now = this.clock.now().getTime();
        // One at a time: a lease starts when its handler can start, and order follows the log.
        const claims = await this.repository.claim({
          group: this.options.group,
          consumer: this.options.consumer,
          topics: this.options.topics,
          now,
          leaseUntil: now + this.delivery.ackTimeoutMs,
          limit: 1,
        });
        backoff = 100;
        if (claims.length === 0) {
          await this.wakeup.wait(this.pollIntervalMs, signal);
          continue;
        }
        for (const claim of claims) {
          await this.runner.handle(this.message(claim.seq, claim.body, claim.deliveryCount));
        }
      } catch (error) {
        if (this.closing()) break;
        this.report(error, `consuming for group ${this.options.group}`);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private message(seq: number, body: string, deliveryCount: number): ReceivedMessage {
    const { group, consumer } = this.options;
    const now = () => this.clock.now().getTime();
    return {
      body,
      deliveryCount,
      complete: (eventId) => this.repository.complete(group, seq, eventId, now()),
      retry: (delayMs) => this.repository.release(group, seq, now() + delayMs),
      park: (eventId, reason) =>
        this.repository.park(group, seq, { eventId, reason, deliveryCount, parkedAt: now() }),
      extend: async () => {
        await this.repository.extend(group, seq, consumer, now() + this.delivery.ackTimeoutMs);
      },
    };
  }
}
