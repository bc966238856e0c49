// What changed, per namespace, as it happens: alerts firing and resolving, audited changes (proposals, approvals,
// reports), runtime events. Live views (the dashboard's event stream) reload on it; it carries no data a reader
// could not otherwise see (each is checked against the reader's grants for where it happened), only that
// something changed and what kind of thing.
export type ChangeTopic = 'alert' | 'approval' | 'change' | 'status';

export interface Change {
  readonly topic: ChangeTopic;
  readonly namespace: string;
  /** What in the namespace changed, as far as known: readers see a change only if they may read there. */
  readonly project?: string | undefined;
  readonly component?: string | undefined;
  readonly environment?: string | undefined;
  readonly summary: string;
  readonly at: string;
}

export class ChangeFeed {
  private readonly listeners = new Set<(change: Change) => void>();

  publish(change: Change): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a listener that fails (a closed stream) must not stop the others
      }
    }
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
