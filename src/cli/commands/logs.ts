// `opspilot logs COMPONENT --env ENV`: recent stdout/stderr of a component's replicas, optionally followed.
import type { Command } from 'commander';
import { InvalidError } from '../../core/errors.js';
import type { ReplicaLogLine, WorkflowLogLineView } from '../../platform/contracts.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { follow } from './build.js';

interface LogsOptions {
  environment?: string;
  run?: string;
  namespace: string;
  replica?: string;
  tail: string;
  follow?: boolean;
  timestamps?: boolean;
}

export function registerLogs(program: Command, context: CliContext): void {
  program
    .command('logs')
    .description(
      "Print a component's recent stdout/stderr lines (prefixed with the replica), or a build's output",
    )
    .argument('[component]', 'component name')
    .option('-e, --environment <name>', 'environment (dev, staging, prod, …)')
    .option('--run <name>', "a workflow run's output instead (all of it, in order)")
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('--replica <name>', 'only this replica')
    .option('--tail <n>', 'lines to show', '100')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('--timestamps', 'prefix each line with the time it was captured')
    .addHelpText(
      'after',
      `
Examples:
  opspilot logs echo -e dev --tail 50
  opspilot logs echo -e prod --replica echo-prod-x7k2p -f
  opspilot logs --run echo-build-lx2k9a`,
    )
    .action(async (component: string | undefined, options: LogsOptions) => {
      try {
        const client = context.client();
        if (options.run !== undefined) {
          await printRun(context, options.namespace, options.run, options.follow === true);
          return;
        }
        if (component === undefined || options.environment === undefined) {
          throw new InvalidError('give a COMPONENT and -e ENVIRONMENT, or --run NAME', [], {
            hint: 'Example: opspilot logs echo -e dev',
          });
        }
        const environment = options.environment;
        const path = `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/components/${encodeURIComponent(component)}/logs`;
        const fetchLines = async (tail: number): Promise<ReplicaLogLine[]> =>
          (
            await client.get<{ lines: ReplicaLogLine[] }>(path, {
              environment,
              replica: options.replica,
              tail,
            })
          ).lines;
        const print = (line: ReplicaLogLine): void => {
          const stamp = options.timestamps === true ? `${line.timestamp} ` : '';
          context.out(`${stamp}[${line.replica}] ${line.line}\n`);
        };
        let lines = await fetchLines(Number(options.tail));
        lines.forEach(print);
        if (options.follow !== true) return;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const next = await fetchLines(2000);
          newSince(lines, next).forEach(print);
          lines = next;
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

async function printRun(
  context: CliContext,
  namespace: string,
  run: string,
  keepFollowing: boolean,
): Promise<void> {
  const client = context.client();
  const print = (line: WorkflowLogLineView): void => {
    context.out(`[${line.step}] ${line.line}\n`);
  };
  if (keepFollowing) {
    await follow(client, namespace, run, print);
    return;
  }
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/workflowruns/${encodeURIComponent(run)}/logs`;
  const { lines } = await client.get<{ lines: WorkflowLogLineView[] }>(base, { limit: 10_000 });
  lines.forEach(print);
}

/** Lines of `next` after the last line of `previous` (both windows of the same ordered stream). */
export function newSince(
  previous: readonly ReplicaLogLine[],
  next: readonly ReplicaLogLine[],
): ReplicaLogLine[] {
  const last = previous.at(-1);
  if (last === undefined) return [...next];
  for (let index = next.length - 1; index >= 0; index -= 1) {
    const line = next[index];
    if (
      line !== undefined &&
      line.timestamp === last.timestamp &&
      line.replica === last.replica &&
      line.line === last.line
    ) {
      return next.slice(index + 1);
    }
  }
  return [...next];
}
