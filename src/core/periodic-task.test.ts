import { describe, expect, it } from 'vitest';
import { PeriodicTask } from './periodic-task.js';

describe('PeriodicTask', () => {
  it('runs on trigger, never twice at once, and not at all once stopped', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const task = new PeriodicTask(
      async () => {
        runs += 1;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      { intervalMs: 60_000, onError: () => undefined },
    );
    task.trigger();
    task.trigger(); // still running: not a second run
    expect(runs).toBe(1);
    const stopped = task.stop();
    release();
    await stopped;
    // An event that arrives during shutdown (a replica stopping) must not start work on closed stores.
    task.trigger();
    expect(runs).toBe(1);
    task.start();
    expect(runs).toBe(2);
    release();
    await task.stop();
  });
});
