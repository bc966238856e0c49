// Audit records of what the MCP edge refuses before a governed service runs: calls of unknown or hidden tools,
// invalid arguments, confirmations that do not hold, requests the endpoint cannot take (a foreign Host, a body
// it cannot read); and of calls no governed service recorded (a tool that failed before one decided, an answer
// the edge gave alone). Governed services audit the calls they serve; these are the rest, so that every MCP
// request leaves a record.
import type { GovernanceGateway } from '../governance/gateway.js';
import type { Caller } from '../governance/principal.js';
import { resourceNameSchema } from '../platform/resource-kinds.js';

/** Why the edge refused: the audit record's `result`. */
export type McpRefusalKind =
  'unknown_tool' | 'hidden_tool' | 'invalid_params' | 'confirmation_refused' | 'invalid_request';

export interface McpRefusal {
  readonly caller: Caller | undefined;
  readonly server: string;
  /** The tool the request named (untrusted: shortened in the record). */
  readonly tool: string | undefined;
  /** The tool's action, or the endpoint's for a tool that does not exist. */
  readonly action: string;
  readonly args: unknown;
  readonly kind: McpRefusalKind;
  readonly reason: string;
  /** `performance.now()` when the request arrived. */
  readonly started: number;
}

/** Longest tool name kept in a record's target. */
const maxNameLength = 100;

/** Appends the refusal's audit record; resolves once it is committed (fail closed, like every record). */
export async function auditRefusal(governance: GovernanceGateway, refusal: McpRefusal): Promise<void> {
  const named = refusal.tool === undefined ? 'request' : `tools/call ${shorten(refusal.tool)}`;
  await governance.recordAtEdge({
    principal: refusal.caller?.principal,
    client: refusal.caller?.client ?? 'unknown',
    edge: 'mcp',
    action: refusal.action,
    namespace: namespaceOf(refusal.args),
    target: `${named} (mcp/${refusal.server})`,
    args: refusal.args,
    decision: 'deny',
    reasons: [refusal.reason],
    result: refusal.kind,
    started: refusal.started,
    trail: refusal.caller?.trail,
  });
}

/** A call no governed service recorded, and what the edge made of it. */
export interface McpCall {
  readonly caller: Caller;
  readonly server: string;
  readonly tool: string;
  readonly action: string;
  readonly args: unknown;
  readonly decision: 'allow' | 'deny' | 'none';
  readonly reason: string;
  /** `ok`, `error:<code>`, `input_required`, `nothing_changed`. */
  readonly result: string;
  /** `performance.now()` when the request arrived. */
  readonly started: number;
}

/** Most of a reason a record keeps: it may quote untrusted arguments. */
const maxReasonLength = 300;

/** Appends the record of a call the edge answered for (on the caller's trail); resolves once committed. */
export async function auditCall(governance: GovernanceGateway, call: McpCall): Promise<void> {
  await governance.recordAtEdge({
    principal: call.caller.principal,
    client: call.caller.client,
    edge: 'mcp',
    action: call.action,
    namespace: namespaceOf(call.args),
    target: `tools/call ${shorten(call.tool)} (mcp/${call.server})`,
    args: call.args,
    decision: call.decision,
    reasons: [clip(call.reason)],
    result: call.result,
    started: call.started,
    trail: call.caller.trail,
  });
}

function clip(text: string): string {
  return text.length <= maxReasonLength ? text : `${text.slice(0, maxReasonLength)}…`;
}

function shorten(name: string): string {
  return name.length <= maxNameLength ? name : `${name.slice(0, maxNameLength)}…`;
}

/** The namespace the arguments name, when it is a valid name (so that the namespace's auditors see it). */
function namespaceOf(args: unknown): string {
  if (args === null || typeof args !== 'object') return '';
  const parsed = resourceNameSchema.safeParse((args as { namespace?: unknown }).namespace);
  return parsed.success ? parsed.data : '';
}
