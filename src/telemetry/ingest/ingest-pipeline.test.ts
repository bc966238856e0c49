import { describe, expect, it } from 'vitest';
import { emptyBatch, type TelemetryBatch } from '../model.js';
import { IngestPipeline, OverloadedError, type BatchWriter } from './ingest-pipeline.js';
import { identityOf } from './resource-identity.js';

function logs(count: number): TelemetryBatch {
  const batch = emptyBatch();
  const resource = identityOf({ 'service.name': 'a' });
  for (let index = 0; index < count; index += 1) {
    batch.logs.push({
      resource,
      timeUs: 0,
      severityNumber: 9,
      severityText: '',
      body: `line ${index}`,
      traceId: '',
      spanId: '',
      attributes: {},
      scope: '',
      eventName: '',
    });
  }
  return batch;
}

class RecordingWriter implements BatchWriter {
  appended = 0;
  commits = 0;
  failNext = false;
  append(batch: TelemetryBatch): void {
    this.appended += batch.logs.length;
  }
  commit(): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.commits += 1;
  }
}

describe('IngestPipeline', () => {
  it('acknowledges writers only after one shared commit', async () => {
    const writer = new RecordingWriter();
    const pipeline = new IngestPipeline({
      writer,
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
    const pipeline = new IngestPipeline({
      writer,
      flushIntervalMs: 60_000,
      maxBatchRecords: 5,
      maxPendingRecords: 100,
    });
    await pipeline.write(logs(5));
    expect(writer.commits).toBe(1);
  });

  it('refuses writes past the pending bound instead of queueing them', async () => {
    const writer = new RecordingWriter();
    const pipeline = new IngestPipeline({
      writer,
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

  it('rejects every waiting writer when the commit fails', async () => {
    const writer = new RecordingWriter();
    writer.failNext = true;
    const errors: unknown[] = [];
    const pipeline = new IngestPipeline({
      writer,
      flushIntervalMs: 5,
      maxBatchRecords: 100,
      maxPendingRecords: 100,
      onError: (error) => errors.push(error),
    });
    const results = await Promise.allSettled([pipeline.write(logs(1)), pipeline.write(logs(1))]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(errors).toHaveLength(1);
    await expect(pipeline.write(logs(1))).resolves.toBeUndefined();
  });
});
