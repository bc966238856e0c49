// Authentication for every route that is not public: a bearer token becomes a Caller and a GovernedServices
// on the request. A route without an entry in route-actions.ts refuses to register, so none is left open by
// accident. Unauthenticated and forbidden requests are audited like the others. URLs named in challenges and
// the MCP audience come from the server's own URL (server.publicUrl or the listen address), never from the
// request's Host header.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../core/errors.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Edge } from '../governance/principal.js';
import { problem, sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every non-public route. */
    governedServices: GovernedServices | null;
  }
}

/** The governed services of an authenticated request (every non-public route has them). */
export function governed(request: FastifyRequest): GovernedServices {
  if (request.governedServices === null) {
    throw new UnauthenticatedError('this route needs a bearer token');
  }
  return request.governedServices;
}

export const mcpPaths = ['/mcp/control-plane', '/mcp/observability'] as const;

/** The client software (its user agent) and the edge it came through (`opspilot-cli` is the CLI). */
export function callerEdge(request: FastifyRequest): { client: string; edge: Edge } {
  const client = request.headers['user-agent'] ?? 'unknown';
  const path = request.url.split('?')[0] ?? '';
  const edge: Edge = mcpPaths.some((candidate) => candidate === path)
    ? 'mcp'
    : client.startsWith('opspilot-cli')
      ? 'cli'
      : 'rest';
  return { client, edge };
}

export function installAuthentication(app: FastifyInstance, governance: GovernanceGateway): void {
  app.decorateRequest('governedServices', null);
  app.addHook('onRoute', (options) => {
    const methods = Array.isArray(options.method) ? options.method : [options.method];
    if (methods.every((method) => method === 'HEAD')) return;
    if (options.config?.action === undefined) {
      throw new Error(
        `route ${methods.join(',')} ${options.url} has no action: add it to src/api/route-actions.ts and register it with route(id)`,
      );
    }
  });
  app.addHook('onRequest', async (request, reply) => {
    const action = request.routeOptions.config.action;
    if (action === undefined || action === 'public') return;
    const started = performance.now();
    const path = request.url.split('?')[0] ?? '';
    const mcpPath = mcpPaths.find((candidate) => path === candidate);
    // RFC 8707: an MCP endpoint also accepts tokens minted for its own resource URL (as configured, not as
    // the client spelled the Host).
    const serverUrl = governance.serverUrl;
    const audiences = [
      governance.auth.audience,
      ...(mcpPath === undefined ? [] : [`${serverUrl}${mcpPath}`]),
    ];
    const { client: userAgent, edge } = callerEdge(request);
    const trail = request.auditTrail ?? undefined;
    let principal;
    try {
      principal = await governance.authenticate(request.headers.authorization, audiences);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      const target = `${request.method} ${path}`;
      await governance.recordDenial(
        { principal: undefined, client: userAgent, edge, action, target, trail },
        error.message,
        started,
      );
      return challenge(
        request,
        reply,
        error,
        `${serverUrl}/.well-known/oauth-protected-resource${mcpPath ?? ''}`,
      );
    }
    request.governedServices = governance.forCaller({ principal, edge, client: userAgent, trail });
    // The coarse gate: the route's action somewhere. Services check the exact scope of every call.
    if (!request.governedServices.may(action)) {
      const reason = `${principal.subject} has no role that allows ${action}`;
      const target = `${request.method} ${path}`;
      await governance.recordDenial(
        { principal, client: userAgent, edge, action, target, trail },
        reason,
        started,
      );
      const body = problem('forbidden', reason, {
        hint: `Ask an admin for a RoleBinding whose role includes ${action} (see docs/governance.md).`,
      });
      if (mcpPath !== undefined) {
        void reply.header(
          'www-authenticate',
          `Bearer error="insufficient_scope", resource_metadata="${serverUrl}/.well-known/oauth-protected-resource${mcpPath}"`,
        );
      }
      return sendProblem(reply, body);
    }
    return undefined;
  });
}

/** 401 with a challenge that tells clients where the resource metadata is (RFC 6750, RFC 9728). */
function challenge(
  request: FastifyRequest,
  reply: FastifyReply,
  error: UnauthenticatedError,
  metadata: string,
): FastifyReply {
  const sent = request.headers.authorization !== undefined;
  const parameters = [
    'realm="opspilot"',
    ...(sent ? ['error="invalid_token"', `error_description="${error.message.replace(/"/g, "'")}"`] : []),
    `resource_metadata="${metadata}"`,
  ];
  void reply.header('www-authenticate', `Bearer ${parameters.join(', ')}`);
  return sendProblem(
    reply,
    problem('unauthenticated', error.message, error.hint === undefined ? {} : { hint: error.hint }),
  );
}
