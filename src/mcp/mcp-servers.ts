// Builds the two MCP servers for one caller: only the tools the caller may use (and the config allows) are
// registered, so tools/list is filtered per caller. tools/call is dispatched here, not by the SDK, so that a
// call of an unknown or hidden tool, with invalid arguments or with a confirmation that does not hold is a
// JSON-RPC error with an audit record, and so that every call leaves one: each call gets its own audit trail,
// and one that no governed service recorded (it failed before one decided, or the edge answered alone) is
// recorded here. Writes follow MCP-TOOLS.md: the first call never changes anything; a client that can elicit
// is asked to confirm (input_required, with a requestState bound by HMAC to the caller, the tool, the
// arguments and the versions of the resources shown, good for one proposal); one that cannot gets a proposal
// queued for approval.
import { randomUUID } from 'node:crypto';
import {
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  acceptedContent,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  isInputRequiredResult,
  type CallToolResult,
  type InputRequiredResult,
  type McpServerFactory,
  type RegisteredTool,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { routeActions } from '../api/route-actions.js';
import type { Config } from '../config/config-schema.js';
import { durationMs } from '../core/duration.js';
import { ConflictError, isDomainError, type DomainErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Action } from '../governance/authz/actions.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Caller } from '../governance/principal.js';
import type { Proposal } from '../governance/proposals/contracts.js';
import { auditCall, auditRefusal, type McpRefusalKind } from './mcp-audit.js';
import { capText } from './paging.js';
import { digest } from '../core/canonical-json.js';
import type { ChangePlan } from '../governance/proposals/proposal-service.js';
import {
  argumentsDigest,
  tools,
  toolNames,
  writeOutcomeSchema,
  type McpServerName,
  type AnyTool,
  type ToolName,
} from './tools.js';

export interface McpServerOptions {
  readonly governance: GovernanceGateway;
  readonly config: Config;
  readonly version: string;
  readonly logger: Logger;
  /** Folder of runbook Markdown files (`runbook://NAME`). */
  readonly runbooksDir: string;
}

const confirmSchema = z.object({
  confirm: z.boolean().describe('Carry out this change?'),
});

interface StatePayload {
  readonly tool: string;
  readonly argsDigest: string;
  /** The resources as they were when the user was shown the change: confirming binds to that state. */
  readonly stateDigest: string;
  /** The id of the one proposal this confirmation may make: a second use finds it taken. */
  readonly proposal: string;
}

/** What the requestState hook hands on when a requestState does not verify (the dispatch refuses and audits). */
interface UnverifiedState {
  readonly unverified: string;
}

function isUnverified(state: unknown): state is UnverifiedState {
  return typeof state === 'object' && state !== null && 'unverified' in state;
}

/**
 * Digest of what a plan changes from, contents and versions: if it moved since the preview (even to the same
 * contents again), the user confirmed another diff.
 */
async function startingState(services: GovernedServices, plan: ChangePlan): Promise<string> {
  const versions = await services.planner.versions(plan);
  return digest(
    plan.changes.map((change, index) => [
      change.kind,
      change.namespace,
      change.name,
      versions[index],
      change.before,
    ]),
  );
}

/** What the requestState codec's reasons mean to the person who has to act. */
const unverifiedReasons: Record<string, string> = {
  expired: 'it expired',
  mac: 'it was altered',
  bind: 'it was issued to someone else or for the other MCP server',
  malformed: 'it is not one this server issued',
};

/**
 * Runs a tool for the dispatch as the call's caller: its result, or an input_required round trip. A tool's
 * failure is thrown, for the dispatch to answer and audit.
 */
type ToolRunner = (
  args: Record<string, unknown>,
  ctx: ServerContext,
  governed: GovernedServices,
) => Promise<CallToolResult | InputRequiredResult>;

interface ServedTool {
  readonly tool: AnyTool;
  readonly registered: RegisteredTool;
  readonly output: z.ZodObject;
  readonly run: ToolRunner;
}

const instructions: Record<McpServerName, string> = {
  'control-plane':
    'opspilot control plane: namespaces → projects → components, environments, releases and bindings, builds, proposals and audit. ' +
    'Writes never act on the first call: they return a proposal with the exact diff and guardrail verdicts, and run after confirmation or approval.',
  observability:
    'opspilot observability: logs with context, error templates, service metrics without a query language, traces, the dependency graph and alerts. ' +
    'Every query needs a namespace; start from get_active_alerts and get_error_summary.',
};

/** The caller our HTTP route (or the stdio bridge behind it) put into authInfo. */
function callerOf(context: {
  authInfo?: { extra?: Record<string, unknown> } | undefined;
}): Caller | undefined {
  return context.authInfo?.extra?.caller as Caller | undefined;
}

interface ToolSchemas {
  readonly input: z.ZodObject;
  readonly output: z.ZodObject;
}

/**
 * The same zod schema, with its JSON Schema computed once. The SDK converts a tool's schemas to JSON Schema
 * on every request it serves; servers are built per request, so without this each call paid the conversion.
 */
function withCachedJsonSchema<T extends z.ZodType>(schema: T): T {
  const standard = schema['~standard'] as T['~standard'] & {
    jsonSchema: {
      input: (options: { target: string }) => unknown;
      output: (options: { target: string }) => unknown;
    };
  };
  const memo = new Map<string, unknown>();
  const cached = (io: 'input' | 'output') => (options: { target: string }) => {
    const key = `${io}:${options.target}`;
    if (!memo.has(key)) memo.set(key, standard.jsonSchema[io](options));
    return memo.get(key);
  };
  const wrapped = { ...standard, jsonSchema: { input: cached('input'), output: cached('output') } };
  return new Proxy(schema, {
    get: (target, property, receiver) =>
      property === '~standard' ? wrapped : Reflect.get(target, property, receiver),
  });
}

export function createMcpServerFactory(name: McpServerName, options: McpServerOptions): McpServerFactory {
  const { governance, config } = options;
  const codec = createRequestStateCodec<StatePayload>({
    key: governance.requestStateSecret,
    ttlSeconds: Math.round(durationMs(config.governance.requestStateTtl) / 1000),
    bind: (ctx) => `${name}\0${callerOf(ctx.http ?? {})?.principal.subject ?? ''}`,
  });
  const maxOutputBytes = config.mcp.maxOutputBytes;
  const schemas = Object.fromEntries(
    toolNames.map((toolName) => {
      const tool = tools[toolName];
      const output = tool.kind === 'read' ? tool.output : writeOutcomeSchema;
      return [toolName, { input: withCachedJsonSchema(tool.input), output: withCachedJsonSchema(output) }];
    }),
  ) as Record<ToolName, ToolSchemas>;
  // The endpoint's own action: what an audit record of a call of a tool that does not exist names.
  const endpointAction = routeActions[`POST /mcp/${name}`];

  return (context) => {
    const caller = callerOf(context);
    const server = new McpServer(
      { name: `opspilot-${name}`, version: options.version },
      {
        instructions: instructions[name],
        cacheHints: { 'tools/list': { ttlMs: 30_000, cacheScope: 'private' } },
        // A requestState that does not verify reaches the dispatch as such, to be refused there with a record.
        requestState: {
          verify: async (state, ctx): Promise<StatePayload | UnverifiedState> => {
            try {
              return await codec.verify(state, ctx);
            } catch (error) {
              const reason = error instanceof Error ? error.message : 'malformed';
              return { unverified: unverifiedReasons[reason] ?? unverifiedReasons.malformed ?? reason };
            }
          },
        },
      },
    );
    const withClient = (ctx: ServerContext): Caller => {
      if (caller === undefined) throw new Error('no authenticated caller');
      const info = envelopeField(ctx, 'clientInfo') as { name?: string; version?: string } | undefined;
      const client = info?.name === undefined ? caller.client : `${info.name}/${info.version ?? '?'}`;
      return { ...caller, client };
    };
    const services = (ctx: ServerContext): GovernedServices => governance.forCaller(withClient(ctx));
    /** Why the caller does not get this tool of this server, or undefined when it does. */
    const hiddenBecause = (tool: AnyTool): string | undefined => {
      if (config.mcp.readOnly && tool.kind === 'write') return 'this server is read-only (mcp.readOnly)';
      if (config.mcp.disabledToolsets.includes(tool.toolset))
        return `its toolset ${tool.toolset} is switched off (mcp.disabledToolsets)`;
      if (caller !== undefined && !governance.forCaller(caller).may(tool.action))
        return `none of your roles allows ${tool.action} (ask an admin for a RoleBinding; see docs/governance.md)`;
      return undefined;
    };
    const confirmations: Confirmations = {
      codec,
      refuse: async (who, tool, args, reason) => {
        await auditRefusal(governance, {
          caller: who,
          server: name,
          tool,
          action: tools[tool].action,
          args,
          kind: 'confirmation_refused',
          reason,
          started: performance.now(),
        });
      },
    };

    // A 2026-07-28 tools/call names its tool in the Mcp-Name header: build only that one (the list, the
    // authorization and the answer for an unknown or hidden tool stay the same).
    const method = context.requestInfo?.headers.get('mcp-method') ?? undefined;
    const only =
      method === 'tools/call' ? (context.requestInfo?.headers.get('mcp-name') ?? undefined) : undefined;
    const served = new Map<string, ServedTool>();
    for (const toolName of toolNames) {
      const tool = tools[toolName];
      if (tool.server !== name) continue;
      if (only !== undefined && toolName !== only) continue;
      if (hiddenBecause(tool) !== undefined) continue;
      const run =
        tool.kind === 'read'
          ? readRunner(tool, maxOutputBytes)
          : writeRunner(toolName, tool, confirmations, maxOutputBytes);
      const registered = server.registerTool(
        toolName,
        {
          title: tool.title,
          description: tool.description,
          inputSchema: schemas[toolName].input,
          outputSchema: schemas[toolName].output,
          annotations: annotationsOf(tool),
        },
        // Listing only: calls go through the dispatch below.
        (args: Record<string, unknown>, ctx: ServerContext) => run(args, ctx, services(ctx)),
      );
      served.set(toolName, { tool, registered, output: schemas[toolName].output, run });
    }
    if (served.size === 0) {
      server.server.registerCapabilities({ tools: { listChanged: true } });
      server.server.setRequestHandler('tools/list', () => ({ tools: [] }));
    } else {
      server.server.removeRequestHandler('tools/call');
    }
    server.server.setRequestHandler('tools/call', async (request, ctx) => {
      const started = performance.now();
      const toolName = request.params.name;
      const args = request.params.arguments ?? {};
      // The call's own trail: counts the records written for it, here or by the services it calls.
      const trail = governance.newTrail();
      const who: Caller | undefined = caller === undefined ? undefined : { ...withClient(ctx), trail };
      const refuse = async (
        kind: McpRefusalKind,
        action: Action,
        message: string,
      ): Promise<ProtocolError> => {
        await auditRefusal(governance, {
          caller: who,
          server: name,
          tool: toolName,
          action,
          args,
          kind,
          reason: message,
          started,
        });
        return new ProtocolError(ProtocolErrorCode.InvalidParams, message);
      };
      const entry = served.get(toolName);
      if (entry === undefined) {
        const known = (toolNames as readonly string[]).includes(toolName)
          ? tools[toolName as ToolName]
          : undefined;
        if (known?.server === name) {
          const reason = hiddenBecause(known) ?? 'the Mcp-Name header names another tool';
          throw await refuse(
            'hidden_tool',
            known.action,
            `Tool ${toolName} not found among the tools you may call: ${reason}. tools/list shows them.`,
          );
        }
        throw await refuse(
          'unknown_tool',
          endpointAction,
          known === undefined
            ? `Unknown tool ${toolName} on the ${name} MCP server; tools/list shows the tools you may call.`
            : `Unknown tool ${toolName} on the ${name} MCP server: it is a tool of the ${known.server} server; call it at /mcp/${known.server}.`,
        );
      }
      const state: unknown = ctx.mcpReq.requestState();
      if (isUnverified(state)) {
        throw await refuse(
          'confirmation_refused',
          entry.tool.action,
          `Invalid or expired requestState: ${state.unverified}. Call ${toolName} again without it to be asked again; nothing was changed.`,
        );
      }
      const parsed = await entry.tool.input.safeParseAsync(args);
      if (!parsed.success) {
        throw await refuse(
          'invalid_params',
          entry.tool.action,
          `Invalid arguments for tool ${toolName}: ${describeIssues(parsed.error)}. Its inputSchema (tools/list) says what it takes.`,
        );
      }
      if (who === undefined) throw new Error('no authenticated caller');
      let result: CallToolResult | InputRequiredResult;
      let failure: DomainErrorCode | undefined;
      try {
        result = await entry.run(parsed.data, ctx, governance.forCaller(who));
      } catch (error) {
        failure = isDomainError(error) ? error.code : 'internal';
        result = toolError(error, options.logger);
      }
      if (
        !isInputRequiredResult(result) &&
        result.isError !== true &&
        !(await entry.output.safeParseAsync(result.structuredContent)).success
      ) {
        options.logger.error({ tool: toolName }, 'an MCP tool answered outside its output schema');
        failure = 'internal';
        result = textError(
          `internal error: ${toolName} answered outside its output schema; see the server log`,
        );
      }
      // No governed service recorded the call: it failed before one decided, or the edge answered alone.
      if (trail.records === 0) {
        await auditCall(governance, {
          caller: who,
          server: name,
          tool: toolName,
          action: entry.tool.action,
          args: parsed.data,
          ...callVerdict(result, failure, entry.tool.action),
          started,
        });
      }
      return isInputRequiredResult(result)
        ? result
        : server.server.projectCallToolResult(result, entry.registered.outputSchemaJson);
    });
    if (name === 'observability' && only === undefined) registerKnowledge(server, options);
    return server;
  };
}

/** `component: expected string, received number; replicas: too big` */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length === 0 ? '(arguments)' : issue.path.join('.')}: ${issue.message}`)
    .join('; ');
}

function annotationsOf(tool: AnyTool): {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
} {
  return tool.kind === 'read'
    ? { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
    : {
        readOnlyHint: false,
        destructiveHint: tool.destructive,
        idempotentHint: tool.idempotent,
        openWorldHint: false,
      };
}

function readRunner(tool: Extract<AnyTool, { kind: 'read' }>, maxOutputBytes: number): ToolRunner {
  return async (args, _ctx, governed) => {
    const output: Record<string, unknown> = await tool.run(governed, args, { maxOutputBytes });
    return {
      content: [{ type: 'text', text: capText(JSON.stringify(output), maxOutputBytes) }],
      structuredContent: output,
    };
  };
}

/** What a write needs to ask for a confirmation and to refuse one (with its audit record). */
interface Confirmations {
  readonly codec: ReturnType<typeof createRequestStateCodec<StatePayload>>;
  refuse(caller: Caller, tool: ToolName, args: Record<string, unknown>, reason: string): Promise<void>;
}

function writeRunner(
  toolName: ToolName,
  tool: Extract<AnyTool, { kind: 'write' }>,
  confirmations: Confirmations,
  maxOutputBytes: number,
): ToolRunner {
  return async (args, ctx, governed) => {
    const argsDigest = argumentsDigest(toolName, args);
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
    if (answer.kind === 'elicit' && answer.action !== 'accept') {
      return textError(`You ${answer.action === 'decline' ? 'declined' : 'cancelled'}; nothing was changed.`);
    }
    const confirmed = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', confirmSchema)?.confirm;
    if (confirmed === false) return textError('Not confirmed; nothing was changed.');
    const plan = await governed.plan(tool.action, tool.target?.(args) ?? whereOf(args), () =>
      tool.plan(governed, args),
    );
    let proposal: Proposal;
    if (confirmed === true) {
      const refuse = async (reason: string): Promise<CallToolResult> => {
        await confirmations.refuse(governed.caller, toolName, args, reason);
        return textError(reason);
      };
      const state = ctx.mcpReq.requestState<StatePayload>();
      if (state?.tool !== toolName || state.argsDigest !== argsDigest) {
        return await refuse(
          'This confirmation belongs to another call; call the tool again to get a new one.',
        );
      }
      if (state.stateDigest !== (await startingState(governed, plan))) {
        return await refuse(
          'The resources changed after you were asked to confirm, so the change you confirmed is not the one that would run now; nothing was changed. Call the tool again to see the new diff.',
        );
      }
      try {
        proposal = await governed.propose(plan, { confirmedByRequester: true, id: state.proposal });
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        return await refuse(
          `This confirmation was already used (proposal ${state.proposal}); a confirmation makes one change. Call the tool again to see the current diff and confirm that.`,
        );
      }
    } else if (
      (envelopeField(ctx, 'clientCapabilities') as { elicitation?: unknown } | undefined)?.elicitation !==
      undefined
    ) {
      const preview = await governed.preview(plan);
      if (preview.guardrails.verdict === 'deny') {
        proposal = await governed.propose(plan); // recorded as denied, with its audit record
      } else {
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: confirmationMessage(preview),
              requestedSchema: confirmSchema,
            }),
          },
          requestState: await confirmations.codec.mint(
            {
              tool: toolName,
              argsDigest,
              stateDigest: await startingState(governed, plan),
              proposal: randomUUID(),
            },
            ctx,
          ),
        });
      }
    } else {
      proposal = await governed.propose(plan, {
        requireApproval:
          'the MCP client cannot ask its user to confirm (no elicitation); another person must approve',
      });
    }
    return writeResult(proposal, maxOutputBytes);
  };
}

/** The namespace, component and environment a write tool's arguments name. */
function whereOf(args: Record<string, unknown>): {
  namespace: string;
  component?: string;
  environment?: string;
} {
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const component = text(args.component);
  const environment = text(args.environment);
  return {
    namespace: text(args.namespace) ?? '',
    ...(component === undefined ? {} : { component }),
    ...(environment === undefined ? {} : { environment }),
  };
}

/**
 * A field of the 2026-07-28 request envelope (client info, capabilities). 2025-11-25 requests served statelessly
 * carry none: such clients cannot be asked to confirm, so their writes wait for approval.
 */
function envelopeField(ctx: ServerContext, field: 'clientInfo' | 'clientCapabilities'): unknown {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return envelope?.[`io.modelcontextprotocol/${field}`];
}

function confirmationMessage(proposal: Proposal): string {
  const diff = proposal.diff
    .slice(0, 10)
    .map(
      (item) =>
        `  ${item.resource} ${item.path}: ${JSON.stringify(item.before)} → ${JSON.stringify(item.after)}`,
    )
    .join('\n');
  const approval =
    proposal.guardrails.verdict === 'needs_approval'
      ? `\nAfter you confirm it waits for approval: ${proposal.guardrails.reasons.join('; ')}`
      : '\nIt runs as soon as you confirm.';
  return `${proposal.title}\n${diff}\nBlast radius: ${proposal.blastRadius.services.join(', ') || 'none'}${
    proposal.blastRadius.capacityChangePercent === null
      ? ''
      : ` (capacity ${proposal.blastRadius.capacityChangePercent} %)`
  }${approval}`;
}

function writeResult(proposal: Proposal, maxOutputBytes: number): CallToolResult {
  const message = {
    pending: `Proposal ${proposal.id} waits for approval (${proposal.approval.reasons.join('; ')}). Approve with \`opspilot proposals approve ${proposal.id}\`, the dashboard or REST; you cannot approve your own.`,
    approved: `Proposal ${proposal.id} is approved and about to run.`,
    executing: `Proposal ${proposal.id} is running.`,
    verifying: `Applied; verifying health until ${proposal.verification.deadline ?? '?'} (get_proposal ${proposal.id} shows the outcome).`,
    succeeded: `Done: ${proposal.execution.message ?? 'applied'}.`,
    failed: `Failed: ${proposal.execution.message ?? 'unknown reason'}. Nothing else was changed.`,
    rolled_back: `Verification failed; the change was undone (${proposal.compensation.message ?? ''}).`,
    rejected: `Proposal ${proposal.id} was rejected.`,
    denied: `Denied by guardrails: ${proposal.guardrails.reasons.join('; ')}. Change the request to fit them.`,
    expired: `Proposal ${proposal.id} expired.`,
  }[proposal.status];
  const structured = { status: proposal.status, message, proposal };
  const lines = [
    message,
    proposal.title,
    ...proposal.diff.map(
      (item) =>
        `${item.resource} ${item.path}: ${JSON.stringify(item.before)} → ${JSON.stringify(item.after)}`,
    ),
    `guardrails: ${proposal.guardrails.verdict}${proposal.guardrails.reasons.length === 0 ? '' : ` (${proposal.guardrails.reasons.join('; ')})`}`,
  ];
  return {
    content: [{ type: 'text', text: capText(lines.join('\n'), maxOutputBytes) }],
    structuredContent: structured,
    ...(proposal.status === 'denied' || proposal.status === 'failed' ? { isError: true } : {}),
  };
}

