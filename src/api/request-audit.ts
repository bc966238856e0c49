// Every REST request leaves an audit record. Services record what they decide (through the request's trail);
// this edge records what no service saw: a request refused for its shape or an unknown route, a body that does
// not parse, an answer given by the edge alone. A request whose record cannot be written gets 503, never its
// answer. It also makes every /api route refuse query parameters it does not know, instead of ignoring them.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { UnavailableError, errorMessage } from '../core/errors.js';
import type { AuditDecision, AuditTrail } from '../governance/audit/audit-log.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Principal } from '../governance/principal.js';
import { resourceNameSchema } from '../platform/resource-kinds.js';
import { callerEdge, mcpPaths } from './authentication.js';
import { problem, sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's audit records so far; set when it arrives. */
    auditTrail: AuditTrail | null;
    /** When it arrived (performance.now()). */
    arrivedAt: number;
  }
}

/** How much of a URL or a message a record keeps: the request is untrusted and may be huge. */
const maxText = 300;
const maxReasons = 10;

/** Which requests this edge answers for: the REST API and the token endpoint (MCP audits its own). */
function isRest(path: string): boolean {
  return (path.startsWith('/api/') || path.startsWith('/oauth/')) && !mcpPaths.some((mcp) => mcp === path);
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '';
}

export function installRequestAudit(app: FastifyInstance, governance: GovernanceGateway): void {
  app.decorateRequest('auditTrail', null);
  app.decorateRequest('arrivedAt', 0);

  app.addHook('onRoute', (options) => {
    if (!isRest(options.url)) return;
    const schema = (options.schema ??= {});
    const query = schema.querystring;
    if (query === undefined) schema.querystring = z.strictObject({});
    else if (query instanceof z.ZodObject) schema.querystring = query.strict();
    else throw new Error(`route ${options.url}: its querystring schema must be a zod object`);
  });

  app.addHook('onRequest', (request, _reply, done) => {
    request.auditTrail = governance.newTrail();
    request.arrivedAt = performance.now();
    done();
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = pathOf(request);
    return sendProblem(
      reply,
      problem('not_found', `there is no route ${request.method} ${clip(path)}`, {
        hint: isRest(path)
          ? 'GET /api/v1/openapi.json lists every route and its methods.'
          : 'The dashboard is at /, the API under /api/v1 (GET /api/v1/openapi.json).',
      }),
    );
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const path = pathOf(request);
    const trail = request.auditTrail;
    if (!isRest(path) || trail === null || trail.records > 0) return payload;
    const action = request.routeOptions.config.action;
    // Public answers (health, metadata, a token) are not actions; refusing one is.
    if ((action === undefined || action === 'public') && reply.statusCode < 400) return payload;
    try {
      await recordRequest(governance, request, reply.statusCode, parsed(payload), {
        action,
        trail,
        started: request.arrivedAt,
      });
    } catch (error) {
      return withheld(request, reply, error);
    }
    return payload;
  });
}

/**
 * Fastify's own refusals before routing (a path that is not valid URL encoding, or a segment over
 * maxParamLength): no hook runs for them, so they are answered and audited here.
 */
export function frameworkErrorHandler(
  governance: GovernanceGateway,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const started = performance.now();
    const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
    const body =
      tooLong || error.code === 'FST_ERR_BAD_URL'
        ? {
            ...problem(
              'invalid',
              tooLong
                ? 'a part of the path is longer than the server accepts'
                : 'the path is not valid URL encoding',
              {
                hint: 'Names are at most 63 characters of a-z, 0-9 and -; encode other characters as %XX.',
              },
            ),
            status: tooLong ? 414 : 400,
          }
        : problem('internal', 'the server failed to route the request; see its log', {
            hint: 'The server log has the details.',
          });
    const send = async (): Promise<void> => {
      try {
        if (isRest(pathOf(request))) {
          await recordRequest(governance, request, body.status, body, { started });
        }
        sendProblem(reply, body);
      } catch (failure) {
        reply.send(withheld(request, reply, failure));
      }
    };
    void send();
  };
}

