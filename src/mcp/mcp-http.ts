// The MCP endpoints over Streamable HTTP: /mcp/control-plane and /mcp/observability. Authentication is the
// API's hook (401 with resource_metadata, RFC 9728); the caller travels to the tools in authInfo. Stateless:
// a new McpServer per request, so any instance behind a load balancer can answer. What the route refuses itself
// (a foreign Host or Origin, a body it cannot read, a tools/call whose name or arguments are not of MCP's
// shape) is answered as a JSON-RPC error and audited.
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { join } from 'node:path';
import type { Config } from '../config/config-schema.js';
import type { Logger } from '../core/logger.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import { governed } from '../api/authentication.js';
import { route, routeActions, type RouteId } from '../api/route-actions.js';
import { isDomainError } from '../core/errors.js';
import { packageRoot } from '../server/package-info.js';
import { auditRefusal } from './mcp-audit.js';
import { createMcpServerFactory } from './mcp-servers.js';
import {
  mcpServerNames,
  toolNames,
  tools,
  type AnyTool,
  type McpServerName,
  type ToolName,
} from './tools.js';

/** What to do about a body Fastify refused (not JSON, prototype keys, too large, another content type). */
const bodyHint =
  'Send one JSON-RPC 2.0 message as application/json, at most 5 MiB, with no __proto__ or constructor keys.';

/** A tools/call the SDK would refuse before the dispatch sees it (unaudited): refused here instead. */
interface MalformedCall {
  readonly id: string | number;
  readonly tool: string | undefined;
  readonly args: unknown;
  readonly message: string;
}

/** Why a JSON-RPC body is a tools/call whose tool name or arguments are not of the shape MCP requires. */
function malformedToolCall(body: unknown): MalformedCall | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { method, id, params } = body as { method?: unknown; id?: unknown; params?: unknown };
  if (method !== 'tools/call' || (typeof id !== 'string' && typeof id !== 'number')) return undefined;
  const call = (typeof params === 'object' && params !== null ? params : {}) as {
    name?: unknown;
    arguments?: unknown;
  };
  const args = call.arguments;
  if (typeof call.name !== 'string') {
    return {
      id,
      tool: undefined,
      args,
      message:
        'Invalid tools/call request: params.name must be the name of a tool. tools/list shows the tools you may call.',
    };
  }
  if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
    const given = args === null ? 'null' : Array.isArray(args) ? 'an array' : `a ${typeof args}`;
    return {
      id,
      tool: call.name,
      args,
      message: `Invalid tools/call request: params.arguments must be an object of named arguments, not ${given}. The tool's inputSchema (tools/list) says what it takes.`,
    };
  }
  return undefined;
}

/** The tool of this server a request names, if there is one. */
function toolOf(server: McpServerName, name: string): AnyTool | undefined {
  if (!(toolNames as readonly string[]).includes(name)) return undefined;
  const tool = tools[name as ToolName];
  return tool.server === server ? tool : undefined;
}

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
      const id = `${method} /mcp/${name}` as RouteId;
      const action = routeActions[id];
      const send = (
        reply: FastifyReply,
        status: number,
        error: { code: number; message: string },
        id: string | number | null = null,
      ) => reply.code(status).type('application/json').send({ jsonrpc: '2.0', id, error });
      /**
       * Answers a refusal once its audit record is committed (fail closed: no record, no answer but 503).
       * `call` is the tools/call it refuses, when the request is one.
       */
      const refuse = async (
        request: FastifyRequest,
        reply: FastifyReply,
        status: number,
        error: { code: number; message: string },
        started: number,
        call?: MalformedCall,
      ): Promise<FastifyReply> => {
        const tool = call?.tool === undefined ? undefined : toolOf(name, call.tool);
        try {
          await auditRefusal(options.governance, {
            caller: request.governedServices?.caller,
            server: name,
            tool: call === undefined ? undefined : (call.tool ?? '(no name)'),
            action: tool?.action ?? action,
            args: call?.args,
            kind: call === undefined ? 'invalid_request' : 'invalid_params',
            reason: error.message,
            started,
          });
        } catch (failure) {
          options.logger.error({ err: failure, server: name }, 'auditing an MCP refusal failed');
          return send(reply, 503, {
            code: -32603,
            message: 'the audit record could not be written; retry later',
          });
        }
        return send(reply, status, error, call?.id);
      };
      app.route({
        method,
        url: `/mcp/${name}`,
        ...route(id),
        // A body Fastify cannot take (not JSON, nested too deep, too large) is a JSON-RPC error here, not a problem.
        errorHandler: (error: FastifyError, request, reply) => {
          const status = isDomainError(error)
            ? error.code === 'invalid'
              ? 400
              : 500
            : (error.statusCode ?? 500);
          if (status >= 500) {
            options.logger.error({ err: error, server: name }, 'MCP request failed');
            void send(reply, 500, {
              code: -32603,
              message: 'Internal error: the server failed to handle the request; see its log',
            });
            return;
          }
          const hint = isDomainError(error) ? error.hint : bodyHint;
          const code = status === 400 ? -32700 : -32600;
          void refuse(
            request,
            reply,
            status,
            { code, message: `${error.message}.${hint === undefined ? '' : ` ${hint}`}` },
            performance.now(),
          );
        },
        handler: async (request, reply) => {
          const started = performance.now();
          const refusal = guard(request.headers.host, request.headers.origin);
          if (refusal !== undefined) {
            return refuse(request, reply, 403, { code: -32000, message: refusal }, started);
          }
          const malformed = malformedToolCall(request.body);
          if (malformed !== undefined) {
            const message = { code: -32602, message: malformed.message };
            return refuse(request, reply, 200, message, started, malformed);
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
