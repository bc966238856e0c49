// `opspilot get KIND [NAME]`: read resources (with live status) and events.
import type { Command } from 'commander';
import { InvalidError } from '../../core/errors.js';
import type { NodeView, PlatformEvent } from '../../platform/contracts.js';
import { formatBytes } from '../../core/quantity.js';
import { kindInfo, kinds, resolveKind, type Resource } from '../../platform/resource-kinds.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import {
  age,
  eventTable,
  parseOutputFormat,
  renderData,
  resourceTable,
  table,
  type OutputFormat,
} from '../output.js';
import type { AlertEventView, AlertView } from '../../telemetry/alerting/contracts.js';

interface GetOptions {
  namespace: string;
  allNamespaces?: boolean;
  output: string;
  project?: string;
  component?: string;
  environment?: string;
  reason?: string;
  limit?: string;
  state?: string;
  history?: boolean;
}

const formats = ['table', 'json', 'yaml'] as const;

export function registerGet(program: Command, context: CliContext): void {
  program
    .command('get')
    .description('Show resources with their live status, or events')
    .argument(
      '<kind>',
      `one of: ${kinds.map((kind) => kindInfo[kind].plural).join(', ')}, events, alerts, nodes`,
    )
    .argument('[name]', 'a single resource')
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .option('--project <name>', 'only resources of this project')
    .option('--component <name>', 'only resources (or events) of this component')
    .option('--environment <name>', 'only resources (or events) in this environment')
    .option('--reason <reason>', 'events: only this reason (e.g. OOMKilled, BackOff)')
    .option('--limit <n>', 'events and alerts: at most this many, newest first', '200')
    .option('--state <state>', 'alerts: only pending, firing or resolved')
    .option('--history', 'alerts: their state changes instead of their current state')
    .addHelpText(
      'after',
      `
Kinds accept singular, plural and short names (component, components, comp; releasebinding, binding, rb; …).

Alerts come from AlertRules, SLOs, Alertmanager and, with no rule, the platform itself (Platform/OOMKilled,
CrashLoopBackOff, RestartingRepeatedly, RolloutStuck, NoReadyReplica; a Namespace's spec.platformSignals: false
turns those off). Alerts of one fault share an incident (the groupKey in -o json; --history says why).

Examples:
  opspilot get components
  opspilot get component echo -o json        # status.environments[]: release, replicas, endpoint, phase
  opspilot get bindings -A
  opspilot get events --component echo -o json
  opspilot get nodes                         # capacity, requests and usage per node`,
    )
    .action(async (kindText: string, name: string | undefined, options: GetOptions) => {
      try {
        const format = parseOutputFormat(options.output, formats);
        if (['event', 'events', 'ev'].includes(kindText.toLowerCase())) {
          await getEvents(context, options, format);
          return;
        }
        if (['alert', 'alerts'].includes(kindText.toLowerCase())) {
          await getAlerts(context, options, format);
          return;
        }
        if (['node', 'nodes', 'no'].includes(kindText.toLowerCase())) {
          await getNodes(context, format);
          return;
        }
        const kind = resolveKind(kindText);
        if (kind === undefined) {
          throw new InvalidError(`unknown kind '${kindText}'`, [], {
            hint: `Use one of: ${kinds.map((entry) => kindInfo[entry].plural).join(', ')}, events.`,
          });
        }
        const info = kindInfo[kind];
        const base =
          info.scope === 'cluster'
            ? `/api/v1/${info.plural}`
            : options.allNamespaces === true && name === undefined
              ? `/api/v1/${info.plural}`
              : `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/${info.plural}`;
        const client = context.client();
        if (name !== undefined) {
          const resource = await client.get<Resource>(`${base}/${encodeURIComponent(name)}`);
          context.out(
            format === 'table' ? resourceTable(kind, [resource], false) : renderData(resource, format),
          );
          return;
        }
        const list = await client.get<{ items: Resource[] }>(base, {
          project: options.project,
          component: options.component,
          environment: options.environment,
        });
        if (format !== 'table') {
          context.out(renderData(list, format));
        } else if (list.items.length === 0) {
          context.err(
            `No ${info.plural} found${info.scope === 'namespaced' && options.allNamespaces !== true ? ` in namespace ${options.namespace}` : ''}.\n`,
          );
        } else {
          context.out(resourceTable(kind, list.items, options.allNamespaces === true));
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

async function getEvents(context: CliContext, options: GetOptions, format: OutputFormat): Promise<void> {
  const path =
    options.allNamespaces === true
      ? '/api/v1/events'
      : `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/events`;
  const list = await context.client().get<{ items: PlatformEvent[] }>(path, {
    project: options.project,
    component: options.component,
    environment: options.environment,
    reason: options.reason,
    limit: options.limit,
  });
  if (format !== 'table') context.out(renderData(list, format));
  else if (list.items.length === 0) context.err('No events found.\n');
  else context.out(eventTable(list.items));
}

async function getAlerts(context: CliContext, options: GetOptions, format: OutputFormat): Promise<void> {
  const namespace = options.allNamespaces === true ? undefined : options.namespace;
  const client = context.client();
  if (options.history === true) {
    const history = await client.get<{ items: AlertEventView[] }>('/api/v1/alerts/history', {
      namespace,
      limit: options.limit,
    });
    if (format !== 'table') context.out(renderData(history, format));
    else if (history.items.length === 0) context.err('No alert history.\n');
    else
      context.out(
        table(
          ['AT', 'STATE', 'RULE', 'MESSAGE'],
          [...history.items].reverse().map((event) => [event.at, event.state, event.rule, event.message]),
        ),
      );
    return;
  }
  const alerts = await client.get<{ items: AlertView[] }>('/api/v1/alerts', {
    namespace,
    state: options.state,
    limit: options.limit,
  });
  if (format !== 'table') context.out(renderData(alerts, format));
  else if (alerts.items.length === 0)
    context.err(`No ${options.state ?? ''}${options.state === undefined ? '' : ' '}alerts.\n`);
  else
    context.out(
      table(
        ['STATE', 'SEVERITY', 'RULE', 'COMPONENT', 'ENV', 'SINCE', 'RCA', 'SUMMARY'],
        alerts.items.map((alert) => [
          alert.state,
          alert.severity,
          alert.rule,
          alert.component ?? '-',
          alert.environment ?? '-',
          age(alert.firedAt ?? alert.startedAt),
          alert.triggerAiRca ? 'yes' : 'no',
          alert.summary,
        ]),
      ),
    );
}

async function getNodes(context: CliContext, format: OutputFormat): Promise<void> {
  const nodes = await context.client().get<{ items: NodeView[] }>('/api/v1/nodes');
  if (format !== 'table') {
    context.out(renderData(nodes, format));
    return;
  }
  const share = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((100 * part) / whole)}%)` : '');
  context.out(
    table(
      [
        'NODE',
        'RUNTIME',
        'CPU',
        'CPU REQUESTED',
        'CPU USED',
        'MEMORY',
        'MEMORY REQUESTED',
        'MEMORY USED',
        'WORKLOADS',
      ],
      nodes.items.map((node) => [
        node.name,
        node.runtime,
        `${node.cpuMillicores}m`,
        `${node.requested.cpuMillis}m${share(node.requested.cpuMillis, node.cpuMillicores)}`,
        `${Math.round(node.used.cpuMillicores)}m${share(node.used.cpuMillicores, node.cpuMillicores)}`,
        formatBytes(node.memoryBytes),
        `${formatBytes(node.requested.memoryBytes)}${share(node.requested.memoryBytes, node.memoryBytes)}`,
        `${formatBytes(node.used.memoryBytes)}${share(node.used.memoryBytes, node.memoryBytes)}`,
        String(node.allocations.length + node.otherAllocations.workloads),
      ]),
    ),
  );
}
