// A piece of background work run now and then every interval, never twice at once; stop() waits for a run in
// progress, and after it a trigger does nothing (events that arrive while the server shuts down must not start
// work on stores being closed). Failures go to onError and the next interval tries again.

export interface PeriodicTaskOptions {
  readonly intervalMs: number;
  readonly onError: (error: unknown) => void;
  /** Let the process exit while the timer waits (default true). */
  readonly unref?: boolean;
}

export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly options: PeriodicTaskOptions,
  ) {}

  /** Runs the work now and then every interval. */
  start(): void {
    this.stopped = false;
    this.trigger();
    this.timer = setInterval(() => {
      this.trigger();
    }, this.options.intervalMs);
    if (this.options.unref ?? true) this.timer.unref();
  }

  /** Runs the work now unless it is running. */
  trigger(): void {
    if (this.stopped) return;
    this.running ??= this.work()
      .catch((error: unknown) => {
        this.options.onError(error);
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
