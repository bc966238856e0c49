// OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/traces, /v1/metrics and
// /v1/logs with protobuf or JSON bodies, optionally gzip-compressed. Answers with Export*ServiceResponse (and
// partial success when records were dropped); failures carry a google.rpc.Status body; overload answers
// 429/503 with Retry-After so that clients back off instead of opspilot buffering without bound.
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { errorMessage, ForbiddenError, UnauthenticatedError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { batchSize, type TelemetryBatch } from '../model.js';
import { OverloadedError } from './ingest-pipeline.js';
import { decodeJson, OtlpJsonError } from './otlp-json.js';
import { decodeProtobuf, type Signal } from './otlp-protobuf.js';
import { ProtoError, ProtoWriter, wireType } from './proto-reader.js';
import type { ResourceIdentities } from './resource-identity.js';

const gunzipAsync = promisify(gunzip);

export interface OtlpReceiverOptions {
  readonly ingest: (batch: TelemetryBatch) => Promise<void>;
  readonly identities: ResourceIdentities;
  readonly logger: Logger;
  /** Largest request body as sent (compressed or not). */
  readonly maxBodyBytes: number;
  /** Largest body after gzip decompression. */
  readonly maxDecompressedBytes: number;
  /** Bodies being decoded at once, in bytes; past it requests get 503 + Retry-After. */
  readonly maxInflightBytes: number;
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

export function createOtlpReceiver(options: OtlpReceiverOptions): FastifyInstance {
  const logger: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
  });
  let inflight = 0;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/x-protobuf', 'application/protobuf', 'application/json'],
    { parseAs: 'buffer' },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const json = isJson(request.headers['content-type']);
    if (error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendStatus(
        reply,
        413,
        json,
        rpcCode.invalidArgument,
        `request body is larger than ${options.maxBodyBytes} bytes; send smaller batches`,
      );
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

  const receive = async (signal: Signal, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const json = isJson(request.headers['content-type']);
    let permit: IngestPermit = { namespaces: '*' };
    if (options.authorize !== undefined) {
      try {
        permit = await options.authorize({
          authorization: request.headers.authorization,
          remoteAddress: request.socket.remoteAddress ?? '',
          userAgent: request.headers['user-agent'] ?? 'unknown',
          signal,
        });
      } catch (error) {
        if (error instanceof UnauthenticatedError) {
          reply.header('www-authenticate', 'Bearer realm="opspilot-otlp"');
          sendStatus(
            reply,
            401,
            json,
            rpcCode.unauthenticated,
            `${error.message}. ${error.hint ?? ''}`.trim(),
          );
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
    }
    let body = request.body as Buffer;
    if (inflight + body.length > options.maxInflightBytes) {
      retryLater(reply, 503, json, 'telemetry ingest is busy decoding other requests');
      return;
    }
    inflight += body.length;
    try {
      const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (encoding === 'gzip') {
        try {
          body = await gunzipAsync(body, { maxOutputLength: options.maxDecompressedBytes });
        } catch (error) {
          const tooLarge =
            (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ||
            /Cannot create a Buffer larger|maxOutputLength/.test(errorMessage(error));
          if (tooLarge) {
            sendStatus(
              reply,
              413,
              json,
              rpcCode.invalidArgument,
              `decompressed body is larger than ${options.maxDecompressedBytes} bytes`,
            );
          } else {
            sendStatus(
              reply,
              400,
              json,
              rpcCode.invalidArgument,
              `body is not valid gzip: ${errorMessage(error)}`,
            );
          }
          return;
        }
      } else if (encoding !== 'identity') {
        sendStatus(
          reply,
          415,
          json,
          rpcCode.invalidArgument,
          `unsupported content-encoding ${encoding}; use gzip or none`,
        );
        return;
      }

      let batch: TelemetryBatch;
      try {
        batch = json
          ? decodeJson(signal, JSON.parse(body.toString('utf8')) as unknown, options.identities)
          : decodeProtobuf(signal, body, options.identities);
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

      if (permit.namespaces !== '*') batch = restrictToNamespaces(batch, permit.namespaces);

      try {
        await options.ingest(batch);
      } catch (error) {
        if (error instanceof OverloadedError) {
          retryLater(reply, 429, json, error.message, error.retryAfterSeconds);
        } else {
          request.log.error({ err: error }, 'could not store telemetry');
          retryLater(reply, 503, json, 'the telemetry store is unavailable');
        }
        return;
      }
      sendResponse(reply, signal, json, batch);
    } finally {
      inflight -= (request.body as Buffer).length;
    }
  };

  for (const [path, signal] of Object.entries(paths)) {
    app.post(path, async (request, reply) => {
      await receive(signal, request, reply);
      return reply;
    });
  }
  return app;
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

/** Export*ServiceResponse, with partial_success when the decoder dropped records. */
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
  const message =
    rejected > 0
      ? `${rejected} of ${rejected + batchSize(batch)} records were rejected: ${batch.rejected.reason ?? ''}`
      : '';
  if (json) {
    const body =
      rejected > 0 ? { partialSuccess: { [countField]: String(rejected), errorMessage: message } } : {};
    reply.code(200).type('application/json').send(body);
    return;
  }
  const response = new ProtoWriter();
  if (rejected > 0) {
    // partial_success = 1 { rejected_* = 1 (int64), error_message = 2 }
    const partial = new ProtoWriter().tag(1, wireType.varint).varint(rejected).string(2, message);
    response.message(1, partial);
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
