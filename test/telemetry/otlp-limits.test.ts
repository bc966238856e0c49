// The OTLP receiver of a real in-process server against hostile senders: gzip bombs are refused while they
// decompress, the in-flight budget counts decompressed bytes, oversized values are cut to the limits, and a
// poisoned record is rejected alone (partial success) while every other record, of that request and of others,
// is stored.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtoReader, ProtoWriter, wireType } from '../../src/telemetry/ingest/proto-reader.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

const MiB = 1024 * 1024;

let server: InProcessServer;
let otlp: string;

beforeAll(async () => {
  server = await startInProcess(
    {},
    {
      configYaml: [
        'otlp:',
        `  maxDecompressedBytes: ${4 * MiB}`,
        `  maxInflightBytes: ${6 * MiB}`,
        '  maxLogBodyLength: 1000',
        '  maxAttributeValueLength: 100',
        '  maxAttributes: 5',
        '  maxNameLength: 50',
        '  maxSpanEvents: 2',
        'telemetry:',
        // Requests sent together share one commit, as on a busy receiver.
        '  flushIntervalMs: 300',
      ].join('\n'),
    },
  );
  otlp = server.opspilot.telemetry.otlpEndpoint ?? '';
});

afterAll(async () => {
  await server.close();
});

function stats(): { decompressedBytes: number; inflightBytes: number; peakInflightBytes: number } {
  const current = server.opspilot.telemetry.receiverStats();
  if (current === undefined) throw new Error('the OTLP receiver is not running');
  return current;
}

/** An OTLP/JSON logs request of one service of `namespace`. */
function logsRequest(namespace: string, records: readonly Record<string, unknown>[]): unknown {
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'cart' } },
            { key: 'opspilot.namespace', value: { stringValue: namespace } },
          ],
        },
        scopeLogs: [{ scope: { name: 'app' }, logRecords: records }],
      },
    ],
  };
}

function post(signal: string, body: unknown, gzip = false): Promise<Response> {
  const text = Buffer.from(JSON.stringify(body));
  return fetch(`${otlp}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
    body: gzip ? gzipSync(text) : text,
  });
}

async function count(table: string, namespace: string): Promise<number> {
  const rows = await server.opspilot.telemetry.store.query<{ n: number }>(
    `SELECT count(*)::INTEGER AS n FROM ${table} JOIN resources r ON r.id = resource_id WHERE r.namespace = $namespace`,
    { namespace },
  );
  return rows[0]?.n ?? 0;
}

/** The gzip of 60 MB of JSON: one log record whose body is 60 MB of one letter (about 60 KB compressed). */
const bomb = gzipSync(
  Buffer.from(JSON.stringify(logsRequest('bombs', [{ body: { stringValue: 'a'.repeat(60_000_000) } }]))),
);

describe('OTLP decompression limits', () => {
  it('refuses a gzip bomb with 413 as soon as it has decompressed otlp.maxDecompressedBytes', async () => {
    const before = stats().decompressedBytes;
    const response = await fetch(`${otlp}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(response.status).toBe(413);
    const status = (await response.json()) as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toContain(`decompressed body is larger than ${4 * MiB} bytes`);
    expect(status.message).toContain('otlp.maxDecompressedBytes');
    // The decompressor stopped at the limit (plus at most one output chunk), not at 60 MB.
    const produced = stats().decompressedBytes - before;
    expect(produced).toBeGreaterThanOrEqual(4 * MiB);
    expect(produced).toBeLessThanOrEqual(4 * MiB + 64 * 1024);
    expect(await count('logs', 'bombs')).toBe(0);
  });

  it('counts decompressed bytes against otlp.maxInflightBytes: eight bombs at once never hold more', async () => {
    const before = stats().decompressedBytes;
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${otlp}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          body: bomb,
        }),
      ),
    );
    for (const response of responses) {
      expect([413, 503]).toContain(response.status);
      if (response.status === 503) {
        expect(response.headers.get('retry-after')).toBe('1');
        expect(((await response.json()) as { message: string }).message).toContain('otlp.maxInflightBytes');
      } else await response.arrayBuffer();
    }
    expect(stats().peakInflightBytes).toBeLessThanOrEqual(6 * MiB);
    expect(stats().decompressedBytes - before).toBeLessThanOrEqual(8 * (4 * MiB + 64 * 1024));
    expect(stats().inflightBytes).toBe(0);
  });

  it('answers 503 to a request whose decompressed bytes do not fit beside those of requests in flight', async () => {
    // Each decompresses to 3.5 MiB from a few KB: counted compressed, both would fit in the 6 MiB budget.
    const records = Array.from({ length: 3500 }, (_, index) => ({
      body: { stringValue: `${String(index).padStart(4, '0')} ${'x'.repeat(1000)}` },
    }));
    const size = Buffer.byteLength(JSON.stringify(logsRequest('inflight', records)));
    const first = post('logs', logsRequest('inflight', records), true);
    // Once decoded, the first request holds its bytes until its commit (flushIntervalMs: 300).
    while (stats().inflightBytes < size) await new Promise((resolve) => setImmediate(resolve));
    const second = await post('logs', logsRequest('inflight', records), true);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(((await second.json()) as { message: string }).message).toMatch(
      /busy decoding other requests.*otlp\.maxInflightBytes/,
    );
    expect((await first).status).toBe(200);
    expect(await count('logs', 'inflight')).toBe(3500);
  });
});

