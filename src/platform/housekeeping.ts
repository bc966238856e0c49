// Periodic clean-up of what grows without bound: events past their retention.
import type { Clock } from '../core/clock.js';
import { PeriodicTask } from '../core/periodic-task.js';
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
  private readonly task: PeriodicTask;

  constructor(private readonly options: HousekeepingOptions) {
    this.task = new PeriodicTask(
      async () => {
        const removed = await this.pruneEvents();
        if (removed > 0) options.logger.info({ removed }, 'pruned old events');
      },
      {
        intervalMs: options.intervalMs ?? 3_600_000,
        onError: (error) => {
          options.logger.warn({ err: error }, 'could not prune old events');
        },
      },
    );
  }

  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** Deletes events last seen before the retention window; returns how many. */
  async pruneEvents(): Promise<number> {
    const cutoff = new Date(
      this.options.clock.now().getTime() - this.options.eventRetentionDays * 86_400_000,
    );
    return this.options.store.events.prune(cutoff.toISOString());
  }
}
