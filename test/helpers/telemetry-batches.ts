// Telemetry batches for tests: log records of one service, with only what a test cares about spelled out.
import { identityOf } from '../../src/telemetry/ingest/resource-identity.js';
import { emptyBatch, type LogEntry, type TelemetryBatch } from '../../src/telemetry/model.js';

export function logBatch(
  bodies: readonly string[],
  options: { resource?: Record<string, string> } & Partial<Omit<LogEntry, 'resource' | 'body'>> = {},
): TelemetryBatch {
  const { resource = { 'service.name': 'cart' }, ...fields } = options;
  const identity = identityOf(resource);
  const batch = emptyBatch();
  for (const body of bodies) {
    batch.logs.push({
      resource: identity,
      timeUs: Date.now() * 1000,
      severityNumber: 9,
      severityText: 'INFO',
      traceId: '',
      spanId: '',
      attributes: {},
      scope: '',
      eventName: '',
      ...fields,
      body,
    });
  }
  return batch;
}
