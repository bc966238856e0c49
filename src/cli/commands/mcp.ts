// `opspilot mcp --server NAME`: an MCP server on stdio for assistants that launch a command (Claude Code,
// Cursor, Codex CLI, Gemini CLI, VS Code). It relays each JSON-RPC message to the running server's
// Streamable HTTP endpoint with the caller's token, so identity, authorization, guardrails and audit stay in
// one place. Both protocol revisions pass through (2026-07-28 input_required round trips are plain requests).
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadClientConfig } from '../../config/load-config.js';
import { InvalidError } from '../../core/errors.js';
import { version } from '../../server/package-info.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';

const servers = ['control-plane', 'observability'] as const;

interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: { name?: unknown; _meta?: Record<string, unknown>; protocolVersion?: unknown };
  result?: { protocolVersion?: unknown };
}

export function registerMcp(program: Command, context: CliContext): void {
  program
    .command('mcp')
    .description(
      `Serve an MCP server on stdio for AI assistants: opspilot mcp --server ${servers.join('|')} (relays to the running opspilot server)`,
    )
    .option('--url <url>', 'the opspilot server to relay to (OPSPILOT_SERVER, default http://127.0.0.1:7400)')
    .addHelpText(
      'after',
      `
--server names the MCP server here (control-plane or observability), not the opspilot address: use --url or
OPSPILOT_SERVER for that. The token comes from OPSPILOT_TOKEN (or the admin token in the local data dir).
Example for Claude Code:
  claude mcp add opspilot-cp -e OPSPILOT_TOKEN=$TOKEN -- opspilot mcp --server control-plane
Logs go to stderr; stdout carries only MCP messages.`,
    )
    .action(async (options: { url?: string }, command: Command) => {
      try {
        // `--server` is also the global option (the opspilot address); for this command it names the MCP server.
        const name = command.optsWithGlobals<{ server?: string }>().server;
        if (name === undefined || !(servers as readonly string[]).includes(name)) {
          throw new InvalidError(`give the MCP server: --server ${servers.join(' or ')}`, [], {
            hint: 'Example: opspilot mcp --server control-plane',
          });
        }
        const client = loadClientConfig({ server: options.url });
        await relay(`${client.server}/mcp/${name}`, client.token, context);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

async function relay(url: string, token: string | undefined, context: CliContext): Promise<void> {
  let sessionId: string | undefined;
  let legacyVersion: string | undefined;
  const write = (message: unknown): void => {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  };
  const forward = async (message: JsonRpcMessage): Promise<void> => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'user-agent': `opspilot-cli/${version} (mcp stdio)`,
    };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
    const modern = message.params?._meta?.['io.modelcontextprotocol/protocolVersion'];
    if (typeof modern === 'string') {
      headers['mcp-protocol-version'] = modern;
      if (message.method !== undefined) headers['mcp-method'] = message.method;
      if (typeof message.params?.name === 'string') headers['mcp-name'] = message.params.name;
    } else if (legacyVersion !== undefined && message.method !== 'initialize') {
      headers['mcp-protocol-version'] = legacyVersion;
    }
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(message) });
    } catch (error) {
      if (message.id !== undefined && message.method !== undefined) {
        write({
          jsonrpc: '2.0',
          id: message.id,
          error: { code: -32000, message: `cannot reach ${url}: ${(error as Error).message}` },
        });
      }
      return;
    }
    sessionId = response.headers.get('mcp-session-id') ?? sessionId;
    const type = response.headers.get('content-type') ?? '';
    const text = await response.text();
    const messages: unknown[] = [];
    if (type.includes('text/event-stream')) {
      for (const event of text.split(/\r?\n\r?\n/)) {
        const data = event
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data !== '') messages.push(JSON.parse(data) as unknown);
      }
    } else if (text !== '' && type.includes('json')) {
      const parsed = JSON.parse(text) as unknown;
      messages.push(...(Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]));
    } else if (!response.ok && message.id !== undefined && message.method !== undefined) {
      messages.push({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32000, message: `HTTP ${response.status}: ${text.slice(0, 500)}` },
      });
    }
    for (const item of messages) {
      const reply = item as JsonRpcMessage;
      if (message.method === 'initialize' && typeof reply.result?.protocolVersion === 'string') {
        legacyVersion = reply.result.protocolVersion;
      }
      write(item);
    }
  };
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const inFlight = new Set<Promise<void>>();
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(line) as JsonRpcMessage;
    } catch {
      write({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error: each line must be one JSON-RPC message' },
      });
      continue;
    }
    const task = forward(message).catch((error: unknown) => {
      context.err(`mcp relay: ${(error as Error).message}\n`);
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }
  await Promise.all(inFlight);
}