describe('OTLP per-record limits', () => {
  it('cuts long log bodies, attribute values and names, drops attributes and events past the limits, and says so', async () => {
    const attributes = Array.from({ length: 8 }, (_, index) => ({
      key: `a${index}`,
      value: { stringValue: index === 0 ? 'v'.repeat(500) : 'short' },
    }));
    const logs = await post(
      'logs',
      logsRequest('limits', [{ body: { stringValue: 'b'.repeat(200_000) }, attributes }]),
    );
    expect(logs.status).toBe(200);
    const logAnswer = (await logs.json()) as { partialSuccess?: Record<string, unknown> };
    // Accepted in full (nothing rejected), with a warning: rejected_log_records 0 and a message.
    expect(logAnswer.partialSuccess?.rejectedLogRecords ?? '0').toBe('0');
    expect(logAnswer.partialSuccess?.errorMessage).toMatch(/cut to the receiver's limits/);
    expect(logAnswer.partialSuccess?.errorMessage).toContain('otlp.maxLogBodyLength');
    const [stored] = await server.opspilot.telemetry.store.query<{ body: string; attributes: string }>(
      `SELECT body, l.attributes FROM logs l JOIN resources r ON r.id = resource_id WHERE r.namespace = 'limits'`,
    );
    expect(stored?.body).toBe(`${'b'.repeat(1000)}…[truncated: 199000 more characters]`);
    const kept = JSON.parse(stored?.attributes ?? '{}') as Record<string, string>;
    expect(Object.keys(kept)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(kept.a0).toBe(`${'v'.repeat(100)}…[truncated: 400 more characters]`);

    const traces = await post('traces', {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'opspilot.namespace', value: { stringValue: 'limits' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  name: `GET /${'p'.repeat(100)}`,
                  startTimeUnixNano: String(Date.now() * 1e6),
                  endTimeUnixNano: String(Date.now() * 1e6 + 1000),
                  events: [{ name: 'one' }, { name: 'two' }, { name: 'three' }],
                },
              ],
            },
          ],
        },
      ],
    });
    expect(traces.status).toBe(200);
    // The warning names the first cut: the span's events.
    expect(
      ((await traces.json()) as { partialSuccess?: { errorMessage?: string } }).partialSuccess?.errorMessage,
    ).toContain('spans[0].events has more than 2 events; the rest were dropped (otlp.maxSpanEvents)');
    const [span] = await server.opspilot.telemetry.store.query<{ name: string; events: string }>(
      `SELECT name, events FROM spans s JOIN resources r ON r.id = resource_id WHERE r.namespace = 'limits'`,
    );
    expect(span?.name).toBe(`GET /${'p'.repeat(45)}…[truncated: 55 more characters]`);
    expect((JSON.parse(span?.events ?? '[]') as { name: string }[]).map((event) => event.name)).toEqual([
      'one',
      'two',
    ]);
  });
});

