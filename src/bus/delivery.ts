// What happens to one received message, the same for every adapter: parse it as an untrusted event, skip what the
// group already handled, run the handler under an extended lease, then acknowledge, retry or park it.
import { sleep } from '../core/clock.js';
import { InvalidError, errorMessage, formatPath, type FieldIssue } from '../core/errors.js';
import { agentEventSchema, isAgentTopic, type AgentEvent, type AgentTopic } from './events.js';
import type { AgentEventHandler, BusErrorReporter, DeliveryOptions, SubscribeOptions } from './ports.js';

/** One message as an adapter received it, with the adapter's operations on it. */
export interface ReceivedMessage {
  /** JSON text as stored; not trusted. */
  readonly body: string;
  readonly deliveryCount: number;
  /** Records that the group handled `eventId` and acknowledges the message, atomically where the backend can. */
  complete(eventId: string): Promise<void>;
  /** Leaves the message unacknowledged, to be offered again after `delayMs`. */
  retry(delayMs: number): Promise<void>;
  /** Moves the message to the group's parked events and acknowledges it. */
  park(eventId: string | null, reason: string): Promise<void>;
  /** Pushes the redelivery deadline back by the ack timeout (the handler is still working). */
  extend(): Promise<void>;
}

/** The per-group record of handled events, kept by each adapter in its own backend. */
export interface ProcessedLedger {
  has(group: string, eventId: string): Promise<boolean>;
}

export type DeliveryOutcome = 'handled' | 'duplicate' | 'retry' | 'parked';

/** Ids handled here whose acknowledgement may not have been recorded; bounded, oldest dropped. */
const rememberedIds = 10_000;

export class DeliveryRunner {
  private readonly handledHere = new Set<string>();

  constructor(
    private readonly settings: {
      readonly group: string;
      readonly consumer: string;
      readonly topics: readonly AgentTopic[];
      readonly handler: AgentEventHandler;
      readonly ledger: ProcessedLedger;
      readonly options: DeliveryOptions;
      readonly report: BusErrorReporter;
      /** Aborted when the subscription closes: stops retrying an acknowledgement. */
      readonly signal: AbortSignal;
    },
  ) {}

  /** Throws only when the backend fails; the message is then redelivered later. */
  async handle(message: ReceivedMessage): Promise<DeliveryOutcome> {
    const { group, consumer, topics, handler, ledger, options } = this.settings;
    const parsed = parseEvent(message.body);
    if (!parsed.ok) {
      await message.park(parsed.eventId, parsed.reason);
      return 'parked';
    }
    const event = parsed.event;
    if (!topics.includes(event.topic)) {
      await message.park(event.id, `topic ${event.topic} is not one this group subscribed to`);
      return 'parked';
    }
    if (this.handledHere.has(event.id) || (await ledger.has(group, event.id))) {
      await this.complete(message, event.id);
      return 'duplicate';
    }
    if (message.deliveryCount > options.maxDeliveries) {
      // Delivered again and again without an outcome: the consumer probably died inside the handler.
      await message.park(
        event.id,
        `delivered ${message.deliveryCount} times without an acknowledgement (maxDeliveries ${options.maxDeliveries})`,
      );
      return 'parked';
    }
    const lease = setInterval(
      () => {
        message.extend().catch((error: unknown) => {
          this.settings.report(error, `extending the lease of ${event.id}`);
        });
      },
      Math.max(50, Math.floor(options.ackTimeoutMs / 3)),
    );
    try {
      await handler(event, { deliveryCount: message.deliveryCount, group, consumer });
    } catch (error) {
      clearInterval(lease);
      if (message.deliveryCount >= options.maxDeliveries) {
        await message.park(
          event.id,
          `handler failed on delivery ${message.deliveryCount} of ${options.maxDeliveries}: ${errorMessage(error)}`,
        );
        return 'parked';
      }
      await message.retry(options.retryDelayMs);
      return 'retry';
    }
    clearInterval(lease);
    this.remember(event.id);
    await this.complete(message, event.id);
    return 'handled';
  }

  /**
   * The handler has acted: keep trying to record it while the subscription is open, so that a broker outage
   * between the action and its acknowledgement does not turn into a second action after reconnecting.
   */
  private async complete(message: ReceivedMessage, eventId: string): Promise<void> {
    let wait = 100;
    for (;;) {
      try {
        await message.complete(eventId);
        this.handledHere.delete(eventId);
        this.remember(eventId);
        return;
      } catch (error) {
        if (this.settings.signal.aborted) throw error;
        this.settings.report(error, `acknowledging ${eventId}`);
        await sleep(wait, this.settings.signal);
        wait = Math.min(wait * 2, 2000);
      }
    }
  }

  private remember(eventId: string): void {
    this.handledHere.delete(eventId);
    this.handledHere.add(eventId);
    if (this.handledHere.size > rememberedIds) {
      const oldest = this.handledHere.values().next();
      if (oldest.done !== true) this.handledHere.delete(oldest.value);
    }
  }
}

type Parsed = { ok: true; event: AgentEvent } | { ok: false; eventId: string | null; reason: string };

/** Parses received text as an event; never throws (a malformed message is parked, not a crash). */
export function parseEvent(body: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    return { ok: false, eventId: null, reason: `not JSON: ${errorMessage(error)}` };
  }
  const result = agentEventSchema.safeParse(value);
  if (result.success) return { ok: true, event: result.data };
  const id =
    typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string'
      ? (value as { id: string }).id
      : null;
  const issues = result.error.issues
    .slice(0, 5)
    .map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
    .join('; ');
  return {
    ok: false,
    eventId: id !== null && id.length <= 64 ? id : null,
    reason: `invalid event: ${issues}`,
  };
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Checks a subscription's names and topics the same way for every adapter (they become keys and subjects). */
export function checkSubscribeOptions(options: SubscribeOptions): readonly AgentTopic[] {
  const issues: FieldIssue[] = [];
  if (!namePattern.test(options.group)) {
    issues.push({ path: 'group', message: 'expected letters, digits, - and _ (at most 128)' });
  }
  if (!namePattern.test(options.consumer)) {
    issues.push({ path: 'consumer', message: 'expected letters, digits, - and _ (at most 128)' });
  }
  const topics = [...new Set(options.topics)];
  if (topics.length === 0) issues.push({ path: 'topics', message: 'expected at least one topic' });
  for (const topic of topics) {
    if (!isAgentTopic(topic)) issues.push({ path: 'topics', message: `unknown topic ${String(topic)}` });
  }
  if (issues.length > 0) {
    throw new InvalidError(
      `cannot subscribe: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      issues,
    );
  }
  return topics;
}

/** A sleep that a publisher in this process can cut short; a wake-up while not sleeping is kept for the next. */
export class Wakeup {
  private pending = false;
  private current: (() => void) | undefined;

  wake(): void {
    if (this.current === undefined) this.pending = true;
    else this.current();
  }

  async wait(milliseconds: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    const controller = new AbortController();
    const abort = (): void => {
      controller.abort();
    };
    signal.addEventListener('abort', abort, { once: true });
    this.current = abort;
    try {
      await sleep(milliseconds, controller.signal);
    } finally {
      this.current = undefined;
      signal.removeEventListener('abort', abort);
    }
  }
}