/** Writes the edge's record of a request from the answer it gets; rejects when it cannot be written. */
async function recordRequest(
  governance: GovernanceGateway,
  request: FastifyRequest,
  status: number,
  answer: Record<string, unknown> | undefined,
  context: { action?: string | undefined; trail?: AuditTrail | undefined; started: number },
): Promise<void> {
  const { action, trail } = context;
  await governance.recordAtEdge({
    principal: await principalOf(request, governance),
    ...callerEdge(request),
    action: action ?? '(no route)',
    namespace: namespaceOf(request.params),
    target: `${request.method} ${clip(pathOf(request))}`,
    args: { query: request.query ?? null, body: request.body ?? null },
    ...verdict(status, answer, action),
    details: { status },
    started: context.started,
    trail,
  });
}

/** What the edge says about a request no service recorded, from the answer it is about to send. */
function verdict(
  status: number,
  answer: Record<string, unknown> | undefined,
  action: string | undefined,
): { decision: AuditDecision; reasons: string[]; result: string } {
  if (status < 400) {
    return {
      decision: 'allow',
      reasons: [`answered by the REST edge: the caller holds ${action ?? 'the route'}`],
      result: 'ok',
    };
  }
  const detail = [answer?.detail, answer?.error_description, answer?.message].find(
    (text): text is string => typeof text === 'string',
  );
  const issues = Array.isArray(answer?.errors) ? (answer.errors as unknown[]) : [];
  const reasons = [
    detail ?? `HTTP ${status}`,
    ...issues.slice(0, maxReasons).map((issue) => {
      const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
      return `${String(path)}: ${String(message)}`;
    }),
  ].map(clip);
  const code = [answer?.code, answer?.error].find((text): text is string => typeof text === 'string');
  return {
    // A refusal is a denial; a server failure decided nothing.
    decision: status < 500 ? 'deny' : 'none',
    reasons,
    result: `error:${clip(code ?? String(status))}`,
  };
}

/** The answer's JSON body, when it has one (problem details, an OAuth error). */
function parsed(payload: unknown): Record<string, unknown> | undefined {
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '';
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Who asked: the authenticated caller, or for a route that needs no token (or none that matched) whoever the
 * token names if it verifies. A token that does not verify names nobody; the answer stays the same.
 */
async function principalOf(
  request: FastifyRequest,
  governance: GovernanceGateway,
): Promise<Principal | undefined> {
  // Refusals before routing come with a bare request: no decorations.
  const services = request.governedServices as GovernedServices | null | undefined;
  if (services !== null && services !== undefined) return services.caller.principal;
  if (request.headers.authorization === undefined) return undefined;
  try {
    return await governance.authenticate(request.headers.authorization, [governance.auth.audience]);
  } catch {
    return undefined;
  }
}

/** The namespace a request names in its path, when it is a valid name (it is untrusted). */
function namespaceOf(params: unknown): string {
  const namespace = (params as { namespace?: unknown } | undefined)?.namespace;
  return resourceNameSchema.safeParse(namespace).success ? String(namespace) : '';
}

/** No record, no answer: the request gets 503 (this body) instead of what it would have been told. */
function withheld(request: FastifyRequest, reply: FastifyReply, error: unknown): string {
  request.log.error({ err: error }, 'the audit record of a request could not be written');
  const body =
    error instanceof UnavailableError
      ? problem('unavailable', error.message, error.hint === undefined ? {} : { hint: error.hint })
      : problem('unavailable', `the audit record could not be written: ${errorMessage(error)}`, {
          hint: 'The request was not answered. Check the state database, then retry.',
        });
  // Inside onSend the answer is replaced, not sent again.
  void reply.code(body.status).type('application/problem+json');
  return JSON.stringify(body);
}

function clip(text: string): string {
  return text.length <= maxText ? text : `${text.slice(0, maxText)}…`;
}
