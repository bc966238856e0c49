// Proposals: every write becomes one. propose() checks guardrails and stores the proposal with its audit
// record in one transaction; approved proposals execute (apply the "after" documents if nothing changed since),
// are verified against the runtime's health within the rollback budget, and are compensated (apply "before")
// when verification fails. Every state change is a compare-and-set on the proposal's version, so after a crash
// the periodic pass picks up where the last commit left off, and nothing runs twice.
import { canonicalJson, digest } from '../../core/canonical-json.js';
import type { Clock } from '../../core/clock.js';
import { durationMs } from '../../core/duration.js';
import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  errorMessage,
  type DomainError,
} from '../../core/errors.js';
import type { IdGenerator } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import { PeriodicTask } from '../../core/periodic-task.js';
import type { Config } from '../../config/config-schema.js';
import type { ApplyItem } from '../../platform/contracts.js';
import type { GuardedChange, PlatformService, ResourceLocation } from '../../platform/platform-service.js';
import type { Kind, ReleaseBindingSpec, Resource } from '../../platform/resource-kinds.js';
import { apiVersion, kindInfo, resolveKind } from '../../platform/resource-kinds.js';
import type { ProposalRecord, ProposalRepository, StateRepositories, StateStore } from '../../state/ports.js';
import type { AuditEntry, AuditLog } from '../audit/audit-log.js';
import type { Action } from '../authz/actions.js';
import type { Authorizer, Target } from '../authz/authorizer.js';
import {
  evaluateGuardrails,
  resolvePolicy,
  type GuardrailResult,
  type ReplicaChange,
} from '../guardrails/guardrails.js';
import { isAgent, type Caller } from '../principal.js';
import {
  inFlightStatuses,
  proposalSchema,
  type ExpiryReason,
  type FieldDiff,
  type Precondition,
  type Proposal,
  type ProposalStatus,
  type ResourceChange,
  type ResourceDocument,
} from './contracts.js';

/** What a write intends: built by change-plans.ts from the request and the current state. */
export interface ChangePlan {
  readonly action: Action;
  readonly title: string;
  readonly target: Target & { readonly production: boolean };
  readonly changes: readonly ResourceChange[];
  readonly replicaChanges: readonly ReplicaChange[];
  /**
   * Bindings it creates. Creating is a deploy, not scaling, except within the cooldown after a binding of the
   * same component and environment was deleted: then it is judged as scaling from the replicas it had.
   */
  readonly createdBindings?: readonly CreatedBinding[];
  /** Digest of the request's arguments, for the audit record and MCP requestState binding. */
  readonly argsDigest: string;
  /** Facts besides the before-documents that must still hold when it runs (see Precondition). */
  readonly preconditions?: readonly Precondition[];
}

export interface CreatedBinding {
  readonly component: string;
  readonly environment: string;
  readonly replicas: number;
}

export interface ProposeOptions {
  /** The requester confirmed it (MCP elicitation). */
  readonly confirmedByRequester?: boolean;
  /** Queue for approval even when guardrails would allow it, with this reason. */
  readonly requireApproval?: string | undefined;
  /**
   * The id the proposal gets. An MCP confirmation reserves one when it asks, so that it makes one proposal at
   * most: proposing with an id that exists throws ConflictError.
   */
  readonly id?: string | undefined;
}

export interface ProposalServiceOptions {
  readonly store: StateStore;
  readonly platform: PlatformService;
  readonly audit: AuditLog;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  readonly config: Config['governance'];
  /** How often verification, recovery and expiry run. */
  readonly intervalMs?: number;
}

const systemActor = { subject: 'system:opspilot', kind: 'service', edge: 'system', client: 'opspilot' };

/**
 * On PostgreSQL several instances may share proposals: one claimed for execution less than this long ago is
 * left to its instance. SQLite state belongs to one process (the data-dir lock), so there it is taken at once.
 */
const sharedExecutionLeaseMs = 30_000;

export class ProposalService {
  private readonly task: PeriodicTask;
  /** Proposals this process is running now. */
  private readonly running = new Set<string>();

  constructor(private readonly options: ProposalServiceOptions) {
    this.task = new PeriodicTask(() => this.pass(), {
      intervalMs: options.intervalMs ?? 1000,
      onError: (error) => {
        options.logger.warn({ err: error }, 'proposal pass failed; retrying');
      },
    });
  }

  private executionLeaseMs(): number {
    return this.options.store.dialect === 'postgres' ? sharedExecutionLeaseMs : 0;
  }

  /** Recovers proposals a previous run left approved, executing or verifying, then keeps watching. */
  start(): void {
    this.task.start();
  }

  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** The proposal this plan would create, without storing anything (for confirmation prompts). */
  async preview(caller: Caller, plan: ChangePlan): Promise<Proposal> {
    const judged = await this.judge(caller, plan);
    return this.build('preview', caller, judged.plan, judged.guardrails, {});
  }

