import { describe, expect, it } from 'vitest';
import { logBatch } from '../../../test/helpers/telemetry-batches.js';
import type { TelemetryBatch } from '../model.js';
import { InvalidError } from '../../core/errors.js';
import { IngestPipeline, OverloadedError, type BatchWriter } from './ingest-pipeline.js';

/** `count` log lines of one service. */
function logs(count: number): TelemetryBatch {
  return logBatch(Array.from({ length: count }, (_, index) => `line ${index}`));
}

class RecordingWriter implements BatchWriter {
  appended = 0;
  commits = 0;
  /** Records appended before each commit started. */
  committed: number[] = [];
  failNext = false;
  /** Commits fail while a batch appended since the last commit has this body (like data the store refuses). */
  poison: string | undefined;
  /** The log bodies each commit took in. */
  groups: string[][] = [];
  private uncommitted: TelemetryBatch[] = [];
  /** While set, commits wait for release() (like a slow disk). */
  private held: (() => void)[] | undefined;

  append(batch: TelemetryBatch): void {
    this.appended += batch.logs.length;
    this.uncommitted.push(batch);
  }

  async commit(): Promise<void> {
    this.committed.push(this.appended);
    // A commit takes in what was appended before it, whatever is appended while it runs.
    const group = this.uncommitted;
    this.uncommitted = [];
    this.groups.push(group.flatMap((batch) => batch.logs.map((log) => log.body)));
    if (this.held !== undefined) await new Promise<void>((resolve) => this.held?.push(resolve));
    else await Promise.resolve();
    if (group.some((batch) => batch.logs.some((log) => log.body === this.poison))) {
      throw new InvalidError('the store refused a value');
    }
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.commits += 1;
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const resolve of held) resolve();
  }
}

function pipelineFor(
  writer: BatchWriter,
  options: Partial<Omit<ConstructorParameters<typeof IngestPipeline>[0], 'writer'>>,
): IngestPipeline {
  return new IngestPipeline({
    writer,
    flushIntervalMs: 0,
    maxBatchRecords: 1000,
    maxPendingRecords: 1000,
    ...options,
  });
}

