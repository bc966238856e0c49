// The agent bus's vocabulary: one zod schema per topic inside one envelope. Events are untrusted on both sides
// (an agent's content may come from telemetry or an LLM), so publishing and receiving both parse with these.
import { z } from 'zod';
import { InvalidError, formatPath } from '../core/errors.js';

/** A namespace (tenant) or agent name: a DNS label, as everywhere else in opspilot. */
const label = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a lowercase DNS label');
const text = (max: number) => z.string().min(1).max(max);
const level = z.union([z.literal(1), z.literal(2), z.literal(3)]);

/** What an action applies to: a component's binding in one environment of one tenant. */
const targetSchema = z.strictObject({
  namespace: label,
  component: label,
  environment: label,
});

/** Action parameters stay open (each action kind checks its own) but bounded and JSON-only. */
const paramsSchema = z
  .record(z.string().max(64), z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]))
  .refine((params) => Object.keys(params).length <= 32, 'at most 32 parameters');

const actionKind = z.enum([
  'scale',
  'resize',
  'rollback',
  'set-config',
  'set-flag',
  'set-quota',
  'throttle',
  'notify',
]);

const signalSchema = z.strictObject({
  /** e.g. `latency_p99`, `memory_working_set`, `restarts`, `slo_burn_rate`. */
  name: text(128),
  value: z.number(),
  unit: text(32).optional(),
  /** The usual value (the detector's band) the signal departs from. */
  baseline: z.number().optional(),
});

export const topicPayloadSchemas = {
  observation: z.strictObject({
    component: label,
    environment: label,
    severity: z.enum(['info', 'warning', 'critical']),
    summary: text(2000),
    signals: z.array(signalSchema).min(1).max(32),
    /** Releases or config changes the observation correlates with (e.g. `Release/shop-api-7`). */
    changes: z.array(text(256)).max(16).default([]),
  }),
  proposal: z.strictObject({
    action: actionKind,
    target: targetSchema,
    params: paramsSchema,
    reason: text(4000),
    /** The autonomy level the proposing agent acts at. */
    level,
    priority: z.number().int().min(0).max(100).default(50),
  }),
  'policy.decision': z.strictObject({
    proposalId: z.uuid(),
    allowed: z.boolean(),
    layer: z.enum(['safety', 'sla', 'operational', 'cost']),
    rule: text(256),
    reason: text(2000),
  }),
  arbitration: z.strictObject({
    /** The proposal that goes ahead, or null when none does. */
    chosen: z.uuid().nullable(),
    preempted: z
      .array(z.strictObject({ proposalId: z.uuid(), reason: text(2000) }))
      .max(64)
      .default([]),
    reason: text(2000),
  }),
  'execution.authorized': z.strictObject({
    proposalId: z.uuid(),
    action: actionKind,
    target: targetSchema,
    params: paramsSchema,
    /** The action that undoes this one, stored before it runs. */
    compensation: z.strictObject({ action: actionKind, params: paramsSchema }),
    /** Verification must pass within this budget or the compensation runs. */
    rollbackBudgetSeconds: z.number().int().positive().max(86_400),
  }),
  'execution.result': z.strictObject({
    proposalId: z.uuid(),
    status: z.enum(['succeeded', 'failed']),
    detail: text(4000),
    /** The audit record of the governed call. */
    auditId: text(128).optional(),
  }),
  verification: z.strictObject({
    proposalId: z.uuid(),
    outcome: z.enum(['passed', 'failed']),
    signals: z.array(signalSchema).max(32),
    detail: text(2000),
  }),
  compensation: z.strictObject({
    proposalId: z.uuid(),
    action: actionKind,
    status: z.enum(['started', 'succeeded', 'failed']),
    reason: text(2000),
  }),
  'agent.level': z.strictObject({
    agent: label,
    level,
    previousLevel: level,
    reason: text(2000),
  }),
  'agents.pause': z.strictObject({
    paused: z.boolean(),
    reason: text(2000),
    /** The principal who paused or resumed. */
    by: text(256),
  }),
} as const;

export type AgentTopic = keyof typeof topicPayloadSchemas;
export const agentTopics = Object.keys(topicPayloadSchemas) as AgentTopic[];

const envelopeFields = {
  id: z.uuid(),
  /** The event this one answers (an observation for a proposal …); null for a root. */
  causationId: z.uuid().nullable(),
  /** The first event of the chain (the observation), so that a whole episode can be followed. */
  correlationId: z.uuid().optional(),
  tenant: label,
  /** The agent (or `opspilot` itself) that published it. */
  source: label,
  occurredAt: z.iso.datetime({ offset: true }),
};

function envelope<T extends AgentTopic>(topic: T) {
  return z.strictObject({ ...envelopeFields, topic: z.literal(topic), payload: topicPayloadSchemas[topic] });
}

export const agentEventSchemas = {
  observation: envelope('observation'),
  proposal: envelope('proposal'),
  'policy.decision': envelope('policy.decision'),
  arbitration: envelope('arbitration'),
  'execution.authorized': envelope('execution.authorized'),
  'execution.result': envelope('execution.result'),
  verification: envelope('verification'),
  compensation: envelope('compensation'),
  'agent.level': envelope('agent.level'),
  'agents.pause': envelope('agents.pause'),
} satisfies { [T in AgentTopic]: ReturnType<typeof envelope<T>> };

export const agentEventSchema = z.discriminatedUnion('topic', [
  agentEventSchemas.observation,
  agentEventSchemas.proposal,
  agentEventSchemas['policy.decision'],
  agentEventSchemas.arbitration,
  agentEventSchemas['execution.authorized'],
  agentEventSchemas['execution.result'],
  agentEventSchemas.verification,
  agentEventSchemas.compensation,
  agentEventSchemas['agent.level'],
  agentEventSchemas['agents.pause'],
]);

/** A parsed event (defaults applied). */
export type AgentEvent = z.output<typeof agentEventSchema>;
/** What a publisher may hand in (defaults optional). */
export type AgentEventInput = z.input<typeof agentEventSchema>;
export type AgentEventOf<T extends AgentTopic> = Extract<AgentEvent, { topic: T }>;

/** Size of an event's JSON text beyond which it is refused: the bus carries decisions, not data. */
export const maxEventBytes = 64 * 1024;

export function isAgentTopic(value: string): value is AgentTopic {
  return Object.hasOwn(topicPayloadSchemas, value);
}

/** Validates an event for publishing and gives its stored form; throws InvalidError naming every bad field. */
export function encodeEvent(input: AgentEventInput): { event: AgentEvent; body: string } {
  const result = agentEventSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message: issue.message,
    }));
    throw new InvalidError(
      `the ${typeof input.topic === 'string' ? input.topic : ''} event breaks its schema: ${issues
        .map((issue) => `${issue.path}: ${issue.message}`)
        .join('; ')}`,
      issues,
    );
  }
  const body = JSON.stringify(result.data);
  if (Buffer.byteLength(body) > maxEventBytes) {
    throw new InvalidError(
      `the event is ${Buffer.byteLength(body)} bytes; the bus carries at most ${maxEventBytes}`,
    );
  }
  return { event: result.data, body };
}