  /** Stores a proposal; runs it at once when guardrails allow and no approval is required. */
  async propose(caller: Caller, plan: ChangePlan, options: ProposeOptions = {}): Promise<Proposal> {
    if (plan.changes.length === 0) {
      throw new InvalidError('nothing would change: the resources already look like that', [], {
        hint: 'Check the current state (get_component_status) before asking again.',
      });
    }
    const started = performance.now();
    // Facts and insert in one transaction under the namespace's lock: two concurrent proposals cannot both pass
    // a cooldown or a concurrent-action limit that only one of them fits in.
    const proposal = await this.options.store.transaction(async (tx) => {
      await tx.proposals.lockNamespace(plan.target.namespace);
      if (options.id !== undefined && (await tx.proposals.get(options.id)) !== undefined) {
        throw new ConflictError(`proposal ${options.id} exists already: this confirmation was used`, {
          hint: 'Call the tool again to see the current diff and confirm that.',
        });
      }
      const { plan: judged, guardrails } = await this.judge(caller, plan, tx.proposals);
      const proposal = this.build(options.id ?? this.options.ids.uid(), caller, judged, guardrails, options);
      await tx.proposals.insert(toRecord(proposal, 1));
      await this.options.audit.appendWithin(tx, [
        this.entry(caller, proposal, {
          decision: guardrails.verdict,
          reasons: guardrails.verdict === 'allow' ? proposal.approval.reasons : guardrails.reasons,
          result: `proposal ${proposal.id} ${proposal.status}`,
          latencyMs: performance.now() - started,
          details: { proposal: proposal.id, diff: proposal.diff, blastRadius: proposal.blastRadius },
        }),
      ]);
      return proposal;
    });
    if (proposal.status === 'approved') return this.run(proposal.id);
    return proposal;
  }

  async get(id: string): Promise<Proposal> {
    const record = await this.options.store.proposals.get(id);
    if (record === undefined) {
      throw new NotFoundError(`proposal ${id} does not exist`, { hint: 'List proposals to see their ids.' });
    }
    return proposalSchema.parse(record.body);
  }