describe('OTLP record validation', () => {
  it('rejects a poisoned record alone: 20 concurrent requests of another tenant are stored', async () => {
    const now = String(Date.now() * 1e6);
    const poisoned = post(
      'logs',
      logsRequest('tenant-a', [
        { timeUnixNano: '999999999999999999999999999999', body: { stringValue: 'poison' } },
        { timeUnixNano: now, body: { stringValue: 'fine, beside the poison' } },
      ]),
    );
    const others = Array.from({ length: 20 }, (_, index) =>
      post(
        'logs',
        logsRequest('tenant-b', [
          { timeUnixNano: now, body: { stringValue: `request ${index} line 1` } },
          { timeUnixNano: now, body: { stringValue: `request ${index} line 2` } },
        ]),
      ),
    );
    const answer = await poisoned;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({
      partialSuccess: {
        rejectedLogRecords: '1',
        errorMessage: expect.stringContaining(
          'resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano is out of range',
        ) as string,
      },
    });
    const statuses = await Promise.all(others.map(async (response) => (await response).status));
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
    expect(await count('logs', 'tenant-b')).toBe(40);
    expect(await count('logs', 'tenant-a')).toBe(1);
  });

  it.each([
    ['timeUnixNano', { timeUnixNano: '18446744073709551616' }, 'timeUnixNano is out of range'],
    ['a negative time', { timeUnixNano: '-5' }, 'timeUnixNano is out of range'],
    ['a fractional time', { observedTimeUnixNano: '1.5' }, 'observedTimeUnixNano must be an integer'],
    ['traceId', { traceId: 'not hex at all, and not 32 long' }, 'traceId must be 32 hex characters'],
    ['spanId', { spanId: '0102' }, 'spanId must be 16 hex characters'],
    ['attributes', { attributes: { key: 'x' } }, 'attributes must be an array of {key, value}'],
    [
      'an integer value',
      { attributes: [{ key: 'n', value: { intValue: 'many' } }] },
      'attributes.n must be a number',
    ],
  ])('rejects a log record with a bad %s alone, naming the field', async (_name, fields, message) => {
    const response = await post(
      'logs',
      logsRequest('validation', [
        { body: { stringValue: 'good' } },
        { body: { stringValue: 'bad' }, ...fields },
      ]),
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      partialSuccess: { rejectedLogRecords: string; errorMessage: string };
    };
    expect(answer.partialSuccess.rejectedLogRecords).toBe('1');
    expect(answer.partialSuccess.errorMessage).toContain(
      `resourceLogs[0].scopeLogs[0].logRecords[1].${message}`,
    );
  });

  it('rejects protobuf spans with times past int64 or ids of the wrong length alone, with partial success', async () => {
    const traceId = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
    const span = (id: string, start: bigint, trace = traceId): Buffer =>
      Buffer.concat([
        frame(1, trace),
        frame(2, Buffer.from(id, 'hex')),
        frame(5, Buffer.from(`span ${id}`)),
        fixed64(7, start),
        fixed64(8, start + 1000n),
      ]);
    const now = BigInt(Date.now()) * 1_000_000n;
    const resource = frame(
      1,
      frame(
        1,
        Buffer.concat([
          frame(1, Buffer.from('opspilot.namespace')),
          frame(2, frame(1, Buffer.from('proto'))),
        ]),
      ),
    );
    const scopeSpans = Buffer.concat([
      frame(2, span('00000000000000a1', now)),
      frame(2, span('00000000000000a2', 2n ** 64n - 2000n)),
      frame(2, span('00000000000000a3', now, Buffer.from([1, 2, 3]))),
    ]);
    const response = await fetch(`${otlp}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: frame(1, Buffer.concat([resource, frame(2, scopeSpans)])),
    });
    expect(response.status).toBe(200);
    const partial = partialSuccess(Buffer.from(await response.arrayBuffer()));
    expect(partial.rejected).toBe(2);
    expect(partial.message).toContain('2 of 3 records were rejected');
    expect(partial.message).toContain('start_time_unix_nano');
    const names = await server.opspilot.telemetry.store.query<{ name: string }>(
      `SELECT name FROM spans s JOIN resources r ON r.id = resource_id WHERE r.namespace = 'proto'`,
    );
    expect(names).toEqual([{ name: 'span 00000000000000a1' }]);
  });
});

/** A length-delimited field. */
function frame(field: number, bytes: Buffer): Buffer {
  const header = new ProtoWriter().tag(field, wireType.lengthDelimited).varint(bytes.length).finish();
  return Buffer.concat([header, bytes]);
}

function fixed64(field: number, value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return Buffer.concat([new ProtoWriter().tag(field, wireType.fixed64).finish(), bytes]);
}

/** Export*ServiceResponse.partial_success = 1 { rejected = 1, error_message = 2 }. */
function partialSuccess(response: Buffer): { rejected: number; message: string } {
  const result = { rejected: 0, message: '' };
  const reader = new ProtoReader(response);
  while (!reader.done) {
    const [field, type] = reader.tag();
    if (field !== 1) {
      reader.skip(type);
      continue;
    }
    const end = reader.delimited();
    while (reader.position < end) {
      const [inner, innerType] = reader.tag();
      if (inner === 1) result.rejected = reader.uint64();
      else if (inner === 2) result.message = reader.string();
      else reader.skip(innerType);
    }
  }
  return result;
}