function textError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** What to do, for a tool's failure whose error says only what was wrong. */
const hintByCode: Record<DomainErrorCode, string> = {
  invalid: "Change the arguments as the message says; the tool's inputSchema (tools/list) describes them.",
  unauthenticated: 'Reconnect with a valid bearer token; opspilot token create makes one.',
  forbidden: 'Ask an admin for a RoleBinding whose role allows it (see docs/governance.md).',
  not_found: 'Check the name and the namespace; the list_ tools show what exists.',
  conflict: 'Read the current state again, then call the tool again.',
  needs_approval: 'Another person approves it: opspilot proposals approve ID.',
  unavailable: 'Retry later; the server log says what is unavailable.',
  internal: 'The server log has the details.',
};

/** A failure the model can act on: what was wrong and what to do next. */
function toolError(error: unknown, logger: Logger): CallToolResult {
  if (isDomainError(error)) {
    return textError(`${error.code}: ${error.message}\n${error.hint ?? hintByCode[error.code]}`);
  }
  logger.error({ err: error }, 'MCP tool failed');
  return textError(
    `internal error: ${error instanceof Error ? error.message : String(error)}\n${hintByCode.internal}`,
  );
}

/**
 * The edge's audit verdict on a call no governed service recorded: answered (allow), refused by a tool's own
 * check (deny), or nothing decided (a server failure, a change the user declined, a confirmation asked for).
 */