  async list(filter: {
    namespaces?: '*' | readonly string[];
    statuses?: readonly ProposalStatus[];
    limit?: number;
  }): Promise<Proposal[]> {
    const namespaces = filter.namespaces ?? '*';
    const lists =
      namespaces === '*'
        ? [await this.options.store.proposals.list({ statuses: filter.statuses, limit: filter.limit })]
        : await Promise.all(
            namespaces.map((namespace) =>
              this.options.store.proposals.list({
                namespace,
                statuses: filter.statuses,
                limit: filter.limit,
              }),
            ),
          );
    return lists
      .flat()
      .map((record) => proposalSchema.parse(record.body))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, filter.limit ?? 100);
  }

  /** Approves a pending proposal of someone else, then runs it. */
  async approve(caller: Caller, id: string, comment?: string): Promise<Proposal> {
    await this.decide(caller, id, 'approved', comment);
    return this.run(id);
  }

  async reject(caller: Caller, id: string, comment?: string): Promise<Proposal> {
    return this.decide(caller, id, 'rejected', comment);
  }

  /**
   * Records the decision, or refuses it: unknown, not the caller's to decide, expired, or already decided (also
   * by a concurrent decision: the compare-and-set lets exactly one win). Every outcome is audited.
   */
  private async decide(
    caller: Caller,
    id: string,
    decision: 'approved' | 'rejected',
    comment: string | undefined,
  ): Promise<Proposal> {
    const started = performance.now();
    const action = decision === 'approved' ? 'approve' : 'reject';
    const refuse = async (
      proposal: Proposal | undefined,
      error: DomainError,
      why?: string,
    ): Promise<never> => {
      const fields = {
        action: 'proposal.approve' as const,
        decision: 'deny' as const,
        reasons: [error.message],
        result: why === undefined ? `${action} refused` : `${action} refused: ${why}`,
        latencyMs: performance.now() - started,
        details: { proposal: id },
      };
      await this.options.audit.append(
        proposal === undefined ? this.unknownEntry(caller, id, fields) : this.entry(caller, proposal, fields),
      );
      throw error;
    };
    const record = await this.options.store.proposals.get(id);
    if (record === undefined) {
      return refuse(
        undefined,
        new NotFoundError(`proposal ${id} does not exist`, {
          hint: 'List proposals to see their ids: opspilot proposals list, GET /api/v1/proposals.',
        }),
        'not found',
      );
    }
    const proposal = proposalSchema.parse(record.body);
    const refusal = this.approvalRefusal(caller, proposal);
    if (refusal !== undefined) {
      return refuse(
        proposal,
        new ForbiddenError(refusal, {
          hint: 'Another person with the operator role on this scope must decide on it.',
        }),
      );
    }
    if (
      proposal.status === 'pending' &&
      Date.parse(proposal.expiresAt) <= this.options.clock.now().getTime()
    ) {
      return refuse(
        proposal,
        new ConflictError(`proposal ${id} expired at ${proposal.expiresAt}`, {
          hint: 'Make the change again to get a new proposal.',
        }),
        'the proposal expired',
      );
    }
    if (proposal.status !== 'pending') return refuse(proposal, alreadyDecided(proposal), 'not pending');
    if (decision === 'approved') {
      // Its before must still hold: expire it now (audited) rather than approve a change that no longer fits.
      const expired = await this.expireIfStale(proposal);
      if (expired.status === 'expired') {
        return refuse(
          expired,
          new ConflictError(`proposal ${id} expired: ${expired.expiry?.message ?? ''}`, {
            hint: 'Make the change again from the current state to get a new proposal.',
          }),
          'the proposal expired',
        );
      }
    }
    const now = this.now();
    const updated: Proposal = {
      ...proposal,
      status: decision,
      updatedAt: now,
      approval: {
        ...proposal.approval,
        decidedBy: actor(caller),
        decidedAt: now,
        decision,
        comment: comment ?? null,
      },
    };
    try {
      await this.save(proposal, updated, [
        this.entry(caller, updated, {
          action: 'proposal.approve',
          decision: action,
          reasons: comment === undefined ? [] : [comment],
          result: `proposal ${id} ${decision}`,
          latencyMs: performance.now() - started,
          details: { proposal: id },
        }),
      ]);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Someone decided (or the pass expired it) between our read and our write.
      const current = await this.get(id);
      return refuse(current, alreadyDecided(current), 'decided meanwhile');
    }
    return updated;
  }

  /** Why this caller may not decide on this proposal, or undefined when they may. */
  private approvalRefusal(caller: Caller, proposal: Proposal): string | undefined {
    if (isAgent(caller.principal))
      return `agents never approve or reject proposals (${caller.principal.subject})`;
    if (caller.principal.subject === proposal.createdBy.subject) {
      return `${caller.principal.subject} created proposal ${proposal.id}; nobody decides on their own proposal`;
    }
    const decision = this.options.authorizer.check(caller.principal, 'proposal.approve', proposal.target);
    return decision.allowed ? undefined : decision.reason;
  }

  /**
   * Executes an approved proposal: claim it (approved → executing), apply, then wait for verification. A
   * proposal found executing after a crash is completed the same way: the after-state is applied only if the
   * resources still look like before (or already like after), so a second pass never repeats an action.
   */
  private async run(id: string): Promise<Proposal> {
    this.running.add(id);
    try {
      return await this.advance(id);
    } catch (error) {
      // Someone else moved it on meanwhile (another instance, a decision): report where it is now.
      if (error instanceof ConflictError) return await this.get(id);
      throw error;
    } finally {
      this.running.delete(id);
    }
  }

  private async advance(id: string): Promise<Proposal> {
    let proposal = await this.get(id);
    if (proposal.status === 'approved') {
      const claimed: Proposal = {
        ...proposal,
        status: 'executing',
        updatedAt: this.now(),
        execution: {
          ...proposal.execution,
          startedAt: this.now(),
          attempts: proposal.execution.attempts + 1,
        },
      };
      try {
        await this.save(proposal, claimed, []);
      } catch (error) {
        if (error instanceof ConflictError) return this.get(id);
        throw error;
      }
      proposal = claimed;
    }
    if (proposal.status !== 'executing') return proposal;
    const started = performance.now();
    let next: Proposal;
    try {
      const { message, items } = await this.applyChanges(proposal.changes, proposal.target);
      const budget = this.options.config.verifyTimeoutSeconds ?? proposal.guardrails.rollbackBudgetSeconds;
      const verifiable = proposal.changes.some(isVerifiable);
      next = {
        ...proposal,
        status: verifiable ? 'verifying' : 'succeeded',
        updatedAt: this.now(),
        execution: { ...proposal.execution, finishedAt: this.now(), message, items },
        verification: verifiable
          ? {
              status: 'waiting',
              deadline: new Date(this.options.clock.now().getTime() + budget * 1000).toISOString(),
              message: null,
            }
          : { status: 'skipped', deadline: null, message: 'nothing to verify for these resource kinds' },
      };
    } catch (error) {
      next = {
        ...proposal,
        status: 'failed',
        updatedAt: this.now(),
        execution: { ...proposal.execution, finishedAt: this.now(), message: describeFailure(error) },
      };
    }
    await this.save(proposal, next, [
      this.systemEntry(next, {
        decision: 'system',
        result: next.status === 'failed' ? `execution failed: ${next.execution.message ?? ''}` : 'executed',
        latencyMs: performance.now() - started,
        details: { proposal: id, changes: next.changes.map(changeName) },
      }),
    ]);
    if (next.status === 'verifying') return (await this.verify(next)) ?? next;
    return next;
  }

  /**
   * Applies the after documents as one compare-and-set: only while every resource is still at the version the
   * proposal was judged on (or, without one, still looks like its before), in the transaction that writes them.
   * Resources that already look like after are left alone, so a second pass after a crash repeats nothing.
   * Errors name only what lies within the proposal's target (what its author was authorized for).
   */
  private async applyChanges(
    changes: readonly ResourceChange[],
    target: Proposal['target'],
  ): Promise<{ message: string; items: ApplyItem[] }> {
    const writes: GuardedChange[] = [];
    /** The proposal's document number of each write with an after (the platform numbers those itself). */
    const numbers: (number | undefined)[] = [];
    const unchanged: ApplyItem[] = [];
    for (const change of changes) {
      const kind = resolveKind(change.kind);
      if (kind === undefined) throw new InvalidError(`unknown kind ${change.kind}`);
      const current = await this.currentResource(kind, change);
      const document = current === undefined ? null : toDocument(current);
      if (sameDocument(document, change.after)) {
        unchanged.push({
          kind,
          namespace: change.namespace === '' ? null : change.namespace,
          name: change.name,
          action: 'unchanged',
          document: change.document ?? null,
        });
        continue;
      }
      const read =
        current === undefined ? null : { uid: current.metadata.uid, generation: current.metadata.generation };
      const judged = change.beforeVersion;
      const still =
        judged === undefined
          ? sameDocument(document, change.before)
          : judged === null
            ? read === null
            : read?.uid === judged.uid && read.generation === judged.generation;
      if (!still) {
        throw new ConflictError(
          `${change.kind} ${change.name} changed since it was proposed; propose again (nothing was applied)`,
          { hint: 'Make the change again from the current state to get a new proposal.' },
        );
      }
      writes.push({
        kind,
        namespace: change.namespace,
        name: change.name,
        expected: judged ?? read,
        after: change.after,
      });
      if (change.after !== null) numbers.push(change.document);
    }
    const items: ApplyItem[] = [...unchanged];
    if (writes.length > 0) {
      const applied = await this.options.platform.applyIfUnchanged(writes, {
        visible: (where) => withinTarget(target, where),
      });
      items.push(
        ...applied.map((item) => ({
          ...item,
          document: item.document === null ? null : (numbers[item.document] ?? item.document),
        })),
      );
    }
    const message =
      unchanged.length === 0
        ? `applied ${writes.length} change(s)`
        : `applied ${writes.length} change(s); ${unchanged.length} were already in place`;
    return { message, items };
  }

  private async currentResource(kind: Kind, change: ResourceChange): Promise<Resource | undefined> {
    try {
      return await this.options.platform.get(kind, change.namespace, change.name);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  private async currentDocument(change: ResourceChange): Promise<ResourceDocument | null> {
    const kind = resolveKind(change.kind);
    if (kind === undefined) return null;
    const current = await this.currentResource(kind, change);
    return current === undefined ? null : toDocument(current);
  }

  /** Checks health once; returns the updated proposal when verification finished. */
  private async verify(proposal: Proposal): Promise<Proposal | undefined> {
    const problems: string[] = [];
    for (const change of proposal.changes.filter(isVerifiable)) {
      const problem = await this.bindingProblem(change);
      if (problem !== undefined) problems.push(problem);
    }
    const now = this.options.clock.now();
    if (problems.length === 0) {
      const next: Proposal = {
        ...proposal,
        status: 'succeeded',
        updatedAt: now.toISOString(),
        verification: { ...proposal.verification, status: 'passed', message: 'healthy' },
      };
      await this.save(proposal, next, [
        this.systemEntry(next, { decision: 'system', result: 'verified healthy', latencyMs: 0 }),
      ]);
      return next;
    }
    const deadline = Date.parse(proposal.verification.deadline ?? now.toISOString());
    if (now.getTime() < deadline) return undefined;
    return this.compensate(proposal, problems.join('; '));
  }

  private async compensate(proposal: Proposal, why: string): Promise<Proposal> {
    let message: string;
    let status: ProposalStatus = 'rolled_back';
    try {
      ({ message } = await this.applyChanges(proposal.compensation.changes, proposal.target));
    } catch (error) {
      status = 'failed';
      message = `compensation failed: ${errorMessage(error)}`;
    }
    const next: Proposal = {
      ...proposal,
      status,
      updatedAt: this.now(),
      verification: { ...proposal.verification, status: 'failed', message: why },
      compensation: { ...proposal.compensation, executedAt: this.now(), message },
    };
    await this.save(proposal, next, [
      this.systemEntry(next, {
        decision: 'system',
        result: status === 'rolled_back' ? 'verification failed; compensated' : message,
        reasons: [why],
        latencyMs: 0,
        details: { proposal: proposal.id, compensation: proposal.compensation.changes.map(changeName) },
      }),
    ]);
    return next;
  }

  /** Why the binding is not yet healthy as the change wants it, or undefined when it is. */
  private async bindingProblem(change: ResourceChange): Promise<string | undefined> {
    const spec = change.after?.spec as ReleaseBindingSpec | undefined;
    if (spec === undefined) return undefined;
    let status;
    try {
      status = await this.options.platform.componentStatus(change.namespace, spec.component);
    } catch (error) {
      if (error instanceof NotFoundError) return `${spec.component} no longer exists`;
      throw error;
    }
    const environment = status.environments.find((item) => item.environment === spec.environment);
    const where = `${spec.component} in ${spec.environment}`;
    if (environment === undefined) return `${where} has no status yet`;
    if (spec.state === 'Undeploy') {
      return environment.phase === 'Undeployed'
        ? undefined
        : `${where} is ${environment.phase}, not Undeployed`;
    }
    if (environment.phase !== 'Running' && !(spec.replicas === 0 && environment.readyReplicas === 0)) {
      return `${where} is ${environment.phase} (${environment.readyReplicas}/${spec.replicas} ready)`;
    }
    if (environment.readyReplicas < spec.replicas) {
      return `${where} has ${environment.readyReplicas}/${spec.replicas} replicas ready`;
    }
    return undefined;
  }

  /** One periodic pass: run approved or interrupted proposals, verify, expire. */
  private async pass(): Promise<void> {
    const open = await this.options.store.proposals.list({
      statuses: ['pending', 'approved', 'executing', 'verifying'],
      limit: 1000,
    });
    const now = this.options.clock.now().getTime();
    for (const record of open) {
      const proposal = proposalSchema.parse(record.body);
      // Being run right now by this process, or recently claimed by another instance: leave it to them.
      if (this.running.has(proposal.id)) continue;
      if (proposal.status === 'executing' && now - Date.parse(proposal.updatedAt) < this.executionLeaseMs())
        continue;
      try {
        if (proposal.status === 'approved' || proposal.status === 'executing') await this.run(proposal.id);
        else if (proposal.status === 'verifying') await this.verify(proposal);
        else if (Date.parse(proposal.expiresAt) <= now) await this.expire(proposal);
        else await this.expireIfStale(proposal);
      } catch (error) {
        // One proposal that cannot move on must not hold up the others.
        if (!(error instanceof ConflictError)) {
          this.options.logger.warn({ err: error, proposal: proposal.id }, 'a proposal could not be advanced');
        }
      }
    }
  }

  private async expire(
    proposal: Proposal,
    why: { reason: ExpiryReason; message: string } = {
      reason: 'ttl',
      message: `nobody decided before ${proposal.expiresAt}`,
    },
  ): Promise<Proposal> {
    const next: Proposal = {
      ...proposal,
      status: 'expired',
      updatedAt: this.now(),
      expiry: { ...why, at: this.now() },
    };
    await this.save(proposal, next, [
      this.systemEntry(next, {
        decision: 'system',
        result: why.reason === 'ttl' ? 'expired without a decision' : `expired: ${why.reason}`,
        reasons: [why.message],
        latencyMs: 0,
        details: { proposal: proposal.id, expiry: why.reason },
      }),
    ]);
    return next;
  }

  /** Expires a pending proposal whose before no longer holds (committed with its audit record). */
  async expireIfStale(proposal: Proposal): Promise<Proposal> {
    if (proposal.status !== 'pending') return proposal;
    const why = await this.staleness(proposal);
    return why === undefined ? proposal : this.expire(proposal, why);
  }

  /**
   * Why a pending proposal can no longer run as proposed, or undefined while its before still holds:
   * - done: the resources look as it would make them, because another proposal made exactly that change;
   * - healed: they look so (or the binding runs a release equal to the one a rollback would pin) by another path;
   * - superseded: they changed otherwise (execution would refuse them as stale), or the release it would roll
   *   back from no longer runs.
   */
  async staleness(proposal: Proposal): Promise<{ reason: ExpiryReason; message: string } | undefined> {
    if (proposal.changes.length === 0) return undefined;
    const current = await Promise.all(proposal.changes.map((change) => this.currentDocument(change)));
    if (proposal.changes.every((change, index) => sameDocument(current[index] ?? null, change.after))) {
      const by = await this.madeBy(proposal);
      return by === undefined
        ? {
            reason: 'healed',
            message: `healed: ${proposal.changes.map(changeName).join(', ')} already look as it would make them, changed by another path since it was proposed`,
          }
        : { reason: 'done', message: `already done by proposal ${by.id} (${by.title})` };
    }
    for (const [index, change] of proposal.changes.entries()) {
      const now = current[index] ?? null;
      if (sameDocument(now, change.before) || sameDocument(now, change.after)) continue;
      const fields = diffChange({ ...change, after: now })
        .map((diff) => diff.path)
        .slice(0, 5);
      const by = await this.madeBy(proposal, change, now);
      return {
        reason: 'superseded',
        message: `superseded: ${changeName(change)} changed since it was proposed (${fields.join(', ') || 'deleted'}${by === undefined ? '' : `, by proposal ${by.id}: ${by.title}`})`,
      };
    }
    for (const precondition of proposal.preconditions ?? []) {
      const stale = await this.preconditionProblem(proposal, precondition);
      if (stale !== undefined) return stale;
    }
    return undefined;
  }

  /** A later proposal that ran and left `change`'s resource as `document` (default: as this one would). */
  private async madeBy(
    proposal: Proposal,
    change?: ResourceChange,
    document?: ResourceDocument | null,
  ): Promise<Proposal | undefined> {
    const records = await this.options.store.proposals.list({
      namespace: proposal.namespace,
      statuses: ['verifying', 'succeeded'],
      limit: 200,
    });
    const wanted = change === undefined ? proposal.changes : [change];
    return records
      .map((record) => proposalSchema.parse(record.body))
      .filter((other) => other.id !== proposal.id && (other.execution.startedAt ?? '') >= proposal.createdAt)
      .sort((a, b) => ((a.execution.startedAt ?? '') < (b.execution.startedAt ?? '') ? 1 : -1))
      .find((other) =>
        wanted.every((mine) =>
          other.changes.some(
            (theirs) =>
              theirs.kind === mine.kind &&
              theirs.name === mine.name &&
              sameDocument(theirs.after, document === undefined ? mine.after : document),
          ),
        ),
      );
  }

  private async preconditionProblem(
    proposal: Proposal,
    precondition: Precondition,
  ): Promise<{ reason: ExpiryReason; message: string } | undefined> {
    const { component, environment, runsRelease } = precondition;
    let running: string | null | undefined;
    try {
      // The release the binding is set to run (a rollout in progress still counts as that release).
      const status = await this.options.platform.componentStatus(proposal.namespace, component);
      const binding = (
        await this.options.platform.list('ReleaseBinding', { namespace: proposal.namespace, component })
      )
        .map((item) => item.spec as ReleaseBindingSpec)
        .find((spec) => spec.environment === environment);
      running = binding === undefined ? undefined : (binding.release ?? status.latestRelease);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      return { reason: 'superseded', message: `superseded: ${component} no longer exists` };
    }
    if (running === undefined || running === null || running === runsRelease) return undefined;
    const where = `${component}@${environment}`;
    const target = proposal.changes
      .map((change) => (change.after?.spec as ReleaseBindingSpec | undefined)?.release)
      .find((release) => release !== undefined);
    if (target !== undefined && (await this.sameTemplate(proposal.namespace, running, target))) {
      return {
        reason: 'healed',
        message: `healed: ${where} now runs ${running}, the same as ${target} this would roll back to`,
      };
    }
    return {
      reason: 'superseded',
      message: `superseded: ${where} now runs ${running}, not ${runsRelease} this would roll back from`,
    };
  }

  private async sameTemplate(namespace: string, a: string, b: string): Promise<boolean> {
    try {
      const [left, right] = await Promise.all([
        this.options.platform.get('Release', namespace, a),
        this.options.platform.get('Release', namespace, b),
      ]);
      return (
        canonicalJson((left.spec as { template?: unknown }).template ?? null) ===
        canonicalJson((right.spec as { template?: unknown }).template ?? null)
      );
    } catch (error) {
      if (error instanceof NotFoundError) return false;
      throw error;
    }
  }

  /** Compare-and-set on the stored version, with the audit records in the same transaction. */
  private async save(before: Proposal, after: Proposal, entries: readonly AuditEntry[]): Promise<void> {
    await this.options.store.transaction(async (tx: StateRepositories) => {
      const stored = await tx.proposals.get(before.id, { forUpdate: true });
      if (stored === undefined) throw new NotFoundError(`proposal ${before.id} does not exist`);
      if (stored.status !== before.status || canonicalJson(stored.body) !== canonicalJson(before)) {
        throw new ConflictError(`proposal ${before.id} was changed meanwhile`, {
          hint: 'Read it again: someone may have approved, rejected or executed it.',
        });
      }
      await tx.proposals.update(toRecord(after, stored.version + 1), stored.version);
      if (entries.length > 0) await this.options.audit.appendWithin(tx, entries);
    });
  }

  /**
   * The guardrail verdict of a plan from the namespace's recent proposals, and the plan as judged: a binding
   * created within the cooldown after one of the same component and environment was deleted becomes a scaling
   * from the replicas it was deleted with. A proposal that failed before it changed anything counts for nothing.
   */
  private async judge(
    caller: Caller,
    plan: ChangePlan,
    proposals: ProposalRepository = this.options.store.proposals,
  ): Promise<{ plan: ChangePlan; guardrails: GuardrailResult }> {
    const namespace = plan.target.namespace;
    const environment = plan.target.environment;
    const now = this.options.clock.now();
    const recent = await proposals.list({
      namespace,
      statuses: ['approved', 'executing', 'verifying', 'succeeded', 'rolled_back', 'failed'],
      limit: 500,
    });
    const lastScaledAt: Record<string, string> = {};
    const lastScaledFrom = new Map<string, number>();
    const lastDeleted = new Map<string, { at: string; replicas: number }>();
    let inFlight = 0;
    for (const record of recent) {
      const proposal = proposalSchema.parse(record.body);
      if ((inFlightStatuses as readonly string[]).includes(proposal.status)) inFlight += 1;
      if (
        proposal.status === 'failed' &&
        !proposal.execution.items.some((item) => item.action !== 'unchanged')
      )
        continue;
      // An approved proposal that has not started yet scales soon: its cooldown counts from its approval.
      const at = proposal.execution.startedAt ?? (proposal.status === 'approved' ? proposal.updatedAt : null);
      if (at === null) continue;
      for (const change of proposal.changes) {
        if (change.kind !== 'ReleaseBinding' || change.after !== null || change.before === null) continue;
        const spec = change.before.spec as Partial<ReleaseBindingSpec>;
        const key = `${spec.component ?? ''}@${spec.environment ?? ''}`;
        if ((lastDeleted.get(key)?.at ?? '') < at)
          lastDeleted.set(key, { at, replicas: spec.state === 'Undeploy' ? 0 : (spec.replicas ?? 0) });
      }
      if (proposal.blastRadius.replicas === null) continue;
      if (proposal.blastRadius.replicas.before === proposal.blastRadius.replicas.after) continue;
      for (const change of proposal.changes) {
        const spec = change.after?.spec as { component?: string; environment?: string } | undefined;
        if (spec?.component === undefined || spec.environment === undefined) continue;
        const key = `${spec.component}@${spec.environment}`;
        const previous = lastScaledAt[key];
        if (previous === undefined || previous < at) {
          lastScaledAt[key] = at;
          const before = (change.before?.spec as { replicas?: unknown } | undefined)?.replicas;
          if (typeof before === 'number') lastScaledFrom.set(key, before);
          else lastScaledFrom.delete(key);
        }
      }
    }
    const replicaChanges = [...plan.replicaChanges];
    for (const created of plan.createdBindings ?? []) {
      const deleted = lastDeleted.get(`${created.component}@${created.environment}`);
      if (deleted === undefined || deleted.replicas === created.replicas) continue;
      const cooldown = resolvePolicy(this.options.config, namespace, created.environment).cooldownSeconds;
      if (Date.parse(deleted.at) + cooldown * 1000 <= now.getTime()) continue;
      replicaChanges.push({
        component: created.component,
        environment: created.environment,
        before: deleted.replicas,
        after: created.replicas,
      });
    }
    const judged: ChangePlan = { ...plan, replicaChanges };
    const policy = resolvePolicy(this.options.config, namespace, environment);
    const guardrails = evaluateGuardrails(
      {
        action: plan.action,
        principal: { kind: caller.principal.kind, autonomy: caller.principal.autonomy },
        namespace,
        environment:
          environment === undefined ? undefined : { name: environment, production: plan.target.production },
        tenants: [...new Set(plan.changes.map((change) => change.namespace).filter((name) => name !== ''))],
        services: [...new Set(plan.changes.map(serviceOf).filter((name) => name !== undefined))],
        replicaChanges,
        lastScaledAt,
        lastScaledFrom: Object.fromEntries(lastScaledFrom),
        inFlight,
        freezeWindows: this.options.config.freezeWindows,
        now,
      },
      policy,
    );
    return { plan: judged, guardrails };
  }

  private build(
    id: string,
    caller: Caller,
    plan: ChangePlan,
    guardrails: GuardrailResult,
    options: ProposeOptions,
  ): Proposal {
    const now = this.now();
    const approvalReasons = [
      ...(guardrails.verdict === 'needs_approval' ? guardrails.reasons : []),
      ...(options.requireApproval === undefined ? [] : [options.requireApproval]),
    ];
    const status: ProposalStatus =
      guardrails.verdict === 'deny' ? 'denied' : approvalReasons.length > 0 ? 'pending' : 'approved';
    const replicasBefore = plan.replicaChanges.reduce((sum, change) => sum + change.before, 0);
    const replicasAfter = plan.replicaChanges.reduce((sum, change) => sum + change.after, 0);
    return {
      id,
      title: plan.title,
      action: plan.action,
      status,
      namespace: plan.target.namespace,
      target: {
        namespace: plan.target.namespace,
        ...(plan.target.project === undefined ? {} : { project: plan.target.project }),
        ...(plan.target.component === undefined ? {} : { component: plan.target.component }),
        ...(plan.target.environment === undefined ? {} : { environment: plan.target.environment }),
        production: plan.target.production,
      },
      createdBy: actor(caller),
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(
        this.options.clock.now().getTime() + durationMs(this.options.config.proposalTtl),
      ).toISOString(),
      argsDigest: plan.argsDigest,
      changes: [...plan.changes],
      diff: plan.changes.flatMap(diffChange),
      blastRadius: {
        tenants: [...new Set(plan.changes.map((change) => change.namespace).filter((name) => name !== ''))],
        services: [...new Set(plan.changes.map(serviceOf).filter((name) => name !== undefined))],
        replicas: plan.replicaChanges.length === 0 ? null : { before: replicasBefore, after: replicasAfter },
        capacityChangePercent: guardrails.capacityChangePercent,
      },
      guardrails: {
        verdict: guardrails.verdict,
        checks: [...guardrails.checks],
        reasons: [...guardrails.reasons],
        autonomyLevel: guardrails.autonomyLevel,
        rollbackBudgetSeconds: guardrails.rollbackBudgetSeconds,
      },
      approval: {
        required: status === 'pending',
        reasons: approvalReasons,
        confirmedByRequester: options.confirmedByRequester === true,
        decidedBy: status === 'approved' ? systemActor : null,
        decidedAt: status === 'approved' ? now : null,
        decision: status === 'approved' ? 'approved' : null,
        comment: status === 'approved' ? 'allowed by guardrails without approval' : null,
      },
      execution: { startedAt: null, finishedAt: null, message: null, attempts: 0, items: [] },
      verification: { status: 'not_started', deadline: null, message: null },
      compensation: {
        // Compensations compare documents: the version after execution is not known yet.
        changes: plan.changes.map(({ kind, namespace, name, before, after }) => ({
          kind,
          namespace,
          name,
          before: after,
          after: before,
        })),
        executedAt: null,
        message: null,
      },
      ...(plan.preconditions === undefined || plan.preconditions.length === 0
        ? {}
        : { preconditions: [...plan.preconditions] }),
    };
  }

  private entry(
    caller: Caller,
    proposal: Proposal,
    fields: Pick<AuditEntry, 'decision' | 'reasons' | 'result' | 'latencyMs'> &
      Partial<Pick<AuditEntry, 'action' | 'details'>>,
  ): AuditEntry {
    return {
      principal: caller.principal.subject,
      principalKind: caller.principal.kind,
      client: caller.client,
      edge: caller.edge,
      action: fields.action ?? proposal.action,
      namespace: proposal.namespace,
      target: targetText(proposal),
      argsDigest: proposal.argsDigest,
      decision: fields.decision,
      reasons: fields.reasons,
      result: fields.result,
      details: fields.details ?? { proposal: proposal.id },
      latencyMs: fields.latencyMs,
      trail: caller.trail,
    };
  }

  /** The record of a decision on a proposal that does not exist. */
  private unknownEntry(
    caller: Caller,
    id: string,
    fields: Pick<AuditEntry, 'action' | 'decision' | 'reasons' | 'result' | 'latencyMs' | 'details'>,
  ): AuditEntry {
    return {
      principal: caller.principal.subject,
      principalKind: caller.principal.kind,
      client: caller.client,
      edge: caller.edge,
      namespace: '',
      target: `proposal ${id}`,
      argsDigest: digest({ id }),
      ...fields,
      trail: caller.trail,
    };
  }

  private systemEntry(
    proposal: Proposal,
    fields: Pick<AuditEntry, 'decision' | 'result' | 'latencyMs'> &
      Partial<Pick<AuditEntry, 'reasons' | 'details'>>,
  ): AuditEntry {
    return {
      principal: systemActor.subject,
      principalKind: 'service',
      client: systemActor.client,
      edge: 'system',
      action: proposal.action,
      namespace: proposal.namespace,
      target: targetText(proposal),
      argsDigest: proposal.argsDigest,
      decision: fields.decision,
      reasons: fields.reasons ?? [],
      result: fields.result,
      details: fields.details ?? { proposal: proposal.id, status: proposal.status },
      latencyMs: fields.latencyMs,
    };
  }

  private now(): string {
    return this.options.clock.now().toISOString();
  }
}

/** Why a proposal that is no longer pending cannot be decided on: who decided it, and what it is now. */
function alreadyDecided(proposal: Proposal): ConflictError {
  const { decision, decidedBy, decidedAt } = proposal.approval;
  const decided =
    decision === null || decidedBy === null
      ? `is ${proposal.status}${proposal.expiry === undefined ? '' : ` (${proposal.expiry.message})`}`
      : `was already ${decision} by ${decidedBy.subject}${decidedAt === null ? '' : ` at ${decidedAt}`}; it is ${proposal.status} now`;
  return new ConflictError(`proposal ${proposal.id} ${decided}, not pending`, {
    hint: `Only pending proposals can be approved or rejected; opspilot proposals show ${proposal.id} tells what became of it.`,
  });
}

/** An error with its field issues, for the proposal record. */
function describeFailure(error: unknown): string {
  if (error instanceof InvalidError && error.issues.length > 0) {
    return `${error.message}: ${error.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`;
  }
  return errorMessage(error);
}

function actor(caller: Caller): Proposal['createdBy'] {
  return {
    subject: caller.principal.subject,
    kind: caller.principal.kind,
    edge: caller.edge,
    client: caller.client,
  };
}

function toRecord(proposal: Proposal, version: number): ProposalRecord {
  return {
    id: proposal.id,
    namespace: proposal.namespace,
    status: proposal.status,
    createdBy: proposal.createdBy.subject,
    createdAt: proposal.createdAt,
    updatedAt: proposal.updatedAt,
    version,
    body: proposal,
  };
}

export function targetText(proposal: Pick<Proposal, 'target'>): string {
  const { namespace, project, component, environment } = proposal.target;
  return [namespace, project ?? '*', component ?? '*', environment ?? '*'].join('/');
}

/** The API document of a resource: what apply takes and what a proposal records as before/after. */
export function toDocument(resource: {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    project?: string;
    labels: Readonly<Record<string, string>>;
    annotations: Readonly<Record<string, string>>;
  };
  spec: unknown;
}): ResourceDocument {
  const { name, namespace, project, labels, annotations } = resource.metadata;
  return {
    apiVersion,
    kind: resource.kind,
    metadata: {
      name,
      ...(namespace === undefined || namespace === '' ? {} : { namespace }),
      ...(project === undefined || resource.kind !== 'Component' ? {} : { project }),
      labels: { ...labels },
      annotations: { ...annotations },
    },
    spec: resource.spec,
  };
}

