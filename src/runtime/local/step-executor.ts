// Runs workflow (build) steps as local processes, one after another, streaming their output line by line.
// Developers decide what a step runs, so steps are isolated like replicas (docs/runtime.md, "Build steps"): in
// user mode as an unprivileged uid of the build's owner, in a sandbox with only the working directory writable
// and the data dir hidden. Steps run with umask 022 (opspilot itself runs with 077), so that replicas, which run
// as other users, can read what a build produced.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { realpathSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Clock } from '../../core/clock.js';
import type { StepExecutor, StepOutcome, StepOutput, StepSpec } from '../ports.js';
import {
  describeIsolation,
  findExecutable,
  isWithin,
  launchPlan,
  unreachableFor,
  writableFor,
  type LaunchPlan,
  type WorkloadIsolation,
} from './isolation.js';
import type { ProcessTable } from './process-table.js';
import { checkDirectory } from './working-directory.js';

export class LocalStepExecutor implements StepExecutor {
  /**
   * `isolation` gives the local runtime's resolved isolation (LocalRuntime.workloadIsolation), undefined
   * before the runtime started: steps then fail rather than run with opspilot's privileges.
   */
  constructor(
    private readonly baseEnv: Readonly<Record<string, string>>,
    private readonly processTable: ProcessTable,
    private readonly clock: Clock,
    private readonly isolation: () => WorkloadIsolation | undefined,
  ) {}

  async run(
    steps: readonly StepSpec[],
    output: (line: StepOutput) => void,
    signal: AbortSignal,
  ): Promise<StepOutcome[]> {
    const outcomes: StepOutcome[] = [];
    for (const step of steps) {
      const outcome = await this.runStep(step, output, signal);
      outcomes.push(outcome);
      if (outcome.exitCode !== 0 || outcome.error !== null) break;
    }
    return outcomes;
  }

  private runStep(
    step: StepSpec,
    output: (line: StepOutput) => void,
    signal: AbortSignal,
  ): Promise<StepOutcome> {
    const startedAt = this.clock.now().toISOString();
    const emit = (stream: StepOutput['stream'], line: string): void => {
      output({ step: step.name, stream, line, timestamp: this.clock.now().toISOString() });
    };
    const finish = (
      exitCode: number | null,
      signalName: string | null,
      error: string | null,
    ): StepOutcome => ({
      name: step.name,
      exitCode,
      signal: signalName,
      startedAt,
      finishedAt: this.clock.now().toISOString(),
      error,
    });
    const cwdProblem = checkDirectory(step.cwd);
    if (cwdProblem !== undefined) {
      emit('system', cwdProblem);
      return Promise.resolve(finish(null, null, cwdProblem));
    }
    const env = { ...this.baseEnv, ...step.env };
    const prepared = this.prepare(step, env.PATH ?? '', (line) => {
      emit('system', line);
    });
    if (typeof prepared === 'string') {
      emit('system', prepared);
      return Promise.resolve(finish(null, null, prepared));
    }
    const { plan, cwd } = prepared;
    return new Promise((resolve) => {
      let child: ChildProcessByStdio<null, Readable, Readable>;
      try {
        child = spawn(plan.file, [...plan.args], {
          cwd,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          ...(plan.uid === undefined ? {} : { uid: plan.uid, gid: plan.gid }),
        });
      } catch (error) {
        const message = `cannot run ${step.command}: ${(error as Error).message}`;
        emit('system', message);
        resolve(finish(null, null, message));
        return;
      }
      let stopReason: string | null = null;
      const stop = (reason: string): void => {
        stopReason ??= reason;
        if (child.pid !== undefined) void this.processTable.signalSession(child.pid, 'SIGKILL');
      };
      const timer = setTimeout(() => {
        stop(`timed out after ${step.timeoutSeconds}s`);
      }, step.timeoutSeconds * 1000);
      const onAbort = (): void => {
        stop('cancelled');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const streams: Promise<void>[] = [];
      for (const [name, stream] of [
        ['stdout', child.stdout],
        ['stderr', child.stderr],
      ] as const) {
        const lines = createInterface({ input: stream, crlfDelay: Infinity });
        lines.on('line', (line) => {
          emit(name, line);
        });
        streams.push(new Promise((done) => lines.once('close', done)));
      }
      let spawnError: string | null = null;
      child.once('error', (error: NodeJS.ErrnoException) => {
        spawnError =
          error.code === 'ENOENT'
            ? `command not found: ${step.command}`
            : `cannot run ${step.command}: ${error.message}`;
      });
      child.once('close', (code, signalName) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        void Promise.all(streams).then(() => {
          const error = spawnError ?? stopReason;
          if (error !== null) emit('system', error);
          else emit('system', `exit code ${code ?? 'none'}${signalName === null ? '' : ` (${signalName})`}`);
          resolve(finish(code, signalName, error));
        });
      });
    });
  }

  /**
   * How the step is started under the runtime's isolation, or why it cannot run. Only a step's own working
   * directory is ever writable for it (never opspilot's, when it has none), and never one in the data dir.
   */
  private prepare(
    step: StepSpec,
    path: string,
    note: (line: string) => void,
  ): { plan: LaunchPlan; cwd: string } | string {
    const resolved = this.isolation();
    if (resolved === undefined) {
      return 'cannot run build steps yet: the local runtime has not resolved its isolation (it is not started)';
    }
    const { isolation, userIds } = resolved;
    const cwd = realpathSync(step.cwd ?? process.cwd());
    if (isWithin(cwd, isolation.dataDir)) {
      return `working directory ${cwd} lies in opspilot's data dir ${isolation.dataDir}, which build steps may not use; set the step's cwd to the component's own folder`;
    }
    const command = findExecutable(step.command, path, cwd);
    if (command === undefined) return `command not found: ${step.command}`;
    let uid: number | undefined;
    if (isolation.mode === 'user') {
      // Never fall back to opspilot's own uid.
      if (userIds === undefined) return 'cannot run build steps: user isolation has no uids to give out';
      try {
        uid = userIds.take(`build:${step.owner}`);
      } catch (error) {
        return `cannot run ${step.command} as a user of its own: ${(error as Error).message}`;
      }
    }
    if (uid !== undefined) {
      // The step enters its working directory as root but then resolves paths as its own user.
      const problem = unreachableFor(uid, cwd, 'directory') ?? unreachableFor(uid, command, 'executable');
      if (problem !== undefined) return `cannot run ${step.command} as the build's user: ${problem}`;
    }
    note(`isolation: ${describeIsolation(isolation.mode, uid)}`);
    if (uid !== undefined && step.cwd !== undefined && !writableFor(uid, cwd)) {
      note(
        `note: ${cwd} is not writable for uid ${String(uid)}, which builds of ${step.owner} run as: the step can read it but not write there. ` +
          `To let them write, give them the folder: chown -R ${String(uid)}:${String(uid)} ${cwd}`,
      );
    }
    note(`$ ${[step.command, ...step.args].join(' ')}${step.cwd === undefined ? '' : `  (in ${step.cwd})`}`);
    const plan = launchPlan({
      isolation,
      uid,
      command,
      args: step.args,
      cwd,
      waitForGo: false,
      writableCwd: step.cwd !== undefined,
    });
    return { plan, cwd };
  }
}
