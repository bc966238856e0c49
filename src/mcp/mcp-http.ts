// The MCP endpoints over Streamable HTTP: /mcp/control-plane and /mcp/observability. Authentication is the
// API's hook (401 with resource_metadata, RFC 9728); the caller travels to the tools in authInfo. Stateless:
// a new McpServer per request, so any instance behind a load balancer can answer.
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { Config } from '../config/config-schema.js';
import type { Logger } from '../core/logger.js';
import type { Governance } from '../governance/governance.js';
import { governed } from '../api/authentication.js';
import { route, type RouteId } from '../api/route-actions.js';
import { packageRoot } from '../server/package-info.js';
import { createMcpServerFactory } from './mcp-servers.js';
import { mcpServerNames } from './tools.js';

export async function registerMcpRoutes(
  app: FastifyInstance,
  options: { governance: Governance; config: Config; version: string; logger: Logger },
): Promise<void> {
  const runbooksDir = options.config.mcp.runbooksDir ?? join(packageRoot, 'docs', 'runbooks');
  for (const name of mcpServerNames) {
    const handler = createMcpHandler(createMcpServerFactory(name, { ...options, runbooksDir }), {
      onerror: (error) => {
        options.logger.warn({ err: error, server: name }, 'MCP request failed');
      },
    });
    const node = toNodeHandler(handler);
    for (const method of ['POST', 'GET', 'DELETE'] as const) {
      app.route({
        method,
        url: `/mcp/${name}`,
        ...route(`${method} /mcp/${name}` as RouteId),
        handler: async (request, reply) => {
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