function sameDocument(a: ResourceDocument | null, b: ResourceDocument | null): boolean {
  if (a === null || b === null) return a === b;
  const comparable = (document: ResourceDocument): unknown => ({
    kind: document.kind,
    name: document.metadata.name,
    labels: document.metadata.labels ?? {},
    annotations: document.metadata.annotations ?? {},
    spec: document.spec,
  });
  return canonicalJson(comparable(a)) === canonicalJson(comparable(b));
}

/** Whether `where` lies within a proposal's target: every part the target names, `where` matches or leaves open. */
function withinTarget(target: Proposal['target'], where: ResourceLocation): boolean {
  return (['namespace', 'project', 'component', 'environment'] as const).every(
    (part) => target[part] === undefined || where[part] === undefined || target[part] === where[part],
  );
}

function isVerifiable(change: ResourceChange): boolean {
  return change.kind === 'ReleaseBinding' && change.after !== null;
}

function serviceOf(change: ResourceChange): string | undefined {
  if (change.kind === 'Component') return change.name;
  const spec = (change.after ?? change.before)?.spec as { component?: unknown } | undefined;
  return typeof spec?.component === 'string' ? spec.component : undefined;
}

function changeName(change: ResourceChange): string {
  return `${change.kind}/${change.namespace === '' ? '' : `${change.namespace}/`}${change.name}`;
}

