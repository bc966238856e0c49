// The in-process event bus for alerts and changes inside one opspilot. Fire-and-forget: handlers never break
// publishers, their errors are reported. Durable, typed events between agent processes go over src/bus/ instead.

export interface BusEvent<T = unknown> {
  readonly topic: string;
  readonly payload: T;
  readonly publishedAt: string;
}

export type Handler = (event: BusEvent) => void | Promise<void>;

export interface EventBus {
  publish(topic: string, payload: unknown): void;
  /** Returns a function that unsubscribes. Handlers check the payload they get. */
  subscribe(topic: string, handler: Handler): () => void;
}

export class InProcessEventBus implements EventBus {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(
    private readonly onHandlerError: (error: unknown, topic: string) => void = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  publish(topic: string, payload: unknown): void {
    const event: BusEvent = { topic, payload, publishedAt: this.now().toISOString() };
    for (const handler of this.handlers.get(topic) ?? []) {
      // Deliver asynchronously: a slow or failing subscriber must not hold up the publisher.
      queueMicrotask(() => {
        Promise.resolve()
          .then(() => handler(event))
          .catch((error: unknown) => {
            this.onHandlerError(error, topic);
          });
      });
    }
  }

  subscribe(topic: string, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.handlers.set(topic, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }
}
