// Runs workflow (build) steps as local processes, one after another, streaming their output line by line.
// Steps run with umask 022 (opspilot itself runs with 077), so that replicas, which run as other users, can
// read what a build produced.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Clock } from '../../core/clock.js';
import type { StepExecutor, StepOutcome, StepOutput, StepSpec } from '../ports.js';
import { findExecutable } from './isolation.js';
import type { ProcessTable } from './process-table.js';
import { checkDirectory } from './working-directory.js';

export class LocalStepExecutor implements StepExecutor {
  constructor(
    private readonly baseEnv: Readonly<Record<string, string>>,
    private readonly processTable: ProcessTable,
    private readonly clock: Clock,
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
    emit(
      'system',
      `$ ${[step.command, ...step.args].join(' ')}${step.cwd === undefined ? '' : `  (in ${step.cwd})`}`,
    );
    const env = { ...this.baseEnv, ...step.env };
    const command = findExecutable(step.command, env.PATH ?? '', step.cwd ?? process.cwd());
    if (command === undefined) {
      const message = `command not found: ${step.command}`;
      emit('system', message);
      return Promise.resolve(finish(null, null, message));
    }
    return new Promise((resolve) => {
      let child: ChildProcessByStdio<null, Readable, Readable>;
      try {
        child = spawn('/bin/sh', ['-c', 'umask 022 && exec "$0" "$@"', command, ...step.args], {
          cwd: step.cwd,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
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
}
