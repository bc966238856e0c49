// Renders resources and events for people (aligned tables) and for programs (JSON, YAML).
import { stringify } from 'yaml';
import { InvalidError } from '../core/errors.js';
import type { ComponentStatus, EnvironmentStatus, PlatformEvent } from '../platform/contracts.js';
import type {
  AlertRuleSpec,
  ComponentSpec,
  SloSpec,
  DeploymentPipelineSpec,
  EnvironmentSpec,
  Kind,
  ProjectSpec,
  ReleaseBindingSpec,
  ReleaseSpec,
  RoleBindingSpec,
  Resource,
  WorkflowRunSpec,
  WorkflowRunStatus,
  WorkflowSpec,
} from '../platform/resource-kinds.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** The -o value, if it is one of `allowed`; else an error naming the choices. */
export function parseOutputFormat<F extends string>(text: string, allowed: readonly F[]): F {
  const format = allowed.find((candidate) => candidate === text);
  if (format === undefined) {
    const choices =
      allowed.length > 1
        ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1) ?? ''}`
        : (allowed[0] ?? '');
    throw new InvalidError(`unknown output format '${text}'`, [], { hint: `Use ${choices}.` });
  }
  return format;
}

export function renderData(data: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('   ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.round(hours / 24)}d`;
}

export function resourceTable(kind: Kind, resources: readonly Resource[], allNamespaces: boolean): string {
  const { headers, row } = columns(kind);
  const namespaced =
    allNamespaces && kind !== 'Namespace' && kind !== 'Environment' && kind !== 'DeploymentPipeline';
  return table(
    namespaced ? ['NAMESPACE', ...headers] : headers,
    resources.map((resource) =>
      namespaced ? [resource.metadata.namespace ?? '', ...row(resource)] : row(resource),
    ),
  );
}

interface Columns {
  headers: string[];
  row: (resource: Resource) => string[];
}

