// The AgentBus port: durable typed events between agents, consumer groups, explicit acknowledgement, at-least-once
// delivery with idempotent handling. Three adapters (embedded, redis, nats) pass one contract suite.
import type { AgentEvent, AgentEventInput, AgentTopic } from './events.js';

/** What a handler learns about the delivery it is handling. */
export interface DeliveryInfo {
  /** 1 on first delivery, counting redeliveries after a failure, a timeout or a crashed consumer. */
  readonly deliveryCount: number;
  readonly group: string;
  readonly consumer: string;
}

/**
 * Resolving acknowledges the event; throwing makes it come back after the retry delay, until `maxDeliveries`
 * attempts have failed and it is parked. A handler runs at most once per event per group, unless the process
 * dies between the handler's success and its acknowledgement being recorded (see docs/agents.md): actions it
 * takes must carry the event id as their idempotency key.
 */
export type AgentEventHandler = (event: AgentEvent, delivery: DeliveryInfo) => Promise<void>;

export interface SubscribeOptions {
  /**
   * Every group gets every event of its topics once; the consumers of one group share them. A group first seen
   * gets the events published from then on. Letters, digits, `-` and `_`.
   */
  readonly group: string;
  /** This process's name within the group (e.g. agent name + host + pid). Letters, digits, `-` and `_`. */
  readonly consumer: string;
  readonly topics: readonly AgentTopic[];
}

export interface Subscription {
  /** Stops taking events and waits for the one in hand to finish (and be acknowledged if it can be). */
  close(): Promise<void>;
}

/** An event set aside for a person: it failed `maxDeliveries` times, or could not be read as an event. */
export interface ParkedEvent {
  readonly group: string;
  readonly topic: string;
  /** Null when the message was not an event at all. */
  readonly eventId: string | null;
  readonly reason: string;
  readonly deliveryCount: number;
  readonly parkedAt: string;
  /** The message as received (JSON text), for inspection. */
  readonly body: string;
}

export interface AgentBus {
  /** `embedded`, `redis` or `nats`. */
  readonly kind: AgentBusKind;
  /**
   * Validates and stores the event; once it resolves the event survives a crash of this process (and of the
   * broker, within the broker's own durability settings). Publishing the same id again is harmless: each group
   * handles it once. Rejects with InvalidError for an event that breaks its schema and UnavailableError when
   * the backend cannot be reached — nothing is buffered in memory; the caller decides (an agent pauses).
   */
  publish(event: AgentEventInput): Promise<AgentEvent>;
  subscribe(options: SubscribeOptions, handler: AgentEventHandler): Promise<Subscription>;
  /** Events parked for a group, oldest first. */
  parked(group: string, options?: { limit?: number }): Promise<ParkedEvent[]>;
  /** Closes every subscription, then the connection. */
  close(): Promise<void>;
}

export type AgentBusKind = 'embedded' | 'redis' | 'nats';

/** Tuning shared by every adapter; the defaults suit agents whose handlers call a few MCP tools. */
export interface DeliveryOptions {
  /** An unacknowledged event is redelivered after this long (the handler's lease is extended while it runs). */
  readonly ackTimeoutMs: number;
  /** Wait before a failed event is offered again. */
  readonly retryDelayMs: number;
  /** Attempts before an event is parked. */
  readonly maxDeliveries: number;
  /** How long a group remembers which events it handled (bounds duplicate suppression). */
  readonly processedRetentionMs: number;
}

export const defaultDeliveryOptions: DeliveryOptions = {
  ackTimeoutMs: 30_000,
  retryDelayMs: 1_000,
  maxDeliveries: 5,
  processedRetentionMs: 7 * 24 * 3600 * 1000,
};

/** Reports errors of the background loops (a lost connection, a failed acknowledgement); never throws. */
export type BusErrorReporter = (error: unknown, context: string) => void;
