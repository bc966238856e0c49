// `opspilot describe KIND NAME`: one resource in detail, for people: per environment its replicas with pid,
// port, readiness, restarts, cpu and memory, how they are isolated from the server, then the recent events.
import type { Command } from 'commander';
import { InvalidError } from '../../core/errors.js';
import { formatBytes } from '../../core/quantity.js';
import type { ComponentStatus, EnvironmentStatus, PlatformEvent } from '../../platform/contracts.js';
import {
  kindInfo,
  kinds,
  resolveKind,
  type ComponentSpec,
  type ReleaseBindingSpec,
  type Resource,
} from '../../platform/resource-kinds.js';
import type { CliContext } from '../context.js';
import { reportError } from '../errors.js';
import { age, eventTable, renderData, table } from '../output.js';

interface DescribeOptions {
  namespace: string;
  events: string;
}

export function registerDescribe(program: Command, context: CliContext): void {
  program
    .command('describe')
    .description(
      'Show one resource in detail: replicas with cpu/memory, last exits, isolation, and recent events',
    )
    .argument('<kind>', `one of: ${kinds.map((kind) => kindInfo[kind].plural).join(', ')}`)
    .argument('<name>', 'resource name')
    .option('-n, --namespace <name>', 'namespace', 'default')
    .option('--events <n>', 'how many recent events to show', '15')
    .addHelpText(
      'after',
      `
Examples:
  opspilot describe component echo
  opspilot describe binding echo-dev -n shop`,
    )
    .action(async (kindText: string, name: string, options: DescribeOptions) => {
      try {
        const kind = resolveKind(kindText);
        if (kind === undefined) {
          throw new InvalidError(`unknown kind '${kindText}'`, [], {
            hint: `Use one of: ${kinds.map((entry) => kindInfo[entry].plural).join(', ')}.`,
          });
        }
        const info = kindInfo[kind];
        const client = context.client();
        const namespace = encodeURIComponent(options.namespace);
        const path =
          info.scope === 'cluster'
            ? `/api/v1/${info.plural}/${encodeURIComponent(name)}`
            : `/api/v1/namespaces/${namespace}/${info.plural}/${encodeURIComponent(name)}`;
        const resource = await client.get<Resource>(path);

        let environments: EnvironmentStatus[] = [];
        let eventFilter: Record<string, string> | undefined;
        if (kind === 'Component') {
          environments = (resource.status as ComponentStatus | undefined)?.environments ?? [];
          context.out(componentHeader(resource as Resource<ComponentSpec, ComponentStatus>));
          eventFilter = { component: name };
        } else if (kind === 'ReleaseBinding') {
          const status = resource.status as EnvironmentStatus | undefined;
          environments = status === undefined ? [] : [status];
          const spec = resource.spec as ReleaseBindingSpec;
          context.out(
            header([
              ['Name', name],
              ['Namespace', options.namespace],
              ['Component', spec.component],
            ]),
          );
          eventFilter = { component: spec.component, environment: spec.environment };
        } else {
          context.out(renderData(resource, 'yaml'));
        }
        for (const environment of environments) context.out(`\n${environmentSection(environment)}`);

        if (eventFilter !== undefined) {
          const events = await client.get<{ items: PlatformEvent[] }>(
            `/api/v1/namespaces/${namespace}/events`,
            {
              ...eventFilter,
              limit: options.events,
            },
          );
          context.out(
            events.items.length === 0
              ? '\nEvents: none\n'
              : `\nEvents (oldest first):\n${indent(eventTable(events.items))}`,
          );
        }
      } catch (error) {
        process.exitCode = reportError(error, context.err);
      }
    });
}

function componentHeader(resource: Resource<ComponentSpec, ComponentStatus>): string {
  const { spec, metadata, status } = resource;
  const command = [spec.run.command, ...spec.run.args].join(' ');
  return header([
    ['Name', metadata.name],
    ['Namespace', metadata.namespace ?? ''],
    ['Project', metadata.project ?? ''],
    ['Type', spec.type],
    ['Release', status?.latestRelease ?? '-'],
    ['Command', spec.run.cwd === undefined ? command : `${command}   (in ${spec.run.cwd})`],
    ...(spec.port === undefined
      ? []
      : ([
          [
            'Port',
            `$${spec.port.env}, ${spec.port.healthPath === undefined ? 'tcp probe' : `health ${spec.port.healthPath}`}`,
          ],
        ] as [string, string][])),
  ]);
}

function environmentSection(status: EnvironmentStatus): string {
  const lines = header([
    ['Environment', `${status.environment}   (binding ${status.binding}, ${status.state})`],
    ['Phase', status.message === null ? status.phase : `${status.phase}: ${status.message}`],
    [
      'Replicas',
      `${status.readyReplicas}/${status.desiredReplicas} ready, ${status.updatedReplicas} on the release, ${status.restarts} restarts`,
    ],
    ['Release', status.release ?? '-'],
    ['Endpoint', status.endpoint ?? '-'],
    ...isolationLines(status),
  ]);
  if (status.replicas.length === 0) return lines;
  const rows = status.replicas.map((replica) => [
    replica.name,
    replica.revision,
    replica.phase,
    replica.ready ? 'yes' : 'no',
    replica.pid === null ? '-' : String(replica.pid),
    replica.port === null ? '-' : String(replica.port),
    String(replica.restarts),
    replica.cpuMillicores === null ? '-' : `${replica.cpuMillicores}m`,
    replica.memoryBytes === null ? '-' : formatBytes(replica.memoryBytes),
    age(replica.startedAt),
    replica.lastExit === null
      ? '-'
      : `${replica.lastExit.reason}${replica.lastExit.code === null ? '' : ` (code ${replica.lastExit.code})`}${replica.lastExit.signal === null ? '' : ` (${replica.lastExit.signal})`}`,
  ]);
  return (
    lines +
    indent(
      table(
        [
          'REPLICA',
          'RELEASE',
          'PHASE',
          'READY',
          'PID',
          'PORT',
          'RESTARTS',
          'CPU',
          'MEMORY',
          'AGE',
          'LAST EXIT',
        ],
        rows,
      ),
    )
  );
}

/** One `Isolation` line when every started replica has the same, else one per replica (docs/runtime.md). */
function isolationLines(status: EnvironmentStatus): [string, string][] {
  const started = status.replicas.filter((replica) => replica.isolation !== null);
  const summaries = new Set(started.map((replica) => replica.isolation?.summary));
  if (summaries.size <= 1) {
    const [summary] = summaries;
    return summary === undefined ? [] : [['Isolation', summary]];
  }
  return started.map((replica) => ['Isolation', `${replica.name}: ${replica.isolation?.summary ?? '-'}`]);
}

function header(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 2;
  return pairs.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}\n`).join('');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n');
}
