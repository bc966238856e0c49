// "How to see it again" for every piece of evidence, in the two forms readers use: a CLI command that runs as
// printed (`opspilot telemetry metrics …`, `opspilot get events …`) and the MCP tool call an assistant makes
// (`get_service_metrics {…}`). Reports store both; the CLI and the dashboard print the command, MCP the call.
import type { RcaReportView, SeeHint } from './contracts.js';

type EvidenceView = RcaReportView['rootCauses'][number]['evidence'][number];

export interface HintScope {
  readonly namespace: string;
  readonly service: string;
  readonly environment: string | null;
  /** The window to look at: from before onset until the end of the incident window. */
  readonly from: string;
  readonly to: string;
}

const traceIdPattern = /\b[0-9a-f]{32}\b/i;

/** Both forms of the hint for one evidence item of `scope.service`. */
export function seeFor(evidence: Omit<EvidenceView, 'see'>, scope: HintScope): SeeHint {
  const { namespace, service, environment, from, to } = scope;
  const env = environment ?? undefined;
  const flag = (name: string, value: string | undefined) =>
    value === undefined ? '' : ` ${name} ${quote(value)}`;
  if (evidence.source === 'trace' && evidence.metric.startsWith('trace.')) {
    const traceId = traceIdPattern.exec(evidence.query)?.[0];
    if (traceId !== undefined) {
      return {
        cli: `opspilot telemetry trace ${traceId} -n ${namespace}`,
        tool: 'query_trace_spans',
        arguments: { namespace, traceId },
      };
    }
  }
  if (evidence.source === 'log') {
    return {
      cli: `opspilot telemetry errors -n ${namespace}${flag('--component', service)}${flag('-e', env)} --from ${from} --to ${to}`,
      tool: 'get_error_summary',
      arguments: compact({ namespace, component: service, environment: env, from, to }),
    };
  }
  if (evidence.source === 'change' || evidence.source === 'event') {
    const proposal = /^opspilot proposals show (\S+)/.exec(evidence.query)?.[1];
    if (proposal !== undefined) {
      return {
        cli: `opspilot proposals show ${proposal}`,
        tool: 'get_proposal',
        arguments: { id: proposal },
      };
    }
    const flags = Object.fromEntries(
      [...evidence.query.matchAll(/--(component|environment|reason) (\S+)/g)].map((match) => [
        match[1] ?? '',
        match[2] ?? '',
      ]),
    );
    const reason = flags.reason ?? evidence.metric;
    const component = flags.component ?? service;
    const environmentFlag = flags.environment;
    return {
      cli: `opspilot get events -n ${namespace} --component ${component}${flag('--environment', environmentFlag)} --reason ${reason}`,
      tool: 'get_events',
      arguments: compact({ namespace, component, environment: environmentFlag, reason }),
    };
  }
  // A metric series (or one derived from spans): the same metric by component over the window. Evidence of the
  // load a cause drives into a callee is the callee's series ("database: request_rate rose …").
  const driven = /^([\w.-]+): .*the load this service sends it/.exec(evidence.summary)?.[1];
  const component = driven ?? service;
  return {
    cli: `opspilot telemetry metrics ${quote(evidence.metric)} -n ${namespace}${flag('--component', component)}${flag('-e', env)} --from ${from} --to ${to}`,
    tool: 'get_service_metrics',
    arguments: compact({
      namespace,
      component,
      environment: env,
      metric: evidence.metric,
      from,
      to,
    }),
  };
}

/** The MCP form: `tool {"arg":…}`. */
export function toolCall(see: Pick<SeeHint, 'tool' | 'arguments'>): string {
  return `${see.tool} ${JSON.stringify(see.arguments)}`;
}

/**
 * What the CLI and the dashboard print: the command, or for reports made before hints existed the stored query
 * when it is a command (older reports stored MCP calls and engine notation, which do not run in a shell).
 */
export function cliHint(evidence: Pick<EvidenceView, 'query' | 'see'>): string | null {
  if (evidence.see !== undefined) return evidence.see.cli;
  return evidence.query.startsWith('opspilot ') ? evidence.query : null;
}

/** The report as MCP shows it: every evidence query is the tool call that shows it again. */
export function forMcp(report: RcaReportView): RcaReportView {
  return {
    ...report,
    rootCauses: report.rootCauses.map((cause) => ({
      ...cause,
      evidence: cause.evidence.map((item) =>
        item.see === undefined ? item : { ...item, query: toolCall(item.see) },
      ),
    })),
  };
}

function compact(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Shell-safe as printed: plain words stay as they are, anything else is single-quoted. */
function quote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