/** Field-level differences, for people: `spec.replicas: 2 → 4`. */
export function diffChange(change: ResourceChange): FieldDiff[] {
  const resource = changeName(change);
  const before = change.before === null ? undefined : comparableFields(change.before);
  const after = change.after === null ? undefined : comparableFields(change.after);
  const diffs: FieldDiff[] = [];
  walk(before, after, '', (path, a, b) => {
    diffs.push({ resource, path, before: a ?? null, after: b ?? null });
  });
  return diffs;
}

function comparableFields(document: ResourceDocument): unknown {
  return {
    metadata: { labels: document.metadata.labels ?? {}, annotations: document.metadata.annotations ?? {} },
    spec: document.spec,
  };
}

function walk(
  a: unknown,
  b: unknown,
  path: string,
  emit: (path: string, a: unknown, b: unknown) => void,
): void {
  if (canonicalJson(a) === canonicalJson(b)) return;
  const isObject = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) walk(a[key], b[key], path === '' ? key : `${path}.${key}`, emit);
    return;
  }
  emit(path === '' ? '(resource)' : path, a, b);
}

/** Whether a kind is cluster-scoped (its documents carry no namespace). */
export function isClusterKind(kind: string): boolean {
  const resolved = resolveKind(kind);
  return resolved !== undefined && kindInfo[resolved].scope === 'cluster';
}
