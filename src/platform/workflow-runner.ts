// Executes WorkflowRuns: picks up Pending runs, runs their steps, stores every output line, and turns a
// successful component build into a new release (which bindings that follow the latest release roll out).
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { IdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { StepExecutor, StepOutcome, StepOutput, StepSpec } from '../runtime/ports.js';
import type { ResourceRecord, StateStore, WorkflowLogLine } from '../state/ports.js';
import { createRelease } from './releases.js';
import type { ComponentSpec, WorkflowRunSpec, WorkflowRunStatus, WorkflowSpec } from './resource-kinds.js';

export interface WorkflowRunnerOptions {
  readonly store: StateStore;
  readonly executor: StepExecutor;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
  /** Called after a run finished (a release may have been created). */
  readonly onChange?: () => void;
  /** Runs executed at the same time. */
  readonly concurrency?: number;
}

export class WorkflowRunner {
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private scanning: Promise<void> | undefined;
  private rescan = false;

  constructor(private readonly options: WorkflowRunnerOptions) {}

  private stopped = true;

  /**
   * Runs that were in progress when opspilot stopped cannot be resumed: they are marked failed. Call it before
   * the API accepts requests, so that no new run is mistaken for an interrupted one.
   */
  async recoverInterrupted(): Promise<void> {
    const now = this.options.clock.now().toISOString();
    for (const run of await this.options.store.resources.list({ kind: 'WorkflowRun' })) {
      const status = run.status as WorkflowRunStatus | null;
      if (status?.phase !== 'Running') continue;
      await this.options.store.resources.setStatus(
        run,
        {
          ...status,
          phase: 'Failed',
          finishedAt: now,
          message: 'interrupted: opspilot stopped while this run was in progress',
        },
        now,
      );
    }
  }

  /** Starts executing pending runs (and the ones that arrive later). */
  start(): void {
    this.stopped = false;
    this.trigger();
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.scanning !== undefined) {
      this.rescan = true;
      return;
    }
    this.scanning = this.scan()
      .catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'could not look for pending workflow runs');
      })
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan) {
          this.rescan = false;
          this.trigger();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const { controller } of this.active.values()) controller.abort();
    await this.scanning;
    await Promise.all([...this.active.values()].map(({ done }) => done));
  }

  private async scan(): Promise<void> {
    const limit = this.options.concurrency ?? 1;
    const runs = await this.options.store.resources.list({ kind: 'WorkflowRun' });
    const pending = runs
      .filter(
        (run) => (run.status as WorkflowRunStatus | null)?.phase === 'Pending' && !this.active.has(run.uid),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const run of pending) {
      if (this.active.size >= limit || this.stopped) return;
      const controller = new AbortController();
      const done = this.execute(run, controller.signal)
        .catch((error: unknown) => {
          this.options.logger.error({ err: error, run: run.name }, 'workflow run failed unexpectedly');
        })
        .finally(() => {
          this.active.delete(run.uid);
          this.trigger();
        });
      this.active.set(run.uid, { controller, done });
    }
  }

  private async execute(run: ResourceRecord, signal: AbortSignal): Promise<void> {
    const startedAt = this.options.clock.now().toISOString();
    const running: WorkflowRunStatus = {
      phase: 'Running',
      startedAt,
      finishedAt: null,
      steps: [],
      release: null,
      message: null,
    };
    if (!(await this.options.store.resources.setStatus(run, running, startedAt))) return; // deleted meanwhile
    this.options.logger.info({ run: run.name, namespace: run.namespace }, 'workflow run started');
    let outcome: WorkflowRunStatus;
    try {
      outcome = await this.runSteps(run, running, signal);
    } catch (error) {
      // Whatever went wrong, a run that was marked Running must end: it is never left hanging.
      outcome = { ...running, phase: 'Failed', message: `internal error: ${errorMessage(error)}` };
    }
    await this.finish(run, outcome);
  }

  /** Runs the steps and, for a successful component build, creates the release. Returns the final status. */
  private async runSteps(
    run: ResourceRecord,
    running: WorkflowRunStatus,
    signal: AbortSignal,
  ): Promise<WorkflowRunStatus> {
    const spec = run.spec as WorkflowRunSpec;
    let steps: StepSpec[];
    try {
      steps = await this.resolveSteps(run, spec);
    } catch (error) {
      return { ...running, phase: 'Failed', message: errorMessage(error) };
    }

    const journal = new LogJournal(this.options.store, run.uid, (error) => {
      this.options.logger.warn({ err: error, run: run.name }, 'could not store workflow output');
    });
    let outcomes: StepOutcome[];
    try {
      outcomes = await this.options.executor.run(
        steps,
        (output: StepOutput) => {
          journal.add(output);
        },
        signal,
      );
    } finally {
      await journal.close();
    }

    const stepStatus = outcomes.map((outcome) => ({
      name: outcome.name,
      phase: outcome.exitCode === 0 && outcome.error === null ? ('Succeeded' as const) : ('Failed' as const),
      exitCode: outcome.exitCode,
      startedAt: outcome.startedAt,
      finishedAt: outcome.finishedAt,
      error: outcome.error,
    }));
    const failed = stepStatus.find((step) => step.phase === 'Failed');
    if (failed !== undefined || outcomes.length < steps.length) {
      const message =
        failed === undefined
          ? 'stopped before all steps ran'
          : `step ${failed.name} failed: ${failed.error ?? `exit code ${failed.exitCode ?? 'none'}`}`;
      return { ...running, steps: stepStatus, phase: 'Failed', message };
    }

    let release: string | null = null;
    if (spec.component !== undefined) {
      const now = this.options.clock.now().toISOString();
      release = await this.options.store.transaction(async (tx) => {
        const component = await tx.resources.get({
          kind: 'Component',
          namespace: run.namespace,
          name: spec.component ?? '',
        });
        if (component === undefined) return null;
        const created = await createRelease(tx, component, {
          now,
          ids: this.options.ids,
          workflowRun: run.name,
        });
        return created.name;
      });
    }
    return {
      ...running,
      steps: stepStatus,
      phase: 'Succeeded',
      release,
      message: release === null ? null : `created release ${release}`,
    };
  }

  private async finish(run: ResourceRecord, status: WorkflowRunStatus): Promise<void> {
    const finishedAt = this.options.clock.now().toISOString();
    await this.options.store.resources.setStatus(run, { ...status, finishedAt }, finishedAt);
    const log = { run: run.name, namespace: run.namespace, phase: status.phase };
    if (status.phase === 'Succeeded')
      this.options.logger.info(log, status.message ?? 'workflow run succeeded');
    else this.options.logger.warn(log, status.message ?? 'workflow run failed');
    this.options.onChange?.();
  }

  private async resolveSteps(run: ResourceRecord, spec: WorkflowRunSpec): Promise<StepSpec[]> {
    const { store } = this.options;
    const env = {
      ...spec.parameters,
      OPSPILOT_NAMESPACE: run.namespace,
      OPSPILOT_WORKFLOW_RUN: run.name,
      ...(spec.component === undefined ? {} : { OPSPILOT_COMPONENT: spec.component }),
    };
    const owner =
      spec.component === undefined
        ? `${run.namespace}/workflow/${spec.workflow ?? ''}`
        : `${run.namespace}/${spec.component}`;
    if (spec.workflow !== undefined) {
      const workflow = await store.resources.get({
        kind: 'Workflow',
        namespace: run.namespace,
        name: spec.workflow,
      });
      if (workflow === undefined) throw new Error(`workflow ${spec.workflow} no longer exists`);
      return (workflow.spec as WorkflowSpec).steps.map((step) => ({
        name: step.name,
        command: step.command,
        args: step.args,
        cwd: step.cwd,
        env: { ...step.env, ...env },
        timeoutSeconds: step.timeoutSeconds,
        owner,
      }));
    }
    const component = await store.resources.get({
      kind: 'Component',
      namespace: run.namespace,
      name: spec.component ?? '',
    });
    const build = (component?.spec as ComponentSpec | undefined)?.build;
    if (build === undefined) throw new Error(`component ${spec.component ?? '?'} has no spec.build`);
    return [
      {
        name: 'build',
        command: build.command,
        args: build.args,
        cwd: build.cwd,
        env: { ...build.env, ...env },
        timeoutSeconds: build.timeoutSeconds,
        owner,
      },
    ];
  }
}

/** Buffers step output and writes it in batches, in order. */
class LogJournal {
  private pending: WorkflowLogLine[] = [];
  private sequence = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: StateStore,
    private readonly runUid: string,
    private readonly onError: (error: unknown) => void,
  ) {
    this.timer = setInterval(() => {
      this.flush();
    }, 500);
  }

  add(output: StepOutput): void {
    this.pending.push({ runUid: this.runUid, sequence: this.sequence++, ...output });
    if (this.pending.length >= 500) this.flush();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    await this.writing;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.writing.then(() => this.store.workflowLogs.append(batch)).catch(this.onError);
  }
}
