// `opspilot token create`, `opspilot proposals …`, `opspilot audit …`: identity, approvals and the audit log.
import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { InvalidError } from '../../core/errors.js';
import { TokenService } from '../../governance/identity/token-service.js';
import { roles, type Role } from '../../governance/principal.js';
import { verifyAuditOffline } from '../../server/offline-audit.js';
import type { Proposal, ProposalSummary } from '../../governance/proposals/contracts.js';
import type { AuditRecord, VerifyResult } from '../../governance/audit/audit-log.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { parseOutputFormat, renderData, table } from '../output.js';

interface TokenOptions {
  subject: string;
  role: string;
  namespace: string;
  project?: string;
  component?: string;
  environment?: string;
  ttl: string;
  kind: string;
  autonomy: string;
  audience?: string;
  config?: string;
  dataDir?: string;
}

export function registerGovernance(program: Command, context: CliContext): void {
  const token = program.command('token').description('Tokens of the built-in issuer');
  token
    .command('create')
    .description(
      'Print a signed token (JWT) for a user, service or agent; signed with the key in the data dir',
    )
    .requiredOption('--subject <name>', 'who the token is for (its `sub`)')
    .requiredOption('--role <role>', `one of ${roles.join(', ')}`)
    .requiredOption('--namespace <name>', 'namespace the role applies in, or * for all')
    .option('--project <name>', 'narrow the role to one project')
    .option('--component <name>', 'narrow the role to one component')
    .option('--environment <name>', 'narrow the role to one environment')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 8h, 7d', '8h')
    .option('--kind <kind>', 'user, service or agent', 'user')
    .option('--autonomy <level>', 'agents only: 1 advise, 2 supervised, 3 autonomous', '2')
    .option(
      '--audience <aud>',
      'where the token is accepted: the API and MCP (default, auth.audience) or otlp (telemetry ingest only)',
    )
    .option('--config <file>', 'config file (for the data dir and issuer)')
    .option('--data-dir <dir>', 'data dir holding the signing key (OPSPILOT_DATA_DIR, default ./.opspilot)')
    .addHelpText(
      'after',
      `
Examples:
  opspilot token create --subject alice --role operator --namespace shop --ttl 8h
  export OPSPILOT_TOKEN=$(opspilot token create --subject bob --role viewer --namespace shop)
  opspilot token create --subject ci --role developer --namespace shop --environment dev --kind service
  opspilot token create --subject collector --role viewer --namespace shop --kind service --audience otlp --ttl 30d`,
    )
    .action(async (options: TokenOptions) => {
      try {
        if (!(roles as readonly string[]).includes(options.role)) {
          throw new InvalidError(`unknown role ${options.role}`, [], { hint: `Roles: ${roles.join(', ')}.` });
        }
        if (!['user', 'service', 'agent'].includes(options.kind)) {
          throw new InvalidError(`unknown kind ${options.kind}`, [], {
            hint: 'Kinds: user, service, agent.',
          });
        }
        const autonomy = Number(options.autonomy);
        if (autonomy !== 1 && autonomy !== 2 && autonomy !== 3) {
          throw new InvalidError(`autonomy must be 1, 2 or 3, not ${options.autonomy}`);
        }
        const config = loadConfig({ overrides: { configFile: options.config, dataDir: options.dataDir } });
        const tokens = await TokenService.open({ config, clock: { now: () => new Date() } });
        const issued = await tokens.issue({
          subject: options.subject,
          kind: options.kind as 'user' | 'service' | 'agent',
          autonomy,
          ttl: options.ttl,
          ...(options.audience === undefined ? {} : { audience: options.audience }),
          grants: [
            {
              role: options.role as Role,
              scope: {
                namespace: options.namespace,
                ...(options.project === undefined ? {} : { project: options.project }),
                ...(options.component === undefined ? {} : { component: options.component }),
                ...(options.environment === undefined ? {} : { environment: options.environment }),
              },
            },
          ],
        });
        context.out(`${issued.token}\n`);
        context.err(`expires ${issued.expiresAt}\n`);
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  const proposals = program
    .command('proposals')
    .alias('proposal')
    .description('Proposed changes: list, show, approve, reject (nobody approves their own)');
  proposals
    .command('list')
    .description('Proposals you may see, newest first')
    .option('-n, --namespace <name>', 'only this namespace')
    .option('--status <list>', 'comma-separated statuses, e.g. pending or pending,verifying')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (options: { namespace?: string; status?: string; output: string }) => {
      try {
        const output = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
        const result = await context.client().get<{ items: ProposalSummary[] }>('/api/v1/proposals', {
          namespace: options.namespace,
          status: options.status,
        });
        if (output !== 'table') {
          context.out(renderData(result.items, output));
          return;
        }
        context.out(
          table(
            ['ID', 'STATUS', 'VERDICT', 'NAMESPACE', 'ENV', 'BY', 'CREATED', 'TITLE'],
            result.items.map((item) => [
              item.id,
              item.status,
              item.verdict,
              item.namespace,
              item.environment ?? '-',
              item.createdBy,
              item.createdAt,
              item.title,
            ]),
          ),
        );
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
  proposals
    .command('show <id>')
    .description('One proposal: diff before → after, blast radius, guardrail verdicts, approval and outcome')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (id: string, options: { output: string }) => {
      try {
        const output = parseOutputFormat(options.output, ['text', 'json', 'yaml']);
        const proposal = await context.client().get<Proposal>(`/api/v1/proposals/${encodeURIComponent(id)}`);
        context.out(output === 'text' ? describeProposal(proposal) : renderData(proposal, output));
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
  for (const decision of ['approve', 'reject'] as const) {
    proposals
      .command(`${decision} <id>`)
      .description(
        decision === 'approve'
          ? 'Approve a pending proposal of someone else; it runs at once and is verified'
          : 'Reject a pending proposal of someone else',
      )
      .option('-m, --comment <text>', 'why (kept in the proposal and the audit log)')
      .action(async (id: string, options: { comment?: string }) => {
        try {
          const proposal = await context
            .client()
            .post<Proposal>(`/api/v1/proposals/${encodeURIComponent(id)}/${decision}`, {
              ...(options.comment === undefined ? {} : { comment: options.comment }),
            });
          context.out(`proposal ${proposal.id} ${proposal.status}: ${proposal.title}\n`);
          if (proposal.execution.message !== null) context.out(`  ${proposal.execution.message}\n`);
          if (proposal.status === 'failed') process.exitCode = exitCodes.failure;
        } catch (error) {
          process.exitCode = reportError(error, context.err);
        }
      });
  }

  const audit = program.command('audit').description('The audit log: keyed chain, signed checkpoints');
  audit
    .command('verify')
    .description(
      'Recompute the keyed chain and check the signed checkpoints; report what is wrong (exit 1 when anything is)',
    )
    .option(
      '--data-dir <dir>',
      'verify a stopped server’s data dir (and its database) instead of asking the server',
    )
    .option('--config <file>', 'the stopped server’s config (data dir, state.url, audit.keyFile)')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText(
      'after',
      `
Without --data-dir or --config it asks the server (GET /api/v1/audit/verify, needs audit.read everywhere).
Examples:
  opspilot audit verify
  opspilot audit verify --data-dir ./.opspilot -o json`,
    )
    .action(async (options: { dataDir?: string; config?: string; output: string }) => {
      try {
        if (options.output !== 'text' && options.output !== 'json') {
          throw new InvalidError(`unknown output format ${options.output}`, [], {
            hint: 'Use text or json.',
          });
        }
        const offline = options.dataDir !== undefined || options.config !== undefined;
        const result = offline
          ? await verifyAuditOffline(
              loadConfig({ overrides: { configFile: options.config, dataDir: options.dataDir } }),
            )
          : await context.client().get<VerifyResult>('/api/v1/audit/verify');
        context.out(
          options.output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : describeVerify(result),
        );
        if (!result.ok) process.exitCode = exitCodes.failure;
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
  audit
    .command('tail')
    .description(
      'The latest audit records (oldest of them first), optionally filtered; --follow keeps printing',
    )
    .option('-n, --namespace <name>', 'only this namespace')
    .option('--principal <name>', 'only this principal')
    .option('--action <action>', 'only this action, e.g. component.scale')
    .option('--limit <n>', 'how many records', '20')
    .option('-f, --follow', 'keep printing new records')
    .option('-o, --output <format>', 'table or json (one record per line)', 'table')
    .action(
      async (options: {
        namespace?: string;
        principal?: string;
        action?: string;
        limit: string;
        follow?: boolean;
        output: string;
      }) => {
        try {
          const client = context.client();
          let last = 0;
          const print = (records: AuditRecord[]): void => {
            const ordered = [...records].reverse().filter((record) => record.seq > last);
            if (ordered.length === 0) return;
            last = ordered[ordered.length - 1]?.seq ?? last;
            if (options.output === 'json') {
              for (const record of ordered) context.out(`${JSON.stringify(record)}\n`);
              return;
            }
            context.out(
              table(
                ['SEQ', 'TIME', 'PRINCIPAL', 'EDGE', 'ACTION', 'TARGET', 'DECISION', 'RESULT'],
                ordered.map((record) => [
                  String(record.seq),
                  record.at,
                  record.principal,
                  record.edge,
                  record.action,
                  record.target,
                  record.decision,
                  record.result,
                ]),
              ),
            );
          };
          const query = {
            namespace: options.namespace,
            principal: options.principal,
            action: options.action,
            limit: Number(options.limit),
          };
          print((await client.get<{ items: AuditRecord[] }>('/api/v1/audit', query)).items);
          while (options.follow === true) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            print(
              (await client.get<{ items: AuditRecord[] }>('/api/v1/audit', { ...query, limit: 200 })).items,
            );
          }
        } catch (error) {
          process.exitCode = reportError(error, context.err);
        }
      },
    );
}

function describeProposal(proposal: Proposal): string {
  const lines = [
    `proposal ${proposal.id}: ${proposal.title}`,
    `  status        ${proposal.status}`,
    `  by            ${proposal.createdBy.subject} (${proposal.createdBy.kind}, via ${proposal.createdBy.edge} ${proposal.createdBy.client})`,
    `  created       ${proposal.createdAt} (expires ${proposal.expiresAt})`,
    `  target        ${proposal.target.namespace}${proposal.target.component === undefined ? '' : `/${proposal.target.component}`}${proposal.target.environment === undefined ? '' : ` in ${proposal.target.environment}${proposal.target.production ? ' (production)' : ''}`}`,
    '  diff',
    ...proposal.diff.map(
      (item) =>
        `    ${item.resource} ${item.path}: ${JSON.stringify(item.before)} → ${JSON.stringify(item.after)}`,
    ),
    `  blast radius  services ${proposal.blastRadius.services.join(', ') || '-'}; tenants ${proposal.blastRadius.tenants.join(', ') || '-'}${proposal.blastRadius.replicas === null ? '' : `; replicas ${proposal.blastRadius.replicas.before} → ${proposal.blastRadius.replicas.after}`}${proposal.blastRadius.capacityChangePercent === null ? '' : ` (${proposal.blastRadius.capacityChangePercent} %)`}`,
    `  guardrails    ${proposal.guardrails.verdict}`,
    ...proposal.guardrails.checks.map(
      (check) => `    ${check.outcome.padEnd(14)} ${check.name}: ${check.reason}`,
    ),
  ];
  if (proposal.approval.decision !== null) {
    lines.push(
      `  decision      ${proposal.approval.decision} by ${proposal.approval.decidedBy?.subject ?? '?'} at ${proposal.approval.decidedAt ?? '?'}${proposal.approval.comment === null ? '' : ` (${proposal.approval.comment})`}`,
    );
  }
  if (proposal.execution.startedAt !== null)
    lines.push(`  execution     ${proposal.execution.message ?? 'running'}`);
  if (proposal.verification.status !== 'not_started')
    lines.push(
      `  verification  ${proposal.verification.status}${proposal.verification.message === null ? '' : `: ${proposal.verification.message}`}`,
    );
  if (proposal.compensation.executedAt !== null)
    lines.push(`  compensation  ${proposal.compensation.message ?? ''}`);
  return `${lines.join('\n')}\n`;
}

function describeVerify(result: VerifyResult): string {
  const head = result.head === null ? '' : `, head ${result.head.seq} ${result.head.hash.slice(0, 16)}…`;
  const { latest, newerRecords } = result.checkpoints;
  const checkpoint =
    latest === null
      ? '  no checkpoint yet\n'
      : `  latest checkpoint: seq ${latest.seq} at ${latest.at}` +
        (newerRecords === 0 ? '\n' : `; ${newerRecords} newer record(s) not checkpointed yet\n`);
  if (result.ok) return `audit chain ok: ${result.checked} records${head}\n${checkpoint}`;
  return (
    `audit chain BROKEN: ${result.problems.length} problem(s)\n` +
    result.problems.map((problem) => `  - ${problem}\n`).join('') +
    `  ${result.checked} record(s) verify before the first broken one${head}\n${checkpoint}`
  );
}
