// A piece of background work run now and then every interval, never twice at once; stop() waits for a run in
// progress. Failures go to onError and the next interval tries again.

export interface PeriodicTaskOptions {
  readonly intervalMs: number;
  readonly onError: (error: unknown) => void;
  /** Let the process exit while the timer waits (default true). */
  readonly unref?: boolean;
}

export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly options: PeriodicTaskOptions,
  ) {}

  /** Runs the work now and then every interval. */
  start(): void {
    this.trigger();
    this.timer = setInterval(() => {
      this.trigger();
    }, this.options.intervalMs);
    if (this.options.unref ?? true) this.timer.unref();
  }

  /** Runs the work now unless it is running. */
  trigger(): void {
    this.running ??= this.work()
      .catch((error: unknown) => {
        this.options.onError(error);
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
