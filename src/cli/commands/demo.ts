// `opspilot demo faults|fault NAME|heal`: break the demo shop on purpose, and mend it.
import type { Command } from 'commander';
import { ApiError } from '../api-client.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { parseOutputFormat, renderData, table } from '../output.js';

interface DemoProposal {
  id: string;
  title: string;
  status: string;
  approvedBy?: string;
}

interface Outcome {
  proposals: DemoProposal[];
}

function printProposals(context: CliContext, proposals: readonly DemoProposal[]): void {
  for (const proposal of proposals) {
    const by = proposal.approvedBy === undefined ? '' : ` (approved by ${proposal.approvedBy})`;
    context.out(`  proposal ${proposal.id} ${proposal.status}${by}: ${proposal.title}\n`);
    if (proposal.status === 'pending')
      context.out(`    waits for a person: opspilot proposals approve ${proposal.id}\n`);
  }
}

/** Fastify answers 404 for a route it does not have: the demo routes exist only on a server run with --demo. */
function withDemoHint(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.status !== 404 || error.problem.code === 'not_found')
    return error;
  return new ApiError(404, {
    ...error.problem,
    detail: 'this server has no demo routes',
    hint: 'They exist only when the server runs with --demo (npm start does): opspilot up --demo.',
  });
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
        process.exitCode = reportError(withDemoHint(error), context.err);
      }
    });

  demo
    .command('fault <name>')
    .description(
      'Inject a fault (platform-admin): demo:chaos proposes the change, guardrails judge it, and you approve it (--no-approve leaves it pending); the RCA agent reports on it by itself (opspilot rca list)',
    )
    .option('-e, --env <environment>', 'environment', 'prod')
    .option('--no-approve', 'leave the proposals pending for someone to approve')
    .addHelpText(
      'after',
      `
The server must run with --demo (npm start does). A fault is a proposal by demo:chaos, an operator of the shop
namespace: changes in production wait for a person's approval, which this command gives as you (your token needs
proposal.approve; the audit chain names you) unless --no-approve.
Then watch: opspilot get alerts -n shop --state firing · opspilot rca list -n shop · opspilot rca show ID
Mend it: the report's remediation (opspilot proposals approve ID, as someone else), or opspilot demo heal.`,
    )
    .action(async (name: string, options: { env: string; approve: boolean }) => {
      try {
        const result = await context
          .client()
          .post<{ changes: string[]; proposals: DemoProposal[] }>(
            `/api/v1/demo/faults/${encodeURIComponent(name)}`,
            { environment: options.env, approve: options.approve },
          );
        const waiting = result.proposals.some((proposal) => proposal.status === 'pending');
        context.out(`fault ${name} ${waiting ? 'proposed' : 'injected'} in ${options.env}\n`);
        for (const change of result.changes) context.out(`  ${change}\n`);
        printProposals(context, result.proposals);
      } catch (error) {
        process.exitCode = reportError(withDemoHint(error), context.err);
      }
    });

  demo
    .command('heal')
    .description(
      'Put the demo shop back as demo/shop.yaml declares it (platform-admin): a proposal by demo:chaos that you approve (--no-approve leaves it pending)',
    )
    .option('--no-approve', 'leave the proposal pending for someone to approve')
    .action(async (options: { approve: boolean }) => {
      try {
        const result = await context
          .client()
          .post<Outcome>('/api/v1/demo/heal', { approve: options.approve });
        if (result.proposals.length === 0) context.out('the shop is as declared: nothing to heal\n');
        printProposals(context, result.proposals);
      } catch (error) {
        process.exitCode = reportError(withDemoHint(error), context.err);
      }
    });
}
