// The OpenFeature Remote Evaluation Protocol (OFREP, github.com/open-feature/protocol): single and bulk
// evaluation of FeatureFlags. Thin: read the evaluation context, call the governed evaluation, shape the answer in
// OFREP's wire form (the bulk answer carries an ETag). A refusal is problem+json like every other route's, with
// OFREP's `key`, `errorCode` and `errorDetails` as extension members (RFC 9457 §3.2), so both kinds of client read it.
import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidError } from '../../core/errors.js';
import type { FlagEvaluationRequest } from '../../governance/governed-services.js';
import type { FlagFailure, FlagResolution } from '../../platform/flags/evaluate-flag.js';
import { governed } from '../authentication.js';
import { problem, problemSchema } from '../problem.js';
import { route } from '../route-actions.js';

const tags = ['flags'];

/** OFREP's evaluation context: free-form, of which opspilot reads these fields (strings when present). */
const evaluationRequestSchema = z.object({
  context: z.record(z.string(), z.unknown()).optional(),
});

const successSchema = z.object({
  key: z.string(),
  value: z.unknown(),
  reason: z.string(),
  variant: z.string(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
const failureSchema = z.object({ key: z.string(), errorCode: z.string(), errorDetails: z.string() });
const refusalSchema = problemSchema.extend({
  key: z.string().optional(),
  errorCode: z.string().optional(),
  errorDetails: z.string().optional(),
});

function refuse(
  reply: FastifyReply,
  code: 'invalid' | 'not_found',
  key: string | undefined,
  errorCode: string,
  details: string,
): FastifyReply {
  const hint =
    code === 'not_found'
      ? "List the namespace's flags with `opspilot get flags -n NS`."
      : 'The context takes string fields namespace, component, environment, tenant and targetingKey.';
  const body = {
    ...problem(code, details, { hint }),
    ...(key === undefined ? {} : { key }),
    errorCode,
    errorDetails: details,
  };
  return reply.code(body.status).type('application/problem+json').send(body);
}

const contextFields = ['namespace', 'component', 'environment', 'tenant', 'targetingKey'] as const;

/** The fields opspilot reads, or the name of the first one that is not a string. */
function readContext(
  context: Record<string, unknown> | undefined,
): FlagEvaluationRequest['context'] | { invalid: string } {
  const read: Record<string, string> = {};
  for (const field of contextFields) {
    const value = context?.[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') return { invalid: field };
    read[field] = value;
  }
  return read;
}

function success(result: FlagResolution): z.infer<typeof successSchema> {
  return {
    key: result.key,
    value: result.value,
    reason: result.reason,
    variant: result.variant,
    metadata: result.flagMetadata,
  };
}

function wire(result: FlagResolution | FlagFailure): z.infer<typeof successSchema> | FlagFailure {
  return 'errorCode' in result ? result : success(result);
}

export const flagRoutes: FastifyPluginAsyncZod = (app) => {
  app.post(
    '/ofrep/v1/evaluate/flags/:key',
    {
      ...route('POST /ofrep/v1/evaluate/flags/:key'),
      schema: {
        tags,
        summary:
          'OFREP: evaluate one FeatureFlag for an evaluation context (namespace, environment, tenant…)',
        params: z.object({ key: z.string().min(1) }),
        body: evaluationRequestSchema.optional(),
        response: {
          200: successSchema,
          400: refusalSchema,
          401: problemSchema,
          403: problemSchema,
          404: refusalSchema,
        },
      },
    },
    async (request, reply) => {
      const { key } = request.params;
      const context = readContext(request.body?.context);
      if ('invalid' in context) {
        return refuse(
          reply,
          'invalid',
          key,
          'INVALID_CONTEXT',
          `context.${context.invalid} must be a non-empty string`,
        );
      }
      let results: (FlagResolution | FlagFailure)[];
      try {
        results = await governed(request).evaluateFlags({ key, context });
      } catch (error) {
        if (!(error instanceof InvalidError)) throw error;
        return refuse(reply, 'invalid', key, 'INVALID_CONTEXT', error.message);
      }
      const [result] = results;
      if (result === undefined) throw new Error('an evaluation of one flag gave no result');
      if ('errorCode' in result) {
        const code = result.errorCode === 'FLAG_NOT_FOUND' ? 'not_found' : 'invalid';
        return refuse(reply, code, key, result.errorCode, result.errorDetails);
      }
      return success(result);
    },
  );

  app.post(
    '/ofrep/v1/evaluate/flags',
    {
      ...route('POST /ofrep/v1/evaluate/flags'),
      schema: {
        tags,
        summary: 'OFREP: evaluate every FeatureFlag of the namespace (ETag; If-None-Match answers 304)',
        body: evaluationRequestSchema.optional(),
        response: {
          200: z.object({ flags: z.array(z.union([successSchema, failureSchema])) }),
          304: z.null(),
          400: refusalSchema,
          401: problemSchema,
          403: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const context = readContext(request.body?.context);
      if ('invalid' in context) {
        return refuse(
          reply,
          'invalid',
          undefined,
          'INVALID_CONTEXT',
          `context.${context.invalid} must be a non-empty string`,
        );
      }
      let results: (FlagResolution | FlagFailure)[];
      try {
        results = await governed(request).evaluateFlags({ context });
      } catch (error) {
        if (!(error instanceof InvalidError)) throw error;
        return refuse(reply, 'invalid', undefined, 'INVALID_CONTEXT', error.message);
      }
      const body = { flags: results.map(wire) };
      const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
      void reply.header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return body;
    },
  );
  return Promise.resolve();
};
