// `opspilot apply -f FILE…`: create or update everything in the files, or nothing.
import type { Command } from 'commander';
import type { FieldDiff } from '../../governance/proposals/contracts.js';
import { reportProposal, type WriteAnswer } from '../proposal-output.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { readManifests, type ManifestDocument } from '../manifest-files.js';
import { renderData } from '../output.js';

interface ApplyOptions {
  filename: string[];
  dryRun?: boolean;
  namespace?: string;
  output?: 'text' | 'json' | 'yaml';
}

export function registerApply(program: Command, context: CliContext): void {
  program
    .command('apply')
    .description('Create or update resources from YAML/JSON files (all-or-nothing)')
    .requiredOption('-f, --filename <path...>', 'file, folder of files, or - for stdin (repeatable)')
    .option('-n, --namespace <name>', 'namespace for documents that do not name one')
    .option('--dry-run', 'validate and show what would change, without changing anything')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .addHelpText(
      'after',
      `
Prints one line per resource: created, configured or unchanged. Relative "cwd" paths resolve against the
folder of the file they are in. When any document is invalid nothing is applied, and every problem is listed
with its file:line:column. --dry-run runs every check, writes nothing, and lists the fields that would change.

Examples:
  opspilot apply -f echo.yaml
  opspilot apply -f deploy/ --dry-run
  cat echo.yaml | opspilot apply -f -`,
    )
    .action(async (options: ApplyOptions) => {
      let documents: ManifestDocument[] | undefined;
      try {
        documents = readManifests(options.filename, context.readStdin);
        const outcome = await context.client().post<WriteAnswer & { diff?: FieldDiff[] }>('/api/v1/apply', {
          documents: documents.map((document) => document.value),
          baseDir: documents.map((document) => document.baseDir),
          ...(options.dryRun === true ? { dryRun: true } : {}),
          ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
        });
        if (options.output === 'json' || options.output === 'yaml') {
          context.out(renderData(outcome, options.output));
          return;
        }
        for (const item of outcome.items) {
          const note = item.note === undefined ? '' : ` (${item.note})`;
          context.out(
            `${item.kind.toLowerCase()}/${item.name} ${item.action}${note}${outcome.dryRun ? ' (dry run)' : ''}\n`,
          );
        }
        if (outcome.diff !== undefined && outcome.diff.length > 0) {
          context.out('would change:\n');
          for (const change of outcome.diff) context.out(`  ${describeDiff(change)}\n`);
        }
        reportProposal(outcome, context.out);
      } catch (error) {
        process.exitCode = reportError(error, context.err, documents);
      }
    });
}

/** `Kind/ns/name spec.replicas: 2 → 3`, values as JSON cut to a line. */
function describeDiff(change: FieldDiff): string {
  const value = (data: unknown): string => {
    if (data === null || data === undefined) return '(none)';
    const text = JSON.stringify(data);
    return text.length > 60 ? `${text.slice(0, 59)}…` : text;
  };
  return `${change.resource} ${change.path}: ${value(change.before)} → ${value(change.after)}`;
}
