// `opspilot rca list|show|run`: root-cause reports, and investigating an alert on demand.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { percent, shownConfidence } from '../../rca/confidence.js';
import type { RcaReportView } from '../../rca/contracts.js';
import { cliHint } from '../../rca/hints.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { exitCodes } from '../exit-codes.js';
import { age, parseOutputFormat, renderData, table } from '../output.js';

export function registerRca(program: Command, context: CliContext): void {
  const rca = program
    .command('rca')
    .description('Root-cause analysis: reports of the RCA agent, and investigations on demand');

  rca
    .command('list')
    .description(
      'RCA reports you may see, newest first. INCIDENT is the incident the alert belongs to (namespace/environment/start-service): alerts of one fault share it',
    )
    .option('-n, --namespace <name>', 'only this namespace')
    .option('--status <status>', 'running, completed or failed')
    .option('--limit <n>', 'at most this many', '50')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action(async (options: { namespace?: string; status?: string; limit: string; output: string }) => {
      try {
        const output = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
        const result = await context.client().get<{ items: RcaReportView[] }>('/api/v1/rca/reports', {
          namespace: options.namespace,
          status: options.status,
          limit: options.limit,
        });
        if (output !== 'table') {
          context.out(renderData(result, output));
        } else if (result.items.length === 0) {
          context.err('No RCA reports.\n');
        } else {
          context.out(
            table(
              ['ID', 'STATUS', 'INCIDENT', 'ALERT', 'ROOT CAUSE', 'CONFIDENCE', 'REMEDIATION', 'AGE'],
              result.items.map((report) => {
                const top = report.rootCauses[0];
                return [
                  report.id,
                  report.status,
                  report.groupKey,
                  `${report.alert.rule} ${report.alert.component ?? ''}${report.alert.environment === null ? '' : `@${report.alert.environment}`}`,
                  top === undefined
                    ? report.status === 'completed'
                      ? 'none found'
                      : '-'
                    : `${top.service} (${top.kind})`,
                  top === undefined ? '-' : percent(shownConfidence(top)),
                  report.remediation === null ? '-' : remedyCell(report),
                  age(report.createdAt),
                ];
              }),
            ),
          );
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  rca
    .command('show <id>')
    .description('One report: ranked root causes with evidence, timeline, excluded causes, recommendations')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .addHelpText(
      'after',
      `
Confidence comes from the margin over the runner-up and the kinds of evidence that agree (docs/rca.md). Each
"see:" line is a command that runs as printed. Remediations are listed in order: undoing the change that caused
the incident first; a proposal whose before no longer holds shows "expired: healed|superseded|done: …".`,
    )
    .action(async (id: string, options: { output: string }) => {
      try {
        const output = parseOutputFormat(options.output, ['text', 'json', 'yaml']);
        const report = await context
          .client()
          .get<RcaReportView>(`/api/v1/rca/reports/${encodeURIComponent(id)}`);
        context.out(output === 'text' ? describeReport(report) : renderData(report, output));
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  rca
    .command('chat <id> [message...]')
    .description('Ask about a report; without a message, a conversation on stdin (one question per line)')
    .addHelpText(
      'after',
      `
Without an LLM configured (llm.* in opspilot.yaml) the answers come from the report itself: ask what changed
(releases, binding and config changes in the window, and the signals that changed), why not another service
("why not cart?": its exclusion, or its rank and evidence against the top cause), the timeline, which evidence,
what to do, or what was ruled out.

Examples:
  opspilot rca chat rca-1a2b3c4d5e6f what changed
  opspilot rca chat rca-1a2b3c4d5e6f why not cart
  opspilot rca chat rca-1a2b3c4d5e6f          # then type questions, Ctrl-D to end`,
    )
    .action(async (id: string, words: string[]) => {
      try {
        const history: { role: 'user' | 'assistant'; content: string }[] = [];
        if (words.length > 0) {
          await ask(context, id, words.join(' '), history);
          return;
        }
        const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
        for await (const line of lines) {
          const question = line.trim();
          if (question === '') continue;
          const answer = await ask(context, id, question, history);
          history.push({ role: 'user', content: question }, { role: 'assistant', content: answer });
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });

  rca
    .command('run')
    .description('Investigate an alert now and print the report')
    .requiredOption('--alert <fingerprint>', 'the alert (its fingerprint: `opspilot get alerts -o json`)')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .action(async (options: { alert: string; output: string }) => {
      try {
        const output = parseOutputFormat(options.output, ['text', 'json', 'yaml']);
        const report = await context
          .client()
          .post<RcaReportView>('/api/v1/rca/reports', { alert: options.alert });
        context.out(output === 'text' ? describeReport(report) : renderData(report, output));
        if (report.status === 'failed') process.exitCode = exitCodes.failure;
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

/** Streams one answer to stdout; returns the text for the conversation's history. */
async function ask(
  context: CliContext,
  id: string,
  message: string,
  history: { role: 'user' | 'assistant'; content: string }[],
): Promise<string> {
  let answer = '';
  for await (const { event, data } of context
    .client()
    .events(`/api/v1/rca/reports/${encodeURIComponent(id)}/chat`, { message, history })) {
    const payload = data as {
      text?: string;
      name?: string;
      input?: unknown;
      message?: string;
      source?: string;
      note?: string | null;
      usage?: { inputTokens: number; outputTokens: number; costUsd: number } | null;
    };
    if (event === 'delta' && payload.text !== undefined) {
      answer += payload.text;
      context.out(payload.text);
    } else if (event === 'tool') {
      context.err(`(looked up: ${payload.name ?? '?'} ${JSON.stringify(payload.input ?? {})})\n`);
    } else if (event === 'error') {
      context.err(`\n${payload.message ?? 'the answer stopped'}\n`);
    } else if (event === 'done') {
      context.out('\n');
      if (payload.note !== null && payload.note !== undefined) context.err(`(${payload.note})\n`);
      if (payload.usage !== null && payload.usage !== undefined) {
        context.err(
          `(${payload.usage.inputTokens} + ${payload.usage.outputTokens} tokens, $${payload.usage.costUsd.toFixed(4)})\n`,
        );
      }
    }
  }
  return answer;
}

export function describeReport(report: RcaReportView): string {
  const lines: string[] = [];
  const where = `${report.alert.component ?? report.namespace}${report.alert.environment === null ? '' : `@${report.alert.environment}`}`;
  lines.push(`RCA ${report.id} (${report.status}) — ${report.alert.rule} on ${where}`);
  lines.push(`  alert:     ${report.alert.summary}`);
  lines.push(
    `  requested: ${report.trigger === 'alert' ? 'by the alert' : 'on demand'} as ${report.requestedBy}, ${report.createdAt}${report.durationMs === null ? '' : `, took ${report.durationMs} ms`}`,
  );
  if (report.window !== null)
    lines.push(`  window:    onset ${report.window.onset}, baseline from ${report.window.baselineStart}`);
  if (report.error !== null) lines.push(`  error:     ${report.error}`);
  if (report.narrative !== '') lines.push('', report.narrative);
  if (report.rootCauses.length > 0) {
    lines.push('', 'Root causes (most likely first):');
    report.rootCauses.slice(0, 5).forEach((cause, index) => {
      lines.push(
        `  ${index + 1}. ${cause.service} — ${cause.kind}, confidence ${percent(shownConfidence(cause))}${cause.agreeing === undefined || cause.agreeing.length === 0 ? '' : ` (${cause.agreeing.join(', ')})`}${cause.explains.length === 0 ? '' : `, explains ${cause.explains.join(', ')}`}`,
      );
      for (const item of cause.evidence.slice(0, 5)) {
        lines.push(`       ${item.summary}`);
        const hint = cliHint(item);
        if (hint !== null) lines.push(`         see: ${hint}`);
      }
    });
  } else if (report.noRootCause !== null) {
    lines.push('', `No root cause found: ${report.noRootCause}`);
  }
  const traces = report.traces;
  if (traces !== null && traces.errors.length + traces.latency.length > 0) {
    lines.push(
      '',
      `Traces (${traces.sampled.failingTraces} failing, ${traces.sampled.traces} sampled since onset):`,
    );
    for (const origin of traces.errors.slice(0, 3))
      lines.push(
        `  failures begin at ${origin.service} (${origin.operation}) in ${origin.traces}/${origin.of} failing traces, e.g. ${origin.exampleTraceId}`,
      );
    for (const origin of traces.latency.slice(0, 3))
      lines.push(
        `  +${origin.addedMs} ms per request at ${origin.service} (${Math.round(origin.share * 100)}% of the added latency, mostly ${origin.operation}), e.g. ${origin.exampleTraceId}`,
      );
  }
  if (report.excluded.length > 0) {
    lines.push('', 'Excluded:');
    for (const item of report.excluded.slice(0, 5)) lines.push(`  ${item.service}: ${item.reason}`);
  }
  if (report.timeline.length > 0) {
    lines.push('', 'Timeline:');
    // The first ten entries, and every change (releases, binding changes) however far down.
    for (const entry of report.timeline.filter(
      (item, index) => index < 10 || /\brelease\b|\bchanged\b|\bscaled\b/i.test(item.what),
    ))
      lines.push(`  ${entry.at}  ${entry.service}: ${entry.what}`);
  }
  const remedies = [report.remediation, ...report.alternatives].filter((remedy) => remedy !== null);
  if (remedies.length > 0) {
    lines.push('', 'Remediation (in order):');
    remedies.forEach((remedy, index) => {
      lines.push(
        `  ${index + 1}. ${remedy.title} — proposal ${remedy.proposal} ${remedy.status}${remedy.role === undefined ? '' : ` (${remedy.role})`}`,
      );
      if (remedy.why !== undefined) lines.push(`       ${remedy.why}`);
      if (remedy.expired !== undefined && remedy.expired !== null)
        lines.push(`       expired: ${remedy.expired}`);
    });
  }
  if (report.recommendations.length > 0) {
    lines.push('', 'What to do:');
    for (const item of report.recommendations) lines.push(`  - ${item}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `prop-1 pending`, `prop-1 expired (superseded)`, `+1` when there are alternatives. */
function remedyCell(report: RcaReportView): string {
  const first = report.remediation;
  if (first === null) return '-';
  const expired =
    first.expired === undefined || first.expired === null ? '' : ` (${first.expired.split(':')[0] ?? ''})`;
  const more = report.alternatives.length === 0 ? '' : ` +${report.alternatives.length}`;
  return `${first.proposal} ${first.status}${expired}${more}`;
}
