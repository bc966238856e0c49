// Turns runtime events into platform events on the binding they belong to, in order, and logs them.
import type { Logger } from '../core/logger.js';
import type { RuntimeEvent, RuntimeListener } from '../runtime/ports.js';
import type { StateStore } from '../state/ports.js';

/** Where a recorded runtime event happened, for watchers. */
export interface RecordedEvent {
  readonly namespace: string;
  readonly project: string | undefined;
  readonly component: string | undefined;
  readonly environment: string | undefined;
  readonly reason: string;
}

export class RuntimeEventRecorder implements RuntimeListener {
  private chain: Promise<void> = Promise.resolve();
  private readonly watchers = new Set<(event: RecordedEvent) => void>();

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
  ) {}

  /** Calls `watcher` after each runtime event is recorded (live views); returns the unsubscribe. */
  watch(watcher: (event: RecordedEvent) => void): () => void {
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  event(event: RuntimeEvent): void {
    const { labels } = event;
    const where = `${labels.component ?? '?'}@${labels.environment ?? '?'}${event.replica === null ? '' : ` ${event.replica}`}`;
    const line = { reason: event.reason, workload: where };
    if (event.type === 'Warning') this.logger.warn(line, event.message);
    else this.logger.info(line, event.message);
    this.chain = this.chain
      .then(() =>
        this.store.events.record({
          namespace: labels.namespace ?? 'default',
          objectKind: 'ReleaseBinding',
          objectName: labels.binding ?? event.workloadId,
          project: labels.project ?? null,
          component: labels.component ?? null,
          environment: labels.environment ?? null,
          replica: event.replica,
          type: event.type,
          reason: event.reason,
          message: event.message,
          timestamp: event.timestamp,
        }),
      )
      .then(() => {
        const recorded: RecordedEvent = {
          namespace: labels.namespace ?? 'default',
          project: labels.project,
          component: labels.component,
          environment: labels.environment,
          reason: event.reason,
        };
        for (const watcher of this.watchers) watcher(recorded);
      })
      .catch((error: unknown) => {
        this.logger.error({ err: error, reason: event.reason }, 'could not record a runtime event');
      });
  }

  /** Resolves once every event received so far is stored. */
  flush(): Promise<void> {
    return this.chain;
  }
}
