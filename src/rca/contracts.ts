// The stored RCA report: what the agent found for one alert group, as REST, CLI and MCP show it.
import { z } from 'zod';

export const rcaStatuses = ['running', 'completed', 'failed'] as const;
export type RcaStatus = (typeof rcaStatuses)[number];

/**
 * How to see a piece of evidence again, in both forms an edge prints: a CLI command that runs as printed (null
 * when no command shows it) and the MCP tool call with its arguments. The CLI prints `cli`, MCP prints `tool`.
 */
export const seeSchema = z.object({
  cli: z.string().nullable(),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});
export type SeeHint = z.infer<typeof seeSchema>;

const evidenceSchema = z.object({
  source: z.enum(['metric', 'trace', 'log', 'event', 'change']),
  metric: z.string(),
  unit: z.string(),
  summary: z.string(),
  z: z.number(),
  change: z.number(),
  baseline: z.object({ median: z.number(), scale: z.number(), samples: z.number() }),
  peak: z.object({ at: z.string(), value: z.number() }),
  unexplained: z.number(),
  query: z.string().describe("How to see it again (the engine's own wording; prefer `see`)"),
  see: seeSchema.optional(),
});

export const rootCauseSchema = z.object({
  service: z.string(),
  score: z.number().describe("The ranking's weight share, 0..1 (its scale is the engine's)"),
  confidence: z
    .number()
    .optional()
    .describe(
      'How sure the report is, 0..1: from the margin over the runner-up and the evidence kinds that agree (docs/rca.md); reports made before it have only score',
    ),
  agreeing: z
    .array(z.enum(['metrics', 'logs', 'traces', 'changes']))
    .optional()
    .describe('The independent kinds of evidence that point at this service'),
  kind: z.string(),
  evidence: z.array(evidenceSchema),
  explains: z.array(z.string()),
});

const traceOriginsSchema = z
  .object({
    errors: z.array(
      z.object({
        service: z.string(),
        operation: z.string(),
        traces: z.number().describe('Failing traces since onset in which a failure began here'),
        of: z.number().describe('Failing traces sampled since onset'),
        tracesBefore: z.number(),
        ofBefore: z.number(),
        message: z.string().nullable(),
        exampleTraceId: z.string(),
      }),
    ),
    latency: z.array(
      z.object({
        service: z.string(),
        baselineMs: z.number().describe('Mean critical-path self time per trace before onset'),
        incidentMs: z.number(),
        addedMs: z.number(),
        share: z.number().describe('Of the latency added to the mean trace, the part spent here (0..1)'),
        operation: z.string(),
        traces: z.number(),
        tracesBefore: z.number(),
        exampleTraceId: z.string(),
      }),
    ),
    sampled: z.object({
      failingTraces: z.number(),
      failingTracesBefore: z.number(),
      traces: z.number(),
      tracesBefore: z.number(),
    }),
  })
  .describe('Where errors originate and latency is added, from traces sampled before and after onset');

/** A proposal the report made, as it stands when read (a stale one expires: see docs/governance.md). */
export const remediationSchema = z.object({
  proposal: z.string(),
  title: z.string(),
  status: z.string(),
  /** `undo`: reverts the change that caused it; `mitigate`: relieves the symptom (limits, replicas). */
  role: z.enum(['undo', 'mitigate']).optional(),
  /** Why this one, in this place of the order. */
  why: z.string().optional(),
  /** Why it expired, when it did: its "before" no longer holds (healed, superseded, done) or nobody decided. */
  expired: z.string().nullable().optional(),
});
export type RemediationView = z.infer<typeof remediationSchema>;

export const rcaReportSchema = z
  .object({
    id: z.string(),
    namespace: z.string(),
    status: z.enum(rcaStatuses),
    trigger: z.enum(['alert', 'manual']),
    requestedBy: z.string(),
    alert: z.object({
      fingerprint: z.string(),
      rule: z.string(),
      component: z.string().nullable(),
      environment: z.string().nullable(),
      severity: z.string(),
      summary: z.string(),
      startedAt: z.string(),
    }),
    groupKey: z.string(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    window: z
      .object({ onset: z.string(), end: z.string(), baselineStart: z.string(), baselineEnd: z.string() })
      .nullable(),
    rootCauses: z.array(rootCauseSchema),
    excluded: z.array(z.object({ service: z.string(), reason: z.string() })),
    timeline: z.array(z.object({ at: z.string(), service: z.string(), what: z.string() })),
    noRootCause: z.string().nullable(),
    recommendations: z.array(z.string()),
    traces: traceOriginsSchema.nullable().default(null),
    remediation: remediationSchema
      .nullable()
      .describe(
        'The first proposal to approve (pending approval) where one fits: undoing the change that caused it',
      ),
    alternatives: z
      .array(remediationSchema)
      .default([])
      .describe('Further proposals, in order, for when the first is not possible (each says why)'),
    narrative: z.string(),
    llm: z.object({
      used: z.boolean(),
      model: z.string().nullable(),
      inputTokens: z.number(),
      outputTokens: z.number(),
      costUsd: z.number(),
      /** Why the narrative is the deterministic one although an LLM is configured (it failed or was slow). */
      note: z.string().nullable().default(null),
    }),
    error: z.string().nullable(),
  })
  .meta({ id: 'RcaReport' });
export type RcaReportView = z.infer<typeof rcaReportSchema>;

/** LLM tokens and cost of the reports of a namespace this month, per requester (agent or person) and report. */
export const llmUsageSchema = z
  .object({
    namespace: z.string(),
    since: z.string().describe('Start of the current month (UTC)'),
    budgetUsd: z.number().nullable().describe('llm.monthlyBudgetUsd; null when unset'),
    costUsd: z.number(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    byRequester: z.array(
      z.object({
        requestedBy: z.string(),
        reports: z.number(),
        inputTokens: z.number(),
        outputTokens: z.number(),
        costUsd: z.number(),
      }),
    ),
    reports: z.array(
      z.object({
        id: z.string(),
        rule: z.string(),
        requestedBy: z.string(),
        createdAt: z.string(),
        model: z.string().nullable(),
        inputTokens: z.number(),
        outputTokens: z.number(),
        costUsd: z.number(),
      }),
    ),
  })
  .meta({ id: 'LlmUsage' });
export type LlmUsageView = z.infer<typeof llmUsageSchema>;