describe('IngestPipeline', () => {
  it('with no interval, commits the writes of one event-loop turn together, then the next turn on its own', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 0,
      maxBatchRecords: 1000,
      maxPendingRecords: 1000,
    });
    const sameTurn = [pipeline.write(logs(1)), pipeline.write(logs(2))];
    expect(writer.commits).toBe(0);
    await Promise.all(sameTurn);
    expect(writer.commits).toBe(1);
    await pipeline.write(logs(3));
    expect(writer.commits).toBe(2);
    expect(writer.appended).toBe(6);
  });

  it('acknowledges writers only after one shared commit', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 20,
      maxBatchRecords: 1000,
      maxPendingRecords: 1000,
    });
    let acknowledged = 0;
    const writes = [1, 2, 3].map((size) => pipeline.write(logs(size)).then(() => (acknowledged += 1)));
    expect(acknowledged).toBe(0);
    expect(writer.commits).toBe(0);
    await Promise.all(writes);
    expect(writer.commits).toBe(1);
    expect(writer.appended).toBe(6);
    expect(pipeline.stats()).toMatchObject({ acceptedRecords: 6, commits: 1, pendingRecords: 0 });
  });

  it('commits at once when a batch fills up', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 60_000,
      maxBatchRecords: 5,
      maxPendingRecords: 100,
    });
    await pipeline.write(logs(5));
    expect(writer.commits).toBe(1);
  });

  it('commits at once when a batch fills up while a commit is already scheduled', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 60_000,
      maxBatchRecords: 5,
      maxPendingRecords: 100,
    });
    const small = pipeline.write(logs(2)); // schedules a commit a minute from now
    await pipeline.write(logs(3)); // fills the batch
    await small;
    expect(writer.committed).toEqual([5]);
  });

  it('refuses writes past the pending bound instead of queueing them', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 10,
      maxBatchRecords: 1000,
      maxPendingRecords: 10,
    });
    const first = pipeline.write(logs(8));
    await expect(pipeline.write(logs(5))).rejects.toBeInstanceOf(OverloadedError);
    await first;
    await expect(pipeline.write(logs(5))).resolves.toBeUndefined();
    expect(pipeline.stats().refusedWrites).toBe(1);
  });

  it('when a shared commit fails, commits each writer on its own: only the one that fails again is refused', async () => {
    const writer = new RecordingWriter();
    writer.poison = 'poison';
    const errors: unknown[] = [];
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 5,
      maxBatchRecords: 100,
      maxPendingRecords: 100,
      onError: (error) => errors.push(error),
    });
    const results = await Promise.allSettled([
      pipeline.write(logs(1)),
      pipeline.write(logBatch(['poison'])),
      pipeline.write(logs(2)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const [, refused] = results;
    expect(refused.status === 'rejected' ? refused.reason : undefined).toBeInstanceOf(InvalidError);
    expect(errors).toHaveLength(2); // the shared commit, then the poisoned batch's own
    expect(writer.commits).toBe(2);
    expect(pipeline.stats().pendingRecords).toBe(0);
  });

  it('appends nothing while a failed group is retried, so that each retry takes in its own batch only', async () => {
    const writer = new RecordingWriter();
    writer.poison = 'poison';
    let later: Promise<void> | undefined;
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 5,
      maxBatchRecords: 100,
      maxPendingRecords: 100,
      // Written while the failed group is retried writer by writer.
      onError: () => {
        later ??= pipeline.write(logBatch(['arrived during the retries']));
      },
    });
    const results = await Promise.allSettled([
      pipeline.write(logBatch(['good'])),
      pipeline.write(logBatch(['poison'])),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    await later;
    expect(writer.groups).toEqual([['good', 'poison'], ['good'], ['poison'], ['arrived during the retries']]);
    expect(pipeline.stats().pendingRecords).toBe(0);
  });

  it('commits what was written during the failed commit before the retries, and loses none of it', async () => {
    const writer = new RecordingWriter();
    writer.poison = 'poison';
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 0,
      maxBatchRecords: 100,
      maxPendingRecords: 100,
    });
    writer.hold();
    const group = [pipeline.write(logBatch(['poison'])), pipeline.write(logBatch(['good']))];
    await new Promise((resolve) => setImmediate(resolve)); // the shared commit starts and waits on the disk
    const during = [pipeline.write(logBatch(['poison'])), pipeline.write(logBatch(['meanwhile']))];
    writer.release();
    const results = await Promise.allSettled([...group, ...during]);
    expect(results.map((result) => result.status)).toEqual([
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(writer.groups).toEqual([
      ['poison', 'good'],
      ['poison', 'meanwhile'], // appended while the first commit ran: committed together, and failing too
      ['poison'],
      ['good'],
      ['poison'],
      ['meanwhile'],
    ]);
    expect(pipeline.stats().pendingRecords).toBe(0);
  });

  it('retries a transient failure of a shared commit once per writer, and tells a lone writer it failed', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 5,
      maxBatchRecords: 100,
      maxPendingRecords: 100,
    });
    writer.failNext = true;
    const shared = await Promise.allSettled([pipeline.write(logs(1)), pipeline.write(logs(1))]);
    expect(shared.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    writer.failNext = true;
    await expect(pipeline.write(logs(1))).rejects.toThrow(/could not commit: disk full/);
    await expect(pipeline.write(logs(1))).resolves.toBeUndefined();
  });

  it('runs one commit at a time: writes during a commit go into the next one, and count as pending', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 0,
      maxBatchRecords: 1000,
      maxPendingRecords: 10,
    });
    writer.hold();
    const first = pipeline.write(logs(6));
    await new Promise((resolve) => setImmediate(resolve)); // the first commit starts and waits on the disk
    expect(writer.committed).toEqual([6]);
    const second = pipeline.write(logs(3));
    const third = pipeline.write(logs(1));
    expect(pipeline.stats().pendingRecords).toBe(10);
    await expect(pipeline.write(logs(1))).rejects.toBeInstanceOf(OverloadedError);
    expect(writer.committed).toEqual([6]); // no second commit while the first runs
    writer.release();
    await first;
    await Promise.all([second, third]);
    expect(writer.committed).toEqual([6, 10]);
    expect(writer.commits).toBe(2);
    expect(pipeline.stats().pendingRecords).toBe(0);
  });

  it('commits what is pending when closed, then refuses writes', async () => {
    const writer = new RecordingWriter();
    const pipeline = pipelineFor(writer, {
      flushIntervalMs: 60_000,
      maxBatchRecords: 1000,
      maxPendingRecords: 100,
    });
    const write = pipeline.write(logs(2));
    await pipeline.close();
    await write;
    expect(writer.commits).toBe(1);
    await expect(pipeline.write(logs(1))).rejects.toThrow(/shutting down/);
  });
});
