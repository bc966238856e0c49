// OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/traces, /v1/metrics and
// /v1/logs with protobuf or JSON bodies, optionally gzip-compressed. Answers with Export*ServiceResponse (and
// partial success when records were dropped); failures carry a google.rpc.Status body; overload answers
// 429/503 with Retry-After so that clients back off instead of opspilot buffering without bound. Bodies are
// read as they arrive and refused (413) the moment they pass their limits, decompressed bytes included.
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { ForbiddenError, InvalidError, UnauthenticatedError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { batchSize, type TelemetryBatch } from '../model.js';
import { OverloadedError } from './ingest-pipeline.js';
import { decodeJson, OtlpJsonError } from './otlp-json.js';
import { decodeProtobuf, type Signal } from './otlp-protobuf.js';
import { ProtoError, ProtoWriter, wireType } from './proto-reader.js';
import type { RecordLimits } from './record-limits.js';
import type { ResourceIdentities } from './resource-identity.js';

export interface OtlpReceiverOptions {
  readonly ingest: (batch: TelemetryBatch) => Promise<void>;
  readonly identities: ResourceIdentities;
  readonly logger: Logger;
  /** Largest request body as sent (compressed or not). */
  readonly maxBodyBytes: number;
  /** Largest body after gzip decompression: decompression stops there. */
  readonly maxDecompressedBytes: number;
  /**
   * Decompressed bytes of the requests being read, decoded or committed at once; past it requests get 503 +
   * Retry-After (a request alone may always use up to maxDecompressedBytes).
   */
  readonly maxInflightBytes: number;
  /** What each record is held to (cut, dropped or rejected). */
  readonly limits: RecordLimits;
  /**
   * Who may send, and into which namespaces. Throws UnauthenticatedError (401) or ForbiddenError (403). Unset:
   * everyone, everywhere.
   */
  readonly authorize?: (request: IngestRequest) => Promise<IngestPermit>;
}

export interface IngestRequest {
  readonly authorization: string | undefined;
  readonly remoteAddress: string;
  readonly userAgent: string;
  readonly signal: Signal;
}

/** Namespaces a sender may write telemetry into; records of other namespaces are rejected (partial success). */
export interface IngestPermit {
  readonly namespaces: '*' | ReadonlySet<string>;
}

/** The receiver's byte counters, for operators and for tests that hold it to its limits. */
export interface ReceiverStats {
  /** Bytes the gzip decompressor has produced, over all requests. */
  readonly decompressedBytes: number;
  /** Decompressed bytes of the requests being read, decoded or committed now. */
  readonly inflightBytes: number;
  /** The most inflightBytes has been. */
  readonly peakInflightBytes: number;
}

export interface OtlpReceiver {
  /** The Fastify app, not listening yet. */
  readonly app: FastifyInstance;
  stats(): ReceiverStats;
}

const paths: Record<string, Signal> = {
  '/v1/traces': 'traces',
  '/v1/metrics': 'metrics',
  '/v1/logs': 'logs',
};

/** google.rpc.Code values used in Status bodies. */
const rpcCode = {
  invalidArgument: 3,
  permissionDenied: 7,
  resourceExhausted: 8,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
} as const;

/** A request refused while its body is read; the error handler answers it. */
class BodyRefusal extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** The decompressed bytes one request holds of the in-flight budget. */
interface Reservation {
  bytes: number;
}

/** Decompressed bytes in flight across requests, bounded by maxInflightBytes. */
class InflightBudget {
  used = 0;
  peak = 0;

  constructor(readonly max: number) {}

  /** Adds `bytes` to the reservation; false when they do not fit beside what other requests hold. */
  take(reservation: Reservation, bytes: number): boolean {
    if (this.used + bytes > this.max && this.used > reservation.bytes) return false;
    this.used += bytes;
    reservation.bytes += bytes;
    this.peak = Math.max(this.peak, this.used);
    return true;
  }

  release(reservation: Reservation): void {
    this.used -= reservation.bytes;
    reservation.bytes = 0;
  }
}

export function createOtlpReceiver(options: OtlpReceiverOptions): OtlpReceiver {
  const logger: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
  });
  const budget = new InflightBudget(options.maxInflightBytes);
  let decompressedBytes = 0;
  const reservations = new WeakMap<FastifyRequest['raw'], Reservation>();
  const permits = new WeakMap<FastifyRequest, IngestPermit>();

  /**
   * Reads the body as it arrives, gunzipping it when it says so, and stops (without reading further) as soon as
   * it passes maxBodyBytes as sent, maxDecompressedBytes decompressed, or the in-flight budget.
   */
  const readBody = (
    request: FastifyRequest,
    payload: Readable,
    done: (error: Error | null, body?: Buffer) => void,
  ): void => {
    const reservation = reservations.get(request.raw) ?? { bytes: 0 };
    const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity') {
      done(new BodyRefusal(415, `unsupported content-encoding ${encoding}; use gzip or none`));
      return;
    }
    const tooLarge = new BodyRefusal(
      413,
      `request body is larger than ${options.maxBodyBytes} bytes (otlp.maxBodyBytes); send smaller batches`,
    );
    if (Number(request.headers['content-length']) > options.maxBodyBytes) {
      done(tooLarge);
      return;
    }
    const gunzip = encoding === 'gzip' ? createGunzip() : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let size = 0;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
      gunzip?.destroy();
      if (error === undefined) {
        done(null, Buffer.concat(chunks, size));
        return;
      }
      budget.release(reservation);
      chunks.length = 0;
      done(error);
    };
    const take = (chunk: Buffer): void => {
      if (settled) return;
      if (size + chunk.length > options.maxDecompressedBytes) {
        finish(
          new BodyRefusal(
            413,
            `decompressed body is larger than ${options.maxDecompressedBytes} bytes (otlp.maxDecompressedBytes); send smaller batches`,
          ),
        );
      } else if (!budget.take(reservation, chunk.length)) {
        finish(
          new BodyRefusal(
            503,
            `telemetry ingest is busy decoding other requests: their decompressed bodies fill otlp.maxInflightBytes (${options.maxInflightBytes} bytes); retry later`,
          ),
        );
      } else {
        chunks.push(chunk);
        size += chunk.length;
      }
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > options.maxBodyBytes) finish(tooLarge);
      else if (gunzip === undefined) take(chunk);
      else gunzip.write(chunk);
    };
    const onEnd = (): void => {
      if (gunzip === undefined) finish();
      else gunzip.end();
    };
    const onError = (error: Error): void => {
      finish(new BodyRefusal(400, `the request body could not be read: ${error.message}`));
    };
    if (gunzip !== undefined) {
      gunzip.on('data', (chunk: Buffer) => {
        decompressedBytes += chunk.length;
        take(chunk);
      });
      gunzip.on('end', () => {
        finish();
      });
      gunzip.on('error', (error) => {
        finish(new BodyRefusal(400, `body is not valid gzip: ${error.message}`));
      });
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  };

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/x-protobuf', 'application/protobuf', 'application/json'],
    (request, payload, done) => {
      readBody(request, payload, done);
    },
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const json = isJson(request.headers['content-type']);
    if (error instanceof BodyRefusal) {
      if (error.statusCode === 503) return retryLater(reply, 503, json, error.message);
      // Oversized and undecodable bodies are a sender's fault, maybe an attack: say who sent them.
      request.log.warn(
        {
          remoteAddress: request.socket.remoteAddress,
          userAgent: request.headers['user-agent'],
          status: error.statusCode,
        },
        `OTLP request refused: ${error.message}`,
      );
      return sendStatus(reply, error.statusCode, json, rpcCode.invalidArgument, error.message);
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendStatus(
        reply,
        415,
        false,
        rpcCode.invalidArgument,
        'content-type must be application/x-protobuf or application/json',
      );
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendStatus(reply, error.statusCode, json, rpcCode.invalidArgument, error.message);
    }
    request.log.error({ err: error }, 'OTLP request failed');
    return sendStatus(reply, 500, json, rpcCode.internal, 'the receiver failed; see the opspilot log');
  });

  /** Before the body is read: who sends (so that no one unknown makes the receiver decompress anything). */
  const admit = async (signal: Signal, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const reservation: Reservation = { bytes: 0 };
    reservations.set(request.raw, reservation);
    reply.raw.once('close', () => {
      budget.release(reservation);
    });
    if (options.authorize === undefined) return;
    const json = isJson(request.headers['content-type']);
    try {
      permits.set(
        request,
        await options.authorize({
          authorization: request.headers.authorization,
          remoteAddress: request.socket.remoteAddress ?? '',
          userAgent: request.headers['user-agent'] ?? 'unknown',
          signal,
        }),
      );
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        reply.header('www-authenticate', 'Bearer realm="opspilot-otlp"');
        sendStatus(reply, 401, json, rpcCode.unauthenticated, `${error.message}. ${error.hint ?? ''}`.trim());
        return;
      }
      if (error instanceof ForbiddenError) {
        sendStatus(
          reply,
          403,
          json,
          rpcCode.permissionDenied,
          `${error.message}. ${error.hint ?? ''}`.trim(),
        );
        return;
      }
      throw error;
    }
  };

  const receive = async (signal: Signal, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const json = isJson(request.headers['content-type']);
    const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    let batch: TelemetryBatch;
    try {
      batch = json
        ? decodeJson(
            signal,
            JSON.parse(body.toString('utf8')) as unknown,
            options.identities,
            undefined,
            options.limits,
          )
        : decodeProtobuf(signal, body, options.identities, options.limits);
    } catch (error) {
      if (
        error instanceof SyntaxError ||
        error instanceof OtlpJsonError ||
        error instanceof ProtoError ||
        error instanceof RangeError
      ) {
        sendStatus(
          reply,
          400,
          json,
          rpcCode.invalidArgument,
          `malformed ${json ? 'JSON' : 'protobuf'} ${signal} request: ${error.message}`,
        );
        return;
      }
      throw error;
    }

    const permit = permits.get(request);
    if (permit !== undefined && permit.namespaces !== '*')
      batch = restrictToNamespaces(batch, permit.namespaces);

    try {
      await options.ingest(batch);
    } catch (error) {
      if (error instanceof OverloadedError) {
        retryLater(reply, 429, json, error.message, error.retryAfterSeconds);
      } else if (error instanceof InvalidError) {
        // The store refused this request's records (and only them): sending them again would not help.
        sendStatus(
          reply,
          400,
          json,
          rpcCode.invalidArgument,
          `${error.message}; none of this request was stored`,
        );
      } else {
        request.log.error({ err: error }, 'could not store telemetry');
        retryLater(reply, 503, json, 'the telemetry store is unavailable');
      }
      return;
    }
    sendResponse(reply, signal, json, batch);
  };

  for (const [path, signal] of Object.entries(paths)) {
    app.post(path, {
      onRequest: async (request, reply) => {
        await admit(signal, request, reply);
        return reply.sent ? reply : undefined;
      },
      handler: async (request, reply) => {
        await receive(signal, request, reply);
        return reply;
      },
    });
  }
  return {
    app,
    stats: () => ({ decompressedBytes, inflightBytes: budget.used, peakInflightBytes: budget.peak }),
  };
}

