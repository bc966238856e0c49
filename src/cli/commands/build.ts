// `opspilot build COMPONENT`: start a build (a WorkflowRun) and stream its output until it finishes.
import type { Command } from 'commander';
import { InvalidError } from '../../core/errors.js';
import type { ApplyOutcome, WorkflowLogLineView } from '../../platform/contracts.js';
import { apiVersion, type Resource, type WorkflowRunStatus } from '../../platform/resource-kinds.js';
import type { ApiClient } from '../api-client.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';

interface BuildOptions {
  namespace: string;
  workflow?: string;
  param: string[];
  follow: boolean;
}

export function registerBuild(program: Command, context: CliContext): void {
  program
    .command('build')
    .description(
      "Run a component's build (spec.build, or a Workflow) and follow its output; success creates a release",
    )
    .argument('<component>', 'component to build')
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('--workflow <name>', 'run this Workflow instead of the component’s spec.build')
    .option('-p, --param <KEY=VALUE...>', 'parameters, passed to every step as environment variables', [])
    .option('--no-follow', 'start the run and return without waiting')
    .addHelpText(
      'after',
      `
Exit code 0 when the run succeeds, 1 when it fails. Bindings that follow the component's latest release roll
out the release a successful build creates.

Steps are isolated like replicas (runtime.local.isolation): as root they run as an unprivileged uid of the
component's own, which may write only where the file system lets it (the run's log says how to give it the
component's folder); in bubblewrap only the step's working directory is writable. See docs/runtime.md.

Examples:
  opspilot build echo
  opspilot build echo -p GIT_SHA=$(git rev-parse HEAD)`,
    )
    .action(async (component: string, options: BuildOptions) => {
      try {
        const parameters = Object.fromEntries(options.param.map(parseParameter));
        const name = `${component.slice(0, 40)}-build-${Date.now().toString(36)}`;
        const client = context.client();
        await client.post<ApplyOutcome>('/api/v1/apply', {
          documents: [
            {
              apiVersion,
              kind: 'WorkflowRun',
              metadata: { name, namespace: options.namespace },
              spec: {
                component,
                ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
                parameters,
              },
            },
          ],
        });
        context.err(`workflowrun/${name} created\n`);
        if (!options.follow) return;
        const status = await follow(client, options.namespace, name, (line) => {
          context.out(`[${line.step}] ${line.line}\n`);
        });
        context.err(`${name}: ${status.phase}${status.message === null ? '' : ` (${status.message})`}\n`);
        if (status.phase !== 'Succeeded') process.exitCode = exitCodes.failure;
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

/** Prints a run's output as it arrives; resolves with its final status. */
export async function follow(
  client: ApiClient,
  namespace: string,
  run: string,
  print: (line: WorkflowLogLineView) => void,
): Promise<WorkflowRunStatus> {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/workflowruns/${encodeURIComponent(run)}`;
  let after = -1;
  const drain = async (): Promise<void> => {
    for (;;) {
      const { lines } = await client.get<{ lines: WorkflowLogLineView[] }>(`${base}/logs`, {
        after,
        limit: 1000,
      });
      lines.forEach(print);
      after = lines.at(-1)?.sequence ?? after;
      if (lines.length < 1000) return;
    }
  };
  for (;;) {
    const resource = await client.get<Resource<unknown, WorkflowRunStatus>>(base);
    await drain();
    const status = resource.status;
    if (status !== undefined && (status.phase === 'Succeeded' || status.phase === 'Failed')) {
      await drain();
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function parseParameter(text: string): [string, string] {
  const index = text.indexOf('=');
  if (index <= 0) {
    throw new InvalidError(`parameter '${text}' is not KEY=VALUE`, [], {
      hint: 'Example: -p GIT_SHA=abc123',
    });
  }
  return [text.slice(0, index), text.slice(index + 1)];
}