function columns(kind: Kind): Columns {
  const name = (resource: Resource): string => resource.metadata.name;
  const created = (resource: Resource): string => age(resource.metadata.createdAt);
  switch (kind) {
    case 'Namespace':
      return {
        headers: ['NAME', 'DISPLAY NAME', 'AGE'],
        row: (r) => [name(r), (r.spec as { displayName?: string }).displayName ?? '', created(r)],
      };
    case 'Environment':
      return {
        headers: ['NAME', 'PRODUCTION', 'DISPLAY NAME', 'AGE'],
        row: (r) => {
          const spec = r.spec as EnvironmentSpec;
          return [name(r), spec.production ? 'yes' : 'no', spec.displayName ?? '', created(r)];
        },
      };
    case 'DeploymentPipeline':
      return {
        headers: ['NAME', 'STAGES', 'AGE'],
        row: (r) => [
          name(r),
          (r.spec as DeploymentPipelineSpec).stages
            .map((stage) => `${stage.environment}${stage.requiresApproval ? ' (approval)' : ''}`)
            .join(' → '),
          created(r),
        ],
      };
    case 'Project':
      return {
        headers: ['NAME', 'PIPELINE', 'AGE'],
        row: (r) => [name(r), (r.spec as ProjectSpec).deploymentPipeline, created(r)],
      };
    case 'Component':
      return {
        headers: ['NAME', 'PROJECT', 'TYPE', 'RELEASE', 'ENVIRONMENTS', 'AGE'],
        row: (r) => {
          const status = r.status as ComponentStatus | undefined;
          const environments = (status?.environments ?? [])
            .map(
              (environment) =>
                `${environment.environment}:${replicaSummary(environment)} ${environment.phase}`,
            )
            .join(', ');
          return [
            name(r),
            r.metadata.project ?? '',
            (r.spec as ComponentSpec).type,
            status?.latestRelease ?? '-',
            environments === '' ? '-' : environments,
            created(r),
          ];
        },
      };
    case 'Release':
      return {
        headers: ['NAME', 'COMPONENT', 'REVISION', 'SOURCE', 'AGE'],
        row: (r) => {
          const spec = r.spec as ReleaseSpec;
          const source = spec.source.workflowRun === undefined ? 'spec' : `run ${spec.source.workflowRun}`;
          return [name(r), spec.component, String(spec.revision), source, created(r)];
        },
      };
    case 'ReleaseBinding':
      return {
        headers: ['NAME', 'COMPONENT', 'ENV', 'RELEASE', 'READY', 'PHASE', 'RESTARTS', 'ENDPOINT', 'AGE'],
        row: (r) => {
          const spec = r.spec as ReleaseBindingSpec;
          const status = r.status as EnvironmentStatus | undefined;
          return [
            name(r),
            spec.component,
            spec.environment,
            status?.release ?? spec.release ?? '-',
            status === undefined ? '-' : replicaSummary(status),
            status?.phase ?? '-',
            String(status?.restarts ?? 0),
            status?.endpoint ?? '-',
            created(r),
          ];
        },
      };
    case 'Workflow':
      return {
        headers: ['NAME', 'STEPS', 'AGE'],
        row: (r) => [name(r), (r.spec as WorkflowSpec).steps.map((step) => step.name).join(', '), created(r)],
      };
    case 'AlertRule':
      return {
        headers: ['NAME', 'COMPONENT', 'ENV', 'CONDITION', 'FOR', 'SEVERITY', 'RCA', 'AGE'],
        row: (r) => {
          const spec = r.spec as AlertRuleSpec;
          const condition =
            spec.threshold !== undefined
              ? `${spec.threshold.metric}${spec.threshold.aggregation === undefined ? '' : `:${spec.threshold.aggregation}`} ${spec.threshold.operator} ${spec.threshold.value} over ${spec.threshold.window}`
              : spec.errorRate !== undefined
                ? `error rate > ${spec.errorRate.above} over ${spec.errorRate.window}`
                : `p${spec.latency?.percentile ?? 95} latency > ${spec.latency?.aboveMs ?? '?'}ms over ${spec.latency?.window ?? '?'}`;
          return [
            name(r),
            spec.component ?? '*',
            spec.environment ?? '*',
            condition,
            spec.for,
            spec.severity,
            spec.triggerAiRca ? 'yes' : 'no',
            created(r),
          ];
        },
      };
    case 'SLO':
      return {
        headers: ['NAME', 'COMPONENT', 'ENV', 'OBJECTIVE', 'INDICATOR', 'WINDOW', 'AGE'],
        row: (r) => {
          const spec = r.spec as SloSpec;
          const indicator =
            spec.indicator.type === 'latency' ? `latency <= ${spec.indicator.thresholdMs}ms` : 'availability';
          return [
            name(r),
            spec.component,
            spec.environment,
            `${spec.objective}%`,
            indicator,
            spec.window,
            created(r),
          ];
        },
      };
    case 'WorkflowRun':
      return {
        headers: ['NAME', 'TARGET', 'PHASE', 'RELEASE', 'STARTED', 'DURATION'],
        row: (r) => {
          const spec = r.spec as WorkflowRunSpec;
          const status = r.status as WorkflowRunStatus | undefined;
          const target = [
            spec.component,
            spec.workflow === undefined ? undefined : `workflow ${spec.workflow}`,
          ]
            .filter((part) => part !== undefined)
            .join(' / ');
          return [
            name(r),
            target,
            status?.phase ?? 'Pending',
            status?.release ?? '-',
            age(status?.startedAt),
            duration(status?.startedAt, status?.finishedAt),
          ];
        },
      };
    case 'RoleBinding':
      return {
        headers: ['NAME', 'ROLE', 'SUBJECTS', 'SCOPE', 'AGE'],
        row: (r) => {
          const spec = r.spec as RoleBindingSpec;
          const scope = [spec.scope?.project, spec.scope?.component, spec.scope?.environment]
            .map((part) => part ?? '*')
            .join('/');
          return [
            name(r),
            spec.role,
            spec.subjects.map((subject) => subject.name).join(', '),
            scope === '*/*/*' ? '(namespace)' : scope,
            created(r),
          ];
        },
      };
  }
}

export function eventTable(events: readonly PlatformEvent[]): string {
  return table(
    ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
    [...events]
      .reverse()
      .map((event) => [
        age(event.lastTimestamp),
        event.type,
        event.reason,
        `${event.object.kind.toLowerCase()}/${event.object.name}`,
        `${event.message}${event.count > 1 ? ` (x${event.count})` : ''}`,
      ]),
  );
}

function replicaSummary(status: Pick<EnvironmentStatus, 'readyReplicas' | 'desiredReplicas'>): string {
  return `${status.readyReplicas}/${status.desiredReplicas}`;
}

function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (start === null || start === undefined) return '-';
  const milliseconds = (end === null || end === undefined ? Date.now() : Date.parse(end)) - Date.parse(start);
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  return seconds < 120 ? `${seconds}s` : `${Math.round(seconds / 60)}m`;
}