/** The batch without records of namespaces outside the permit; those count as rejected, with the reason. */
export function restrictToNamespaces(batch: TelemetryBatch, allowed: ReadonlySet<string>): TelemetryBatch {
  const outside = new Set<string>();
  const keep = <T extends { resource: { namespace: string } }>(records: T[]): T[] =>
    records.filter((record) => {
      if (allowed.has(record.resource.namespace)) return true;
      outside.add(record.resource.namespace);
      return false;
    });
  const logs = keep(batch.logs);
  const spans = keep(batch.spans);
  const points = keep(batch.points);
  if (outside.size === 0) return batch;
  return {
    logs,
    spans,
    points,
    truncated: batch.truncated,
    rejected: {
      logs: batch.rejected.logs + batch.logs.length - logs.length,
      spans: batch.rejected.spans + batch.spans.length - spans.length,
      points: batch.rejected.points + batch.points.length - points.length,
      reason:
        batch.rejected.reason ??
        `this token may not write telemetry of namespace ${[...outside].sort().join(', ')} (resource attribute opspilot.namespace or service.namespace)`,
    },
  };
}

function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').toLowerCase().startsWith('application/json');
}

/**
 * Export*ServiceResponse, with partial_success when records were rejected, or (rejected count 0, as the OTLP
 * specification allows for warnings) when values were cut to the limits.
 */
