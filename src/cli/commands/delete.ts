// `opspilot delete KIND NAME` or `opspilot delete -f FILE`.
import type { Command } from 'commander';
import { InvalidError } from '../../core/errors.js';
import { kindInfo, kinds, resolveKind, type Kind } from '../../platform/resource-kinds.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { readManifests } from '../manifest-files.js';
import { reportProposal, type WriteAnswer } from '../proposal-output.js';

interface DeleteOptions {
  namespace: string;
  filename?: string[];
  ignoreNotFound?: boolean;
}

export function registerDelete(program: Command, context: CliContext): void {
  program
    .command('delete')
    .description('Delete resources by kind and name, or everything named in files')
    .argument(
      '[kind]',
      `one of: ${kinds
        .filter((kind) => kind !== 'Release')
        .map((kind) => kindInfo[kind].plural)
        .join(', ')}, releases`,
    )
    .argument('[name]', 'resource name')
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('-f, --filename <path...>', 'delete what these files declare (in reverse dependency order)')
    .option('--ignore-not-found', 'do not fail for resources that are already gone')
    .addHelpText(
      'after',
      `
Deleting a component also deletes its releases, its bindings (stopping their replicas) and its workflow runs.
Namespaces, projects, environments and pipelines are only deleted when nothing uses them.

Examples:
  opspilot delete binding echo-dev
  opspilot delete component echo -n shop
  opspilot delete -f echo.yaml`,
    )
    .action(async (kindText: string | undefined, name: string | undefined, options: DeleteOptions) => {
      try {
        const targets: { kind: Kind; namespace: string; name: string }[] = [];
        if (options.filename !== undefined) {
          for (const document of readManifests(options.filename, context.readStdin)) {
            const value = document.value as {
              kind?: unknown;
              metadata?: { name?: unknown; namespace?: unknown };
            };
            const kind = typeof value.kind === 'string' ? resolveKind(value.kind) : undefined;
            if (kind === undefined || typeof value.metadata?.name !== 'string') {
              throw new InvalidError(
                `${document.file}: document ${document.position} has no kind or metadata.name`,
              );
            }
            const namespace =
              typeof value.metadata.namespace === 'string' ? value.metadata.namespace : options.namespace;
            targets.push({ kind, namespace, name: value.metadata.name });
          }
          targets.sort((a, b) => kindInfo[b.kind].order - kindInfo[a.kind].order);
        } else {
          const kind = kindText === undefined ? undefined : resolveKind(kindText);
          if (kind === undefined || name === undefined) {
            throw new InvalidError(
              kindText === undefined || kind !== undefined
                ? 'give KIND and NAME, or -f FILE'
                : `unknown kind '${kindText}'`,
              [],
              { hint: 'Example: opspilot delete component echo' },
            );
          }
          targets.push({ kind, namespace: options.namespace, name });
        }
        const client = context.client();
        for (const target of targets) {
          const info = kindInfo[target.kind];
          const path =
            info.scope === 'cluster'
              ? `/api/v1/${info.plural}/${encodeURIComponent(target.name)}`
              : `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/${info.plural}/${encodeURIComponent(target.name)}`;
          try {
            const result = await client.delete<WriteAnswer>(path);
            for (const item of result.items) context.out(`${item.kind.toLowerCase()}/${item.name} deleted\n`);
            reportProposal(result, context.out);
          } catch (error) {
            if (options.ignoreNotFound === true && (error as { status?: number }).status === 404) continue;
            throw error;
          }
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}
