// `opspilot demo faults|fault NAME|heal`: break the demo shop on purpose, and mend it.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { parseOutputFormat, renderData, table } from '../output.js';

interface Outcome {
  proposals: { id: string; title: string; status: string }[];
}

export function registerDemo(program: Command, context: CliContext): void {
  const demo = program
    .command('demo')
    .description('The demo shop (npm start runs it): inject fault scenarios and heal them');

  demo
    .command('faults')
    .description('The fault scenarios, with the root cause the RCA should find')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (options: { output: string }) => {
      try {
        const output = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
        const result = await context.client().get<{
          items: { name: string; description: string; truth: { component: string; kind: string } }[];
        }>('/api/v1/demo/faults');
        if (output !== 'table') {
          context.out(renderData(result, output));
          return;
        }
        context.out(
          table(
            ['FAULT', 'ROOT CAUSE', 'KIND', 'WHAT HAPPENS'],
            result.items.map((item) => [item.name, item.truth.component, item.truth.kind, item.description]),
          ),
        );
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  demo
    .command('fault <name>')
    .description(
      'Inject a fault (platform-admin): a change straight to the platform by demo:chaos, audited; the RCA agent reports on it by itself (opspilot rca list)',
    )
    .option('-e, --env <environment>', 'environment', 'prod')
    .addHelpText(
      'after',
      `
Then watch: opspilot get alerts -n shop --state firing · opspilot rca list -n shop · opspilot rca show ID
Mend it: the report's remediation (opspilot proposals approve ID, as someone else), or opspilot demo heal.`,
    )
    .action(async (name: string, options: { env: string }) => {
      try {
        const result = await context
          .client()
          .post<{ changes: string[] }>(`/api/v1/demo/faults/${encodeURIComponent(name)}`, {
            environment: options.env,
          });
        context.out(`fault ${name} injected in ${options.env}\n`);
        for (const change of result.changes) context.out(`  ${change}\n`);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  demo
    .command('heal')
    .description('Put the demo shop back as demo/shop.yaml declares it (platform-admin)')
    .action(async () => {
      try {
        const result = await context.client().post<Outcome>('/api/v1/demo/heal', {});
        if (result.proposals.length === 0) context.out('the shop is as declared: nothing to heal\n');
        for (const proposal of result.proposals) {
          context.out(`proposal ${proposal.id} ${proposal.status}: ${proposal.title}\n`);
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}