function sendResponse(reply: FastifyReply, signal: Signal, json: boolean, batch: TelemetryBatch): void {
  const rejected =
    signal === 'logs'
      ? batch.rejected.logs
      : signal === 'traces'
        ? batch.rejected.spans
        : batch.rejected.points;
  const countField = { logs: 'rejectedLogRecords', traces: 'rejectedSpans', metrics: 'rejectedDataPoints' }[
    signal
  ];
  const total = rejected + batchSize(batch);
  const { truncated } = batch;
  const cut =
    truncated.reason === null
      ? ''
      : `${truncated.records > 0 ? `${truncated.records} of ${total} records had ` : ''}values cut to the receiver's limits: ${truncated.reason}`;
  const message = [
    rejected > 0 ? `${rejected} of ${total} records were rejected: ${batch.rejected.reason ?? ''}` : '',
    cut,
  ]
    .filter((part) => part !== '')
    .join('; ');
  if (json) {
    const partialSuccess = {
      ...(rejected > 0 ? { [countField]: String(rejected) } : {}),
      errorMessage: message,
    };
    reply
      .code(200)
      .type('application/json')
      .send(message === '' ? {} : { partialSuccess });
    return;
  }
  const response = new ProtoWriter();
  if (message !== '') {
    // partial_success = 1 { rejected_* = 1 (int64), error_message = 2 }
    const partial = new ProtoWriter();
    if (rejected > 0) partial.tag(1, wireType.varint).varint(rejected);
    response.message(1, partial.string(2, message));
  }
  reply.code(200).type('application/x-protobuf').send(response.finish());
}

/** A google.rpc.Status body (code = 1, message = 2) in the request's encoding. */
function sendStatus(
  reply: FastifyReply,
  status: number,
  json: boolean,
  code: number,
  message: string,
): FastifyReply {
  if (json) return reply.code(status).type('application/json').send({ code, message });
  const body = new ProtoWriter().tag(1, wireType.varint).varint(code).string(2, message).finish();
  return reply.code(status).type('application/x-protobuf').send(body);
}

function retryLater(
  reply: FastifyReply,
  status: 429 | 503,
  json: boolean,
  message: string,
  seconds = 1,
): FastifyReply {
  reply.header('retry-after', String(seconds));
  return sendStatus(
    reply,
    status,
    json,
    status === 429 ? rpcCode.resourceExhausted : rpcCode.unavailable,
    message,
  );
}
