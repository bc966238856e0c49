// The one place where errors become HTTP responses: RFC 9457 problem details (application/problem+json).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isDomainError, type DomainErrorCode, type FieldIssue } from '../core/errors.js';

const statusByCode: Record<DomainErrorCode, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  needs_approval: 202,
  unavailable: 503,
  internal: 500,
};

const titleByCode: Record<DomainErrorCode, string> = {
  invalid: 'Invalid request',
  unauthenticated: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  conflict: 'Conflict',
  needs_approval: 'Needs approval',
  unavailable: 'Service unavailable',
  internal: 'Internal error',
};

/** What to do, for a refusal whose error says only what was wrong. */
const hintByCode: Record<DomainErrorCode, string> = {
  invalid: 'Change the request as detail (and errors) say; GET /api/v1/openapi.json describes every route.',
  unauthenticated: 'Send Authorization: Bearer <token>; opspilot token create makes one.',
  forbidden: 'Ask an admin for a RoleBinding whose role allows it (see docs/governance.md).',
  not_found: 'Check the name and namespace; a GET on the collection lists what exists.',
  conflict: 'Read the current state again, then retry with a request that fits it.',
  needs_approval: 'Another person approves it: opspilot proposals approve ID.',
  unavailable: 'Retry later; the server log says what is unavailable.',
  internal: 'The server log has the details.',
};

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    code: z.string(),
    detail: z.string(),
    hint: z.string().optional(),
    errors: z
      .array(z.object({ document: z.number().optional(), path: z.string(), message: z.string() }))
      .optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export type Problem = z.infer<typeof problemSchema>;

export function problem(
  code: DomainErrorCode,
  detail: string,
  extra: { hint?: string; errors?: readonly FieldIssue[] } = {},
): Problem {
  return {
    type: `https://opspilot.dev/problems/${code.replace(/_/g, '-')}`,
    title: titleByCode[code],
    status: statusByCode[code],
    code,
    detail,
    ...(extra.hint === undefined ? {} : { hint: extra.hint }),
    ...(extra.errors === undefined || extra.errors.length === 0 ? {} : { errors: [...extra.errors] }),
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

export function errorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const part = error.validationContext ?? 'request';
    const errors = error.validation.map((issue) => ({
      path: [part, ...issue.instancePath.split('/').filter((segment) => segment !== '')].join('.'),
      message: issue.message ?? 'is not valid',
    }));
    return sendProblem(
      reply,
      problem('invalid', `the request ${part} is not valid`, {
        errors,
        hint: `Fix the ${part} fields listed in errors; GET /api/v1/openapi.json describes every route.`,
      }),
    );
  }
  if (isDomainError(error)) {
    const issues = 'issues' in error ? (error.issues as readonly FieldIssue[]) : undefined;
    return sendProblem(
      reply,
      problem(error.code, error.message, {
        hint: error.hint ?? hintByCode[error.code],
        ...(issues === undefined ? {} : { errors: issues }),
      }),
    );
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    // Fastify's own client errors: bad JSON, unsupported media type, body too large.
    const body = problem('invalid', error.message, {
      hint: 'Send a body of at most 5 MiB as content-type application/json (apply also takes application/yaml), as GET /api/v1/openapi.json describes it.',
    });
    return sendProblem(reply, { ...body, status: error.statusCode });
  }
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, problem('internal', 'the server failed to handle the request; see its log'));
}
