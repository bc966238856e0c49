// Periodic clean-up of what grows without bound: events past their retention.
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { StateStore } from '../state/ports.js';

export interface HousekeepingOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly eventRetentionDays: number;
  readonly intervalMs?: number;
}

export class Housekeeping {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: HousekeepingOptions) {}

  start(): void {
    this.schedule();
    this.timer = setInterval(() => {
      this.schedule();
    }, this.options.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes events last seen before the retention window; returns how many. */
  async pruneEvents(): Promise<number> {
    const cutoff = new Date(
      this.options.clock.now().getTime() - this.options.eventRetentionDays * 86_400_000,
    );
    return this.options.store.events.prune(cutoff.toISOString());
  }

  private schedule(): void {
    this.running ??= this.pruneEvents()
      .then((removed) => {
        if (removed > 0) this.options.logger.info({ removed }, 'pruned old events');
      })
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'could not prune old events');
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
