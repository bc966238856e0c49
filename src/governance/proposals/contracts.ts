// The proposal contract: one zod schema types the service, the REST responses, the MCP tool outputs and the CLI.
import { z } from 'zod';
import { applyItemSchema } from '../../platform/contracts.js';

export const proposalStatuses = [
  'pending',
  'approved',
  'executing',
  'verifying',
  'succeeded',
  'failed',
  'rolled_back',
  'rejected',
  'denied',
  'expired',
] as const;
export type ProposalStatus = (typeof proposalStatuses)[number];

/** Statuses that still need something to happen. */
export const openStatuses: readonly ProposalStatus[] = ['pending', 'approved', 'executing', 'verifying'];
export const inFlightStatuses: readonly ProposalStatus[] = ['approved', 'executing', 'verifying'];

const resourceDocumentSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .loose(),
    spec: z.unknown(),
  })
  .meta({ id: 'ResourceDocument' });
export type ResourceDocument = z.infer<typeof resourceDocumentSchema>;

/** Which stored version of a resource a change was judged on (a delete and re-create gives a new uid). */
export const resourceVersionSchema = z.object({ uid: z.string(), generation: z.number() });
export type ResourceVersion = z.infer<typeof resourceVersionSchema>;

export const resourceChangeSchema = z
  .object({
    kind: z.string(),
    namespace: z.string(),
    name: z.string(),
    /** The document as it was when the proposal was made; null when it is created. */
    before: resourceDocumentSchema.nullable(),
    /**
     * The version `before` was read at (null: the resource did not exist). Execution applies the change only
     * while the resource is still at it, in the transaction that applies it. Absent on compensations, which
     * compare documents instead.
     */
    beforeVersion: resourceVersionSchema.nullable().optional(),
    /** The document the proposal writes; null when it is deleted. */
    after: resourceDocumentSchema.nullable(),
    /** Index of the document in the applied stream that asked for it (applies only). */
    document: z.number().int().min(0).optional(),
  })
  .meta({ id: 'ResourceChange' });
export type ResourceChange = z.infer<typeof resourceChangeSchema>;

export const fieldDiffSchema = z.object({
  resource: z.string(),
  path: z.string(),
  before: z.unknown(),
  after: z.unknown(),
});
export type FieldDiff = z.infer<typeof fieldDiffSchema>;

const actorSchema = z.object({
  subject: z.string(),
  kind: z.string(),
  edge: z.string(),
  client: z.string(),
});

const checkSchema = z.object({
  name: z.string(),
  outcome: z.enum(['allow', 'needs_approval', 'deny']),
  reason: z.string(),
});

/**
 * A fact the proposal depends on besides its before-documents: the release a binding runs (a binding that
 * follows its component's latest release keeps its document when a new release rolls out).
 */
export const preconditionSchema = z.object({
  component: z.string(),
  environment: z.string(),
  runsRelease: z.string(),
});
export type Precondition = z.infer<typeof preconditionSchema>;

/** Why a proposal expired: nobody decided in time, or what it would change is no longer as it was. */
export const expiryReasons = ['ttl', 'healed', 'superseded', 'done'] as const;
export type ExpiryReason = (typeof expiryReasons)[number];

export const proposalSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    action: z.string(),
    status: z.enum(proposalStatuses),
    namespace: z.string(),
    target: z.object({
      namespace: z.string(),
      project: z.string().optional(),
      component: z.string().optional(),
      environment: z.string().optional(),
      production: z.boolean(),
    }),
    createdBy: actorSchema,
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string(),
    argsDigest: z.string(),
    changes: z.array(resourceChangeSchema),
    diff: z.array(fieldDiffSchema),
    blastRadius: z.object({
      tenants: z.array(z.string()),
      services: z.array(z.string()),
      replicas: z.object({ before: z.number(), after: z.number() }).nullable(),
      capacityChangePercent: z.number().nullable(),
    }),
    guardrails: z.object({
      verdict: z.enum(['allow', 'needs_approval', 'deny']),
      checks: z.array(checkSchema),
      reasons: z.array(z.string()),
      autonomyLevel: z.number(),
      rollbackBudgetSeconds: z.number(),
    }),
    approval: z.object({
      /** Why an approval is needed (empty when the proposal runs without one). */
      required: z.boolean(),
      reasons: z.array(z.string()),
      /** The requester confirmed it through MCP elicitation (not an approval by another person). */
      confirmedByRequester: z.boolean(),
      decidedBy: actorSchema.nullable(),
      decidedAt: z.string().nullable(),
      decision: z.enum(['approved', 'rejected']).nullable(),
      comment: z.string().nullable(),
    }),
    execution: z.object({
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      /** What apply reported, or why it failed. */
      message: z.string().nullable(),
      attempts: z.number(),
      /** What the platform did per resource (created, configured, deleted, …). */
      items: z.array(applyItemSchema),
    }),
    verification: z.object({
      status: z.enum(['not_started', 'waiting', 'passed', 'failed', 'skipped']),
      deadline: z.string().nullable(),
      message: z.string().nullable(),
    }),
    compensation: z.object({
      /** The changes that undo this proposal (after → before). */
      changes: z.array(resourceChangeSchema),
      executedAt: z.string().nullable(),
      message: z.string().nullable(),
    }),
    // Optional (not defaulted): stored proposals are compared byte for byte on every step.
    preconditions: z.array(preconditionSchema).optional(),
    expiry: z
      .object({ reason: z.enum(expiryReasons), message: z.string(), at: z.string() })
      .optional()
      .describe(
        'Set when it expired: ttl (nobody decided), healed, superseded or done (its before no longer holds)',
      ),
  })
  .meta({ id: 'Proposal' });
export type Proposal = z.infer<typeof proposalSchema>;

/** A compact view for lists. */
export function proposalSummary(proposal: Proposal): ProposalSummary {
  return {
    id: proposal.id,
    title: proposal.title,
    action: proposal.action,
    status: proposal.status,
    namespace: proposal.namespace,
    environment: proposal.target.environment ?? null,
    createdBy: proposal.createdBy.subject,
    createdAt: proposal.createdAt,
    verdict: proposal.guardrails.verdict,
    ...(proposal.expiry === undefined ? {} : { expired: proposal.expiry.message }),
  };
}

export const proposalSummarySchema = z
  .object({
    id: z.string(),
    title: z.string(),
    action: z.string(),
    status: z.enum(proposalStatuses),
    namespace: z.string(),
    environment: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    verdict: z.enum(['allow', 'needs_approval', 'deny']),
    expired: z.string().optional().describe('Why it expired, when it did'),
  })
  .meta({ id: 'ProposalSummary' });
export type ProposalSummary = z.infer<typeof proposalSummarySchema>;
