// Builds the two MCP servers for one caller: only the tools the caller may use (and the config allows) are
// registered, so tools/list is filtered per caller. Writes follow MCP-TOOLS.md: the first call never changes
// anything; a client that can elicit is asked to confirm (input_required, with a requestState bound by HMAC
// to the caller, the tool and the arguments); one that cannot gets a proposal queued for approval.
import {
  McpServer,
  ResourceTemplate,
  acceptedContent,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  type CallToolResult,
  type McpServerFactory,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/config-schema.js';
import { durationMs } from '../core/duration.js';
import { isDomainError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { GovernanceGateway } from '../governance/gateway.js';
import type { GovernedServices } from '../governance/governed-services.js';
import type { Caller } from '../governance/principal.js';
import type { Proposal } from '../governance/proposals/contracts.js';
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
}

/** Digest of what a plan changes from: if it moved since the preview, the user confirmed another diff. */
function startingState(plan: ChangePlan): string {
  return digest(plan.changes.map((change) => [change.kind, change.namespace, change.name, change.before]));
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

  return (context) => {
    const caller = callerOf(context);
    const server = new McpServer(
      { name: `opspilot-${name}`, version: options.version },
      {
        instructions: instructions[name],
        cacheHints: { 'tools/list': { ttlMs: 30_000, cacheScope: 'private' } },
        requestState: { verify: (state, ctx) => codec.verify(state, ctx) },
      },
    );
    const services = (ctx: ServerContext): GovernedServices => {
      if (caller === undefined) throw new Error('no authenticated caller');
      const info = envelopeField(ctx, 'clientInfo') as { name?: string; version?: string } | undefined;
      const client = info?.name === undefined ? caller.client : `${info.name}/${info.version ?? '?'}`;
      return governance.forCaller({ ...caller, client });
    };

    // A 2026-07-28 tools/call names its tool in the Mcp-Name header: build only that one (the list, the
    // authorization and the answer for an unknown or hidden tool stay the same).
    const method = context.requestInfo?.headers.get('mcp-method') ?? undefined;
    const only =
      method === 'tools/call' ? (context.requestInfo?.headers.get('mcp-name') ?? undefined) : undefined;
    for (const toolName of toolNames) {
      const tool = tools[toolName];
      if (tool.server !== name) continue;
      if (only !== undefined && toolName !== only) continue;
      if (config.mcp.readOnly && tool.kind === 'write') continue;
      if (config.mcp.disabledToolsets.includes(tool.toolset)) continue;
      if (caller !== undefined && !governance.forCaller(caller).may(tool.action)) continue;
      if (tool.kind === 'read')
        registerRead(server, toolName, tool, schemas[toolName], services, maxOutputBytes, options.logger);
      else
        registerWrite(
          server,
          toolName,
          tool,
          schemas[toolName],
          services,
          codec,
          maxOutputBytes,
          options.logger,
        );
    }
    if (name === 'observability' && only === undefined) registerKnowledge(server, options);
    return server;
  };
}

function registerRead(
  server: McpServer,
  toolName: ToolName,
  tool: Extract<AnyTool, { kind: 'read' }>,
  schemas: ToolSchemas,
  services: (ctx: ServerContext) => GovernedServices,
  maxOutputBytes: number,
  logger: Logger,
): void {
  server.registerTool(
    toolName,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: schemas.input,
      outputSchema: schemas.output,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args: Record<string, unknown>, ctx: ServerContext): Promise<CallToolResult> => {
      try {
        const output: Record<string, unknown> = await tool.run(services(ctx), args, { maxOutputBytes });
        return {
          content: [{ type: 'text', text: capText(JSON.stringify(output), maxOutputBytes) }],
          structuredContent: output,
        };
      } catch (error) {
        return toolError(error, logger);
      }
    },
  );
}

function registerWrite(
  server: McpServer,
  toolName: ToolName,
  tool: Extract<AnyTool, { kind: 'write' }>,
  schemas: ToolSchemas,
  services: (ctx: ServerContext) => GovernedServices,
  codec: ReturnType<typeof createRequestStateCodec<StatePayload>>,
  maxOutputBytes: number,
  logger: Logger,
): void {
  server.registerTool(
    toolName,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: schemas.input,
      outputSchema: schemas.output,
      annotations: {
        readOnlyHint: false,
        destructiveHint: tool.destructive,
        idempotentHint: tool.idempotent,
        openWorldHint: false,
      },
    },
    async (args: Record<string, unknown>, ctx: ServerContext) => {
      try {
        const governed = services(ctx);
        const argsDigest = argumentsDigest(toolName, args);
        const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
        if (answer.kind === 'elicit' && answer.action !== 'accept') {
          return textError(
            `You ${answer.action === 'decline' ? 'declined' : 'cancelled'}; nothing was changed.`,
          );
        }
        const confirmed = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', confirmSchema)?.confirm;
        if (confirmed === false) return textError('Not confirmed; nothing was changed.');
        const plan = await governed.plan(tool.action, tool.target?.(args) ?? whereOf(args), () =>
          tool.plan(governed, args),
        );
        let proposal: Proposal;
        if (confirmed === true) {
          const state = ctx.mcpReq.requestState<StatePayload>();
          if (state?.tool !== toolName || state.argsDigest !== argsDigest) {
            return textError(
              'This confirmation belongs to another call; call the tool again to get a new one.',
            );
          }
          if (state.stateDigest !== startingState(plan)) {
            return textError(
              'The resources changed after you were asked to confirm, so the change you confirmed is not the one that would run now; nothing was changed. Call the tool again to see the new diff.',
            );
          }
          proposal = await governed.propose(plan, { confirmedByRequester: true });
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
              requestState: await codec.mint(
                { tool: toolName, argsDigest, stateDigest: startingState(plan) },
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
      } catch (error) {
        return toolError(error, logger);
      }
    },
  );
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

/** A failure the model can act on: what was wrong and what to do next. */
function toolError(error: unknown, logger: Logger): CallToolResult {
  if (isDomainError(error)) {
    return textError(`${error.code}: ${error.message}${error.hint === undefined ? '' : `\n${error.hint}`}`);
  }
  logger.error({ err: error }, 'MCP tool failed');
  return textError(`internal error: ${error instanceof Error ? error.message : String(error)}`);
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
