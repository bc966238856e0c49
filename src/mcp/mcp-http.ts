// The MCP endpoints over Streamable HTTP: /mcp/control-plane and /mcp/observability. Authentication is the
// API's hook (401 with resource_metadata, RFC 9728); the caller travels to the tools in authInfo. Stateless:
// a new McpServer per request, so any instance behind a load balancer can answer.
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { Config } from '../config/config-schema.js';
import type { Logger } from '../core/logger.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import { governed } from '../api/authentication.js';
import { route, type RouteId } from '../api/route-actions.js';
import { packageRoot } from '../server/package-info.js';
import { createMcpServerFactory } from './mcp-servers.js';
import { mcpServerNames } from './tools.js';

const loopbackNames = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * DNS-rebinding protection (MCP security best practices): while opspilot listens on loopback, a request
 * must address a loopback name (or a configured one) and come from no foreign web origin.
 */
function rebindingGuard(
  config: Config,
): (host: string | undefined, origin: string | undefined) => string | undefined {
  const allowed = new Set([...loopbackNames, ...config.mcp.allowedHosts.map((name) => name.toLowerCase())]);
  const active = loopbackNames.has(config.server.host.toLowerCase());
  const hostname = (text: string): string | undefined => {
    try {
      return new URL(text.includes('://') ? text : `http://${text}`).hostname.toLowerCase();
    } catch {
      return undefined;
    }
  };
  return (host, origin) => {
    if (!active) return undefined;
    const name = host === undefined ? undefined : hostname(host);
    if (name === undefined || !allowed.has(name)) {
      return `Host ${host ?? '(none)'} is not allowed: this server listens on loopback (DNS-rebinding protection; see mcp.allowedHosts)`;
    }
    if (origin !== undefined) {
      const from = hostname(origin);
      if (from === undefined || !allowed.has(from)) return `Origin ${origin} is not allowed`;
    }
    return undefined;
  };
}

export async function registerMcpRoutes(
  app: FastifyInstance,
  options: { governance: GovernanceGateway; config: Config; version: string; logger: Logger },
): Promise<void> {
  const runbooksDir = options.config.mcp.runbooksDir ?? join(packageRoot, 'docs', 'runbooks');
  for (const name of mcpServerNames) {
    const handler = createMcpHandler(createMcpServerFactory(name, { ...options, runbooksDir }), {
      onerror: (error) => {
        options.logger.warn({ err: error, server: name }, 'MCP request failed');
      },
    });
    const node = toNodeHandler(handler);
    const guard = rebindingGuard(options.config);
    for (const method of ['POST', 'GET', 'DELETE'] as const) {
      app.route({
        method,
        url: `/mcp/${name}`,
        ...route(`${method} /mcp/${name}` as RouteId),
        handler: async (request, reply) => {
          const refusal = guard(request.headers.host, request.headers.origin);
          if (refusal !== undefined) {
            return reply
              .code(403)
              .send({ jsonrpc: '2.0', id: null, error: { code: -32000, message: refusal } });
          }
          const { caller } = governed(request);
          const auth = {
            token: '',
            clientId: caller.principal.subject,
            scopes: [],
            extra: { caller },
          };
          reply.hijack();
          await node(Object.assign(request.raw, { auth }), reply.raw, request.body);
        },
      });
    }
  }
  return Promise.resolve();
}