function callVerdict(
  result: CallToolResult | InputRequiredResult,
  failure: DomainErrorCode | undefined,
  action: Action,
): { decision: 'allow' | 'deny' | 'none'; reason: string; result: string } {
  if (isInputRequiredResult(result)) {
    return {
      decision: 'none',
      reason: 'asked the client to confirm; nothing was changed',
      result: 'input_required',
    };
  }
  const text = result.content.map((item) => (item.type === 'text' ? item.text : '')).join('\n');
  if (failure !== undefined) {
    const decided = failure !== 'internal' && failure !== 'unavailable';
    return { decision: decided ? 'deny' : 'none', reason: text, result: `error:${failure}` };
  }
  if (result.isError === true) return { decision: 'none', reason: text, result: 'nothing_changed' };
  return { decision: 'allow', reason: `answered by the MCP edge: the caller holds ${action}`, result: 'ok' };
}

/** Runbooks as resources and the two investigation prompts. */
function registerKnowledge(server: McpServer, options: McpServerOptions): void {
  const runbooks = (): string[] => {
    try {
      return readdirSync(options.runbooksDir)
        .filter((file) => file.endsWith('.md'))
        .map((file) => file.slice(0, -3))
        .sort();
    } catch {
      return [];
    }
  };
  server.registerResource(
    'runbook',
    new ResourceTemplate('runbook://{name}', {
      list: () => ({
        resources: runbooks().map((runbook) => ({
          uri: `runbook://${runbook}`,
          name: runbook,
          mimeType: 'text/markdown',
        })),
      }),
      complete: { name: (value) => runbooks().filter((runbook) => runbook.startsWith(value)) },
    }),
    { title: 'Runbook', description: 'Operational runbooks (Markdown)', mimeType: 'text/markdown' },
    (uri, variables) => {
      const runbook = String(variables.name);
      if (!runbooks().includes(runbook)) {
        throw new Error(`no runbook ${runbook}; runbooks: ${runbooks().join(', ') || 'none'}`);
      }
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'text/markdown',
            text: readFileSync(join(options.runbooksDir, `${runbook}.md`), 'utf8'),
          },
        ],
      };
    },
  );
  server.registerPrompt(
    'investigate_incident',
    {
      title: 'Investigate an incident',
      description:
        'A checklist: active alerts → recent deploys → error logs → dependencies → similar past incidents.',
      argsSchema: z.object({
        namespace: z.string().describe('Namespace of the incident'),
        component: z.string().optional().describe('Component in trouble, if known'),
      }),
    },
    ({ namespace, component }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `Investigate the incident in namespace ${namespace}${component === undefined ? '' : ` around ${component}`}. Work through, citing each tool result:`,
              `1. get_active_alerts (namespace ${namespace}): what fires, since when, which components.`,
              `2. Recent deploys: control-plane get_events with reason RolledOut/ReleaseCreated and list_proposals; anything changed shortly before onset?`,
              `3. get_error_summary for the window: new or surging error templates; query_component_logs with context around the first ones.`,
              `4. get_service_dependencies: where errors and latency start (callee vs caller); query_traces for a failing trace, query_trace_spans for its critical path.`,
              `5. get_alert_history: has this happened before, and how was it resolved?`,
              `Conclude with the most likely cause, the evidence, and a remediation to propose (it will need approval).`,
            ].join('\n'),
          },
        },
      ],
    }),
  );
  server.registerPrompt(
    'write_postmortem',
    {
      title: 'Write a postmortem',
      description:
        'A blameless postmortem with a timeline built from alerts, events, proposals and audit records.',
      argsSchema: z.object({
        namespace: z.string(),
        from: z.string().describe('Start of the incident (ISO time)'),
        to: z.string().optional().describe('End of the incident (ISO time)'),
      }),
    },
    ({ namespace, from, to }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `Write a blameless postmortem for namespace ${namespace} from ${from}${to === undefined ? '' : ` to ${to}`}.`,
              'Build the timeline from get_alert_history, get_events, list_proposals and get_audit_events (quote times).',
              'Sections: Summary, Impact (which services, how long, error rate and latency from get_service_metrics), Timeline, Root cause, Detection, Response, What went well, What to improve, Action items.',
            ].join('\n'),
          },
        },
      ],
    }),
  );
}
