// `opspilot mcp --server NAME`: an MCP server on stdio for assistants that launch a command (Claude Code,
// Cursor, Codex CLI, Gemini CLI, VS Code). It relays each JSON-RPC message to the running server's
// Streamable HTTP endpoint with the caller's token, so identity, authorization, guardrails and audit stay in
// one place. Both protocol revisions pass through (2026-07-28 input_required round trips are plain requests).
// stdout carries JSON-RPC only: a refusal of the server (a missing or rejected token) reaches the client as a
// JSON-RPC error answering its request, and stderr says in one line what is wrong and what to do.
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
  error?: { code: number; message: string; data?: unknown };
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
Logs go to stderr; stdout carries only MCP messages. A missing or rejected token answers each request with a
JSON-RPC error and prints one line on stderr saying what to do.`,
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

/** A JSON-RPC message as the relay needs to see it; anything else from the server is never written out. */
function isJsonRpc(value: unknown): value is JsonRpcMessage {
  return typeof value === 'object' && value !== null && (value as { jsonrpc?: unknown }).jsonrpc === '2.0';
}

/** What to do about a refusal of the server, per HTTP status (the server's own hints speak of HTTP headers). */
function remedy(status: number, hint: string | undefined): string {
  if (status === 401) {
    return 'Set OPSPILOT_TOKEN to a token of this opspilot server (`opspilot token create …`, or the one `opspilot up` printed) and restart this MCP server.';
  }
  return hint ?? 'See the opspilot server log.';
}

/** The gist of a non-JSON-RPC answer: a problem's detail and hint, or the start of the text. */
function describeAnswer(status: number, text: string): { detail: string; hint: string | undefined } {
  try {
    const problem = JSON.parse(text) as { detail?: unknown; hint?: unknown };
    if (typeof problem.detail === 'string') {
      return { detail: problem.detail, hint: typeof problem.hint === 'string' ? problem.hint : undefined };
    }
  } catch {
    // not JSON: quoted below
  }
  return { detail: `HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 300)}`}`, hint: undefined };
}

async function relay(url: string, token: string | undefined, context: CliContext): Promise<void> {
  let sessionId: string | undefined;
  let legacyVersion: string | undefined;
  // stdout carries JSON-RPC only; what went wrong also goes to stderr, once per distinct problem.
  const write = (message: JsonRpcMessage): void => {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  };
  const told = new Set<string>();
  const tell = (line: string): void => {
    if (told.has(line)) return;
    told.add(line);
    context.err(`opspilot mcp: ${line}\n`);
  };
  /** Answers the request (notifications get no answer) with a JSON-RPC error, and says so on stderr. */
  const fail = (message: JsonRpcMessage, text: string, data?: unknown): void => {
    tell(text);
    if (message.id === undefined || message.id === null || message.method === undefined) return;
    write({
      jsonrpc: '2.0',
      id: message.id,
      error: { code: -32000, message: text, ...(data === undefined ? {} : { data }) },
    });
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
      fail(
        message,
        `cannot reach ${url} (${(error as Error).message}). Start it (\`opspilot up\`) or point --url / OPSPILOT_SERVER at it.`,
      );
      return;
    }
    sessionId = response.headers.get('mcp-session-id') ?? sessionId;
    const type = response.headers.get('content-type') ?? '';
    const text = await response.text();
    const items: unknown[] = [];
    try {
      if (type.includes('text/event-stream')) {
        for (const event of text.split(/\r?\n\r?\n/)) {
          const data = event
            .split(/\r?\n/)
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data !== '') items.push(JSON.parse(data) as unknown);
        }
      } else if (text !== '' && type.includes('json')) {
        const parsed = JSON.parse(text) as unknown;
        items.push(...(Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]));
      }
    } catch {
      fail(message, `${url} answered HTTP ${response.status} with a body that is not JSON-RPC.`);
      return;
    }
    const messages = items.filter(isJsonRpc);
    if (messages.length < items.length || (!response.ok && messages.length === 0)) {
      // A refusal before MCP (401, 403 as problem+json): the client gets a JSON-RPC error, never the problem.
      const { detail, hint } = describeAnswer(response.status, text);
      fail(
        message,
        `${url} refused the request (HTTP ${response.status}): ${detail}. ${remedy(response.status, hint)}`,
        {
          status: response.status,
        },
      );
      return;
    }
    for (const reply of messages) {
      if (message.method === 'initialize' && typeof reply.result?.protocolVersion === 'string') {
        legacyVersion = reply.result.protocolVersion;
      }
      // An error the server could not tie to a request (id null: a body it could not read) belongs to this one.
      const own =
        reply.error !== undefined && reply.id === null && message.id !== undefined
          ? { ...reply, id: message.id }
          : reply;
      if (!response.ok && reply.error !== undefined)
        tell(`${url} answered HTTP ${response.status}: ${reply.error.message}`);
      write(own);
    }
  };
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const inFlight = new Set<Promise<void>>();
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let message: unknown;
    try {
      message = JSON.parse(line) as unknown;
    } catch {
      write({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error: each line must be one JSON-RPC message' },
      });
      continue;
    }
    if (!isJsonRpc(message)) {
      write({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: 'Invalid Request: each line must be a JSON-RPC 2.0 message object' },
      });
      continue;
    }
    const request = message;
    const task = forward(request).catch((error: unknown) => {
      fail(request, `relaying to ${url} failed: ${(error as Error).message}`);
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }
  await Promise.all(inFlight);
}
