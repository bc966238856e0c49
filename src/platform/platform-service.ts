// The platform's domain service: declarative apply (all-or-nothing), reads with live status, deletes with
// the rules that keep references whole, events and replica output. Every edge reaches the platform through it.
import type { Clock } from '../core/clock.js';
import { ConflictError, InvalidError, NotFoundError, type FieldIssue } from '../core/errors.js';
import type { IdGenerator } from '../core/ids.js';
import type { LogLine, LogQuery, NodeCapacity, WorkloadStatus } from '../runtime/ports.js';
import type {
  EventRecord,
  ResourceKey,
  ResourceRecord,
  StateRepositories,
  StateStore,
} from '../state/ports.js';
import { canonicalJson } from '../core/canonical-json.js';
import { parseDocuments, type ParsedDocument } from './documents.js';
import { createRelease, initialComponentStatus } from './releases.js';
import {
  apiVersion,
  kindInfo,
  type ComponentSpec,
  type DeploymentPipelineSpec,
  type Kind,
  type ProjectSpec,
  type ReleaseBindingSpec,
  type ReleaseSpec,
  type RoleBindingSpec,
  type Resource,
  type WorkflowRunSpec,
  type WorkflowRunStatus,
} from './resource-kinds.js';
import type {
  ApplyAction,
  ApplyItem,
  ApplyOutcome,
  ComponentStatus,
  EnvironmentStatus,
  NodeAllocation,
  NodeView,
  PlatformEvent,
  ReplicaLogLine,
  WorkflowLogLineView,
} from './contracts.js';
import { environmentStatus, type StoredComponentStatus } from './status.js';

export interface ApplyOptions {
  /** Folder(s) relative paths resolve against: one for all documents, or one per document. */
  readonly baseDir?: string | readonly string[] | undefined;
  readonly dryRun?: boolean | undefined;
  readonly defaultNamespace?: string | undefined;
  /**
   * Which resources error messages may name (the caller's scope); every one when absent. With it, lists of
   * "known" names say `known to you`, so that an empty list reads the same whether or not others exist.
   */
  readonly visible?: ((where: ResourceLocation) => boolean) | undefined;
}

export interface ListFilter {
  readonly namespace?: string | undefined;
  readonly project?: string | undefined;
  readonly component?: string | undefined;
  readonly environment?: string | undefined;
}

export interface EventFilter extends ListFilter {
  readonly reason?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: number | undefined;
}

export interface ResourceLocation {
  readonly namespace: string;
  readonly project?: string;
  readonly component?: string;
  readonly environment?: string;
}

/** One resource of a compare-and-set write (applyIfUnchanged). */
export interface GuardedChange {
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
  /** The version it must still be at; null: it must not exist. */
  readonly expected: { readonly uid: string; readonly generation: number } | null;
  /** The document to apply; null: delete it. */
  readonly after: unknown;
}

export interface LogRequest extends LogQuery {
  readonly namespace: string;
  readonly component: string;
  readonly environment: string;
}

/** The part of the runtime the platform reads. */
export interface RuntimeView {
  readonly kind: string;
  nodes(): NodeCapacity[];
  status(workloadId: string): WorkloadStatus | undefined;
  logs(workloadId: string, query?: LogQuery): LogLine[];
}

export interface PlatformServiceOptions {
  readonly store: StateStore;
  readonly runtime: RuntimeView;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Called after every committed change, so that reconcilers act at once. */
  readonly onChange?: () => void;
}

class DryRunRollback extends Error {
  constructor(readonly items: ApplyItem[]) {
    super('dry run');
  }
}

export class PlatformService {
  constructor(private readonly options: PlatformServiceOptions) {}

  /** Applies documents all-or-nothing: every document is validated (schema, then references) before any commits. */
  async apply(raw: readonly unknown[], options: ApplyOptions = {}): Promise<ApplyOutcome> {
    if (raw.length === 0) throw new InvalidError('nothing to apply: no documents were given');
    const parsed = parseDocuments(raw, options);
    if (parsed.issues.length > 0) throw invalidDocuments(parsed.issues);
    const ordered = [...parsed.documents].sort((a, b) => a.info.order - b.info.order || a.index - b.index);
    const now = this.options.clock.now().toISOString();
    let items: ApplyItem[];
    try {
      items = await this.options.store.transaction(async (tx) => {
        const issues: FieldIssue[] = [];
        const written: ApplyItem[] = [];
        for (const document of ordered)
          written.push(...(await this.applyDocument(tx, document, now, issues, options.visible)));
        if (issues.length > 0) throw invalidDocuments(issues);
        if (options.dryRun === true) throw new DryRunRollback(written);
        return written;
      });
    } catch (error) {
      if (error instanceof DryRunRollback) return { dryRun: true, items: sortItems(error.items) };
      throw error;
    }
    if (items.some((item) => item.action !== 'unchanged')) this.options.onChange?.();
    return { dryRun: false, items: sortItems(items) };
  }

  async get(kind: Kind, namespace: string, name: string): Promise<Resource> {
    const key = this.key(kind, namespace, name);
    const record = await this.options.store.resources.get(key);
    if (record === undefined) throw notFound(key);
    const [resource] = await this.present([record]);
    if (resource === undefined) throw notFound(key);
    return resource;
  }

  async list(kind: Kind, filter: ListFilter = {}): Promise<Resource[]> {
    const records = await this.options.store.resources.list({
      kind,
      namespace: kindInfo[kind].scope === 'cluster' ? '' : filter.namespace,
      project: filter.project,
      component: filter.component,
      environment: filter.environment,
    });
    return this.present(records);
  }

  /**
   * Where a resource sits (namespace, project, component, environment), from its indexed columns: no live
   * status is computed. Undefined when it does not exist. Authorization asks this before every read.
   */
  async locate(kind: Kind, namespace: string, name: string): Promise<ResourceLocation | undefined> {
    const record = await this.options.store.resources.get(this.key(kind, namespace, name));
    return record === undefined ? undefined : locationOf(record);
  }

  /** Deletes a resource. Components take their releases, bindings and runs with them; others refuse while in use. */
  async delete(kind: Kind, namespace: string, name: string): Promise<ApplyItem[]> {
    const items = await this.options.store.transaction((tx) => this.deleteWithin(tx, kind, namespace, name));
    this.options.onChange?.();
    return items;
  }

  /**
   * A compare-and-set write: applies the documents and deletes of `changes` in one transaction, and only while
   * every resource named is still at the version it was judged on (locked until commit); otherwise nothing is
   * applied and it fails with a ConflictError.
   */
  async applyIfUnchanged(
    changes: readonly GuardedChange[],
    options: Pick<ApplyOptions, 'visible'> = {},
  ): Promise<ApplyItem[]> {
    const documents = changes.flatMap((change) => (change.after === null ? [] : [change.after]));
    const parsed = parseDocuments(documents, {});
    if (parsed.issues.length > 0) throw invalidDocuments(parsed.issues);
    const ordered = [...parsed.documents].sort((a, b) => a.info.order - b.info.order || a.index - b.index);
    const now = this.options.clock.now().toISOString();
    const items = await this.options.store.transaction(async (tx) => {
      for (const change of changes) {
        const record = await tx.resources.get(this.key(change.kind, change.namespace, change.name), {
          forUpdate: true,
        });
        const unchanged =
          change.expected === null
            ? record === undefined
            : record?.uid === change.expected.uid && record.generation === change.expected.generation;
        if (!unchanged) {
          throw new ConflictError(
            `${change.kind} ${change.name} changed since it was proposed; propose again (nothing was applied)`,
            { hint: 'Make the change again from the current state to get a new proposal.' },
          );
        }
      }
      const issues: FieldIssue[] = [];
      const written: ApplyItem[] = [];
      for (const document of ordered)
        written.push(...(await this.applyDocument(tx, document, now, issues, options.visible)));
      if (issues.length > 0) throw invalidDocuments(issues);
      for (const change of changes) {
        if (change.after === null)
          written.push(...(await this.deleteWithin(tx, change.kind, change.namespace, change.name)));
      }
      return written;
    });
    if (items.some((entry) => entry.action !== 'unchanged')) this.options.onChange?.();
    return sortItems(items);
  }

  private async deleteWithin(
    tx: StateRepositories,
    kind: Kind,
    namespace: string,
    name: string,
  ): Promise<ApplyItem[]> {
    const key = this.key(kind, namespace, name);
    const record = await tx.resources.get(key);
    if (record === undefined) throw notFound(key);
    const deleted: ApplyItem[] = [];
    await this.checkDeletable(tx, record);
    if (kind === 'Component') {
      for (const dependent of ['ReleaseBinding', 'WorkflowRun', 'Release'] as const) {
        for (const child of await tx.resources.list({ kind: dependent, namespace, component: name })) {
          await tx.resources.delete(child);
          if (dependent === 'WorkflowRun') await tx.workflowLogs.deleteRun(child.uid);
          deleted.push(item(child, 'deleted', null));
        }
      }
    }
    if (kind === 'WorkflowRun') await tx.workflowLogs.deleteRun(record.uid);
    await tx.resources.delete(key);
    deleted.unshift(item(record, 'deleted', null));
    return deleted;
  }

  async events(filter: EventFilter = {}): Promise<PlatformEvent[]> {
    const records = await this.options.store.events.list({
      namespace: filter.namespace,
      project: filter.project,
      component: filter.component,
      environment: filter.environment,
      reason: filter.reason,
      since: filter.since,
      limit: filter.limit,
    });
    return records.map(toPlatformEvent);
  }

  /** Recent stdout/stderr lines of a component's replicas in one environment. */
  async logs(request: LogRequest): Promise<ReplicaLogLine[]> {
    const binding = await this.findBinding(request.namespace, request.component, request.environment);
    return this.options.runtime
      .logs(binding.uid, { replica: request.replica, tail: request.tail })
      .map(({ replica, revision, stream, line, timestamp }) => ({
        replica,
        revision,
        stream,
        line,
        timestamp,
      }));
  }

  /** Output of a workflow run, in order. */
  async workflowLogs(
    namespace: string,
    run: string,
    options: { afterSequence?: number | undefined; limit?: number | undefined } = {},
  ): Promise<WorkflowLogLineView[]> {
    const key = { kind: 'WorkflowRun', namespace, name: run };
    const record = await this.options.store.resources.get(key);
    if (record === undefined) throw notFound(key);
    const lines = await this.options.store.workflowLogs.list(record.uid, {
      ...(options.afterSequence === undefined ? {} : { afterSequence: options.afterSequence }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    return lines.map(({ sequence, timestamp, step, stream, line }) => ({
      sequence,
      timestamp,
      step,
      stream,
      line,
    }));
  }

  /** The runtime's nodes, each workload named by the binding it runs (namespace, component, environment). */
  nodes(): NodeView[] {
    return this.options.runtime.nodes().map(({ workloads, ...node }) => {
      const allocations = workloads.map(({ workloadId, labels, ...usage }): NodeAllocation => ({
        namespace: labels.namespace ?? '',
        project: labels.project ?? null,
        component: labels.component ?? workloadId,
        environment: labels.environment ?? null,
        binding: labels.binding ?? null,
        release: labels.release ?? null,
        ...usage,
      }));
      return {
        ...node,
        runtime: this.options.runtime.kind,
        requested: {
          cpuMillis: total(allocations, (item) => item.cpuRequestMillis),
          memoryBytes: total(allocations, (item) => item.memoryRequestBytes),
        },
        used: {
          cpuMillicores: total(allocations, (item) => item.cpuMillicores),
          memoryBytes: total(allocations, (item) => item.memoryBytes),
        },
        allocations,
        otherAllocations: sumAllocations([]),
      };
    });
  }

  /** The live status of a component in every environment it is bound to. */
  async componentStatus(namespace: string, component: string): Promise<ComponentStatus> {
    const resource = await this.get('Component', namespace, component);
    return resource.status as ComponentStatus;
  }

  private async findBinding(
    namespace: string,
    component: string,
    environment: string,
  ): Promise<ResourceRecord> {
    const store = this.options.store.resources;
    if ((await store.get({ kind: 'Component', namespace, name: component })) === undefined) {
      throw notFound({ kind: 'Component', namespace, name: component });
    }
    const [binding] = await store.list({ kind: 'ReleaseBinding', namespace, component, environment });
    if (binding === undefined) {
      const bound = await store.list({ kind: 'ReleaseBinding', namespace, component });
      const environments = bound.map((record) => (record.spec as ReleaseBindingSpec).environment);
      throw new NotFoundError(`component ${component} is not bound to environment ${environment}`, {
        hint:
          environments.length === 0
            ? 'Apply a ReleaseBinding for it first.'
            : `It is bound to: ${environments.join(', ')}.`,
      });
    }
    return binding;
  }

  private key(kind: Kind, namespace: string, name: string): ResourceKey {
    return { kind, namespace: kindInfo[kind].scope === 'cluster' ? '' : namespace, name };
  }

  private async applyDocument(
    tx: StateRepositories,
    document: ParsedDocument,
    now: string,
    issues: FieldIssue[],
    visible: ApplyOptions['visible'],
  ): Promise<ApplyItem[]> {
    const report = (path: string, message: string): void => {
      issues.push({ document: document.index, path, message });
    };
    const { kind, namespace, name } = document;
    const items: ApplyItem[] = [];

    if (document.info.scope === 'namespaced') {
      const exists = await tx.resources.get({ kind: 'Namespace', namespace: '', name: namespace });
      if (exists === undefined) {
        report(
          'metadata.namespace',
          `namespace ${namespace} does not exist; apply a Namespace named ${namespace} first`,
        );
        return items;
      }
    }

    const references = await this.checkReferences(tx, document, report, items, now, visible);
    if (references === undefined) return items;

    const existing = await tx.resources.get({ kind, namespace, name });
    const next: ResourceRecord = {
      uid: existing?.uid ?? this.options.ids.uid(),
      kind,
      namespace,
      name,
      project: references.project,
      component: references.component,
      environment: references.environment,
      labels: document.labels,
      annotations: document.annotations,
      spec: document.spec,
      status: existing?.status ?? initialStatus(kind),
      generation: (existing?.generation ?? 0) + 1,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };

    if (existing === undefined) {
      await tx.resources.insert(next);
      items.push(item(next, 'created', document.index));
      if (kind === 'Component') items.push(await this.release(tx, next, now, document.index));
      return items;
    }

    const specChanged = canonicalJson(existing.spec) !== canonicalJson(next.spec);
    const metadataChanged =
      canonicalJson([existing.labels, existing.annotations]) !==
      canonicalJson([next.labels, next.annotations]);
    if (!specChanged && !metadataChanged) {
      items.push(item(existing, 'unchanged', document.index));
      return items;
    }
    if (!this.checkImmutable(existing, next, report)) return items;
    await tx.resources.update(next, existing.generation);
    items.push(item(next, 'configured', document.index));
    if (kind === 'ReleaseBinding' && specChanged) {
      // A binding change is what many incidents start from: keep it in the events next to what the runtime did.
      const before = existing.spec as Record<string, unknown>;
      const after = next.spec as Record<string, unknown>;
      const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
        (field) => canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null),
      );
      await tx.events.record({
        namespace,
        objectKind: 'ReleaseBinding',
        objectName: name,
        project: references.project,
        component: references.component,
        environment: references.environment,
        type: 'Normal',
        reason: 'BindingChanged',
        message: `Changed ${fields.join(', ')} of ${name}${changedValues(before, after)}${
          fields.includes('replicas')
            ? ` (replicas ${String(before.replicas)} → ${String(after.replicas)})`
            : ''
        }`,
        timestamp: now,
      });
    }
    if (kind === 'Component' && specChanged) {
      const current = await tx.resources.get({ kind, namespace, name });
      if (current !== undefined) items.push(await this.release(tx, current, now, document.index));
    }
    return items;
  }

  private async release(
    tx: StateRepositories,
    component: ResourceRecord,
    now: string,
    document: number,
  ): Promise<ApplyItem> {
    const release = await createRelease(tx, component, {
      now,
      ids: this.options.ids,
      workflowRun: undefined,
    });
    return item(release, 'created', document, 'new release of the component');
  }

  /** Resolves and checks what a document points at; returns the indexed reference columns, or undefined. */
  private async checkReferences(
    tx: StateRepositories,
    document: ParsedDocument,
    report: (path: string, message: string) => void,
    items: ApplyItem[],
    now: string,
    visible: ApplyOptions['visible'],
  ): Promise<{ project: string | null; component: string | null; environment: string | null } | undefined> {
    const { namespace } = document;
    const missing = (kind: Kind, name: string, inNamespace: string): Promise<string> =>
      missingReference(tx, kind, name, inNamespace, visible);
    const get = (kind: Kind, name: string, inNamespace = namespace): Promise<ResourceRecord | undefined> =>
      tx.resources.get({ kind, namespace: kindInfo[kind].scope === 'cluster' ? '' : inNamespace, name });
    const none = { project: null, component: null, environment: null };

    switch (document.kind) {
      case 'Namespace':
      case 'Environment':
      case 'Workflow':
        return none;
      case 'DeploymentPipeline': {
        const spec = document.spec as DeploymentPipelineSpec;
        let ok = true;
        for (const [index, stage] of spec.stages.entries()) {
          if ((await get('Environment', stage.environment)) === undefined) {
            report(`spec.stages[${index}].environment`, await missing('Environment', stage.environment, ''));
            ok = false;
          }
        }
        return ok ? none : undefined;
      }
      case 'Project': {
        const spec = document.spec as ProjectSpec;
        if ((await get('DeploymentPipeline', spec.deploymentPipeline)) === undefined) {
          report('spec.deploymentPipeline', await missing('DeploymentPipeline', spec.deploymentPipeline, ''));
          return undefined;
        }
        return { ...none, project: document.name };
      }
      case 'Component': {
        const project = document.project ?? 'default';
        if ((await get('Project', project)) === undefined) {
          // Projects are created on first use so that a component file is all one needs.
          const record: ResourceRecord = {
            uid: this.options.ids.uid(),
            kind: 'Project',
            namespace,
            name: project,
            project,
            component: null,
            environment: null,
            labels: {},
            annotations: {},
            spec: { deploymentPipeline: 'default' } satisfies ProjectSpec,
            status: null,
            generation: 1,
            createdAt: now,
            updatedAt: now,
          };
          await tx.resources.insert(record);
          items.push(item(record, 'created', document.index, 'created implicitly for the component'));
        }
        return { project, component: document.name, environment: null };
      }
      case 'ReleaseBinding': {
        const spec = document.spec as ReleaseBindingSpec;
        let ok = true;
        const component = await get('Component', spec.component);
        if (component === undefined) {
          report('spec.component', await missing('Component', spec.component, namespace));
          ok = false;
        }
        if ((await get('Environment', spec.environment)) === undefined) {
          report('spec.environment', await missing('Environment', spec.environment, ''));
          ok = false;
        }
        if (spec.release !== undefined) {
          const release = await get('Release', spec.release);
          if (release === undefined || (release.spec as ReleaseSpec).component !== spec.component) {
            report('spec.release', `release ${spec.release} of component ${spec.component} does not exist`);
            ok = false;
          }
        }
        if (
          component !== undefined &&
          document.project !== undefined &&
          document.project !== component.project
        ) {
          report(
            'metadata.project',
            `component ${spec.component} belongs to project ${component.project ?? '?'}, not ${document.project}`,
          );
          ok = false;
        }
        const sameTarget = await tx.resources.list({
          kind: 'ReleaseBinding',
          namespace,
          component: spec.component,
          environment: spec.environment,
        });
        const other = sameTarget.find((binding) => binding.name !== document.name);
        if (other !== undefined) {
          report(
            'spec.environment',
            `component ${spec.component} is already bound to ${spec.environment} by binding ${other.name}; change that one instead`,
          );
          ok = false;
        }
        return ok
          ? { project: component?.project ?? null, component: spec.component, environment: spec.environment }
          : undefined;
      }
      case 'WorkflowRun': {
        const spec = document.spec as WorkflowRunSpec;
        let ok = true;
        let project: string | null = null;
        if (spec.workflow !== undefined && (await get('Workflow', spec.workflow)) === undefined) {
          report('spec.workflow', await missing('Workflow', spec.workflow, namespace));
          ok = false;
        }
        if (spec.component !== undefined) {
          const component = await get('Component', spec.component);
          if (component === undefined) {
            report('spec.component', await missing('Component', spec.component, namespace));
            ok = false;
          } else {
            project = component.project;
            if (spec.workflow === undefined && (component.spec as ComponentSpec).build === undefined) {
              report(
                'spec.component',
                `component ${spec.component} has no spec.build; add one or name a workflow in spec.workflow`,
              );
              ok = false;
            }
          }
        }
        return ok ? { project, component: spec.component ?? null, environment: null } : undefined;
      }
      case 'Release':
        report('kind', 'Release resources are created by the platform; apply the Component instead');
        return undefined;
      case 'AlertRule':
      case 'SLO': {
        // Rules may watch services opspilot does not run (anything that sends OTLP), so names are not checked.
        const spec = document.spec as { component?: string; environment?: string };
        return { project: null, component: spec.component ?? null, environment: spec.environment ?? null };
      }
      case 'RoleBinding': {
        const spec = document.spec as RoleBindingSpec;
        return {
          project: spec.scope?.project ?? null,
          component: spec.scope?.component ?? null,
          environment: spec.scope?.environment ?? null,
        };
      }
    }
  }

  private checkImmutable(
    existing: ResourceRecord,
    next: ResourceRecord,
    report: (path: string, message: string) => void,
  ): boolean {
    if (existing.kind === 'Component' && existing.project !== next.project) {
      report(
        'metadata.project',
        `component ${existing.name} belongs to project ${existing.project ?? '?'}; delete and re-create it to move it`,
      );
      return false;
    }
    if (existing.kind === 'ReleaseBinding') {
      const before = existing.spec as ReleaseBindingSpec;
      const after = next.spec as ReleaseBindingSpec;
      for (const field of ['component', 'environment'] as const) {
        if (before[field] !== after[field]) {
          report(
            `spec.${field}`,
            `cannot change the ${field} of a binding (was ${before[field]}); create another binding`,
          );
          return false;
        }
      }
    }
    if (existing.kind === 'WorkflowRun' && canonicalJson(existing.spec) !== canonicalJson(next.spec)) {
      report(
        'spec',
        `workflow run ${existing.name} already exists and runs cannot change; create a run with a new name`,
      );
      return false;
    }
    return true;
  }

  private async checkDeletable(tx: StateRepositories, record: ResourceRecord): Promise<void> {
    const refuseWhileUsed = (what: string, names: readonly string[]): void => {
      if (names.length === 0) return;
      throw new ConflictError(
        `${record.kind} ${record.name} is still used by ${what}: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`,
        { hint: 'Delete or change those first.' },
      );
    };
    switch (record.kind) {
      case 'Namespace': {
        const names: string[] = [];
        for (const kind of ['Project', 'Component', 'ReleaseBinding', 'Workflow', 'WorkflowRun'] as const) {
          for (const child of await tx.resources.list({ kind, namespace: record.name }))
            names.push(`${kind} ${child.name}`);
        }
        refuseWhileUsed('resources in it', names);
        return;
      }
      case 'Environment': {
        const bindings = await tx.resources.list({ kind: 'ReleaseBinding', environment: record.name });
        refuseWhileUsed(
          'bindings',
          bindings.map((binding) => `${binding.namespace}/${binding.name}`),
        );
        const pipelines = (await tx.resources.list({ kind: 'DeploymentPipeline', namespace: '' })).filter(
          (pipeline) =>
            (pipeline.spec as DeploymentPipelineSpec).stages.some(
              (stage) => stage.environment === record.name,
            ),
        );
        refuseWhileUsed(
          'deployment pipelines',
          pipelines.map((pipeline) => pipeline.name),
        );
        return;
      }
      case 'DeploymentPipeline': {
        const projects = (await tx.resources.list({ kind: 'Project' })).filter(
          (project) => (project.spec as ProjectSpec).deploymentPipeline === record.name,
        );
        refuseWhileUsed(
          'projects',
          projects.map((project) => `${project.namespace}/${project.name}`),
        );
        return;
      }
      case 'Project': {
        const components = await tx.resources.list({
          kind: 'Component',
          namespace: record.namespace,
          project: record.name,
        });
        refuseWhileUsed(
          'components',
          components.map((component) => component.name),
        );
        return;
      }
      case 'Release': {
        const spec = record.spec as ReleaseSpec;
        const component = await tx.resources.get({
          kind: 'Component',
          namespace: record.namespace,
          name: spec.component,
        });
        if ((component?.status as StoredComponentStatus | null)?.latestRelease === record.name) {
          throw new ConflictError(`release ${record.name} is the latest release of ${spec.component}`, {
            hint: 'Only older releases can be deleted.',
          });
        }
        const pinned = (
          await tx.resources.list({
            kind: 'ReleaseBinding',
            namespace: record.namespace,
            component: spec.component,
          })
        ).filter((binding) => (binding.spec as ReleaseBindingSpec).release === record.name);
        refuseWhileUsed(
          'bindings that pin it',
          pinned.map((binding) => binding.name),
        );
        return;
      }
      case 'Component': {
        const running = (
          await tx.resources.list({
            kind: 'WorkflowRun',
            namespace: record.namespace,
            component: record.name,
          })
        )
          .filter((run) => (run.status as WorkflowRunStatus | null)?.phase === 'Running')
          .map((run) => run.name);
        refuseWhileUsed('running builds (wait for them to finish)', running);
        return;
      }
      case 'WorkflowRun': {
        if ((record.status as WorkflowRunStatus | null)?.phase === 'Running') {
          throw new ConflictError(`workflow run ${record.name} is running`, {
            hint: 'Wait for it to finish.',
          });
        }
        return;
      }
      default:
        return;
    }
  }

  /** Adds API shape and live status; loads what status needs in one pass per namespace. */
  private async present(records: readonly ResourceRecord[]): Promise<Resource[]> {
    const bindingsByComponent = new Map<string, ResourceRecord[]>();
    const releases = new Set<string>();
    const components = new Map<string, ResourceRecord>();
    const namespaces = new Set(
      records
        .filter((record) => record.kind === 'Component' || record.kind === 'ReleaseBinding')
        .map((r) => r.namespace),
    );
    const store = this.options.store.resources;
    for (const namespace of namespaces) {
      for (const binding of await store.list({ kind: 'ReleaseBinding', namespace })) {
        const key = `${namespace}/${binding.component ?? ''}`;
        bindingsByComponent.set(key, [...(bindingsByComponent.get(key) ?? []), binding]);
      }
      for (const release of await store.list({ kind: 'Release', namespace }))
        releases.add(`${namespace}/${release.name}`);
      for (const component of await store.list({ kind: 'Component', namespace })) {
        components.set(`${namespace}/${component.name}`, component);
      }
    }
    const bindingStatus = (binding: ResourceRecord): EnvironmentStatus => {
      const spec = binding.spec as ReleaseBindingSpec;
      const component = components.get(`${binding.namespace}/${spec.component}`);
      const target =
        spec.release ?? (component?.status as StoredComponentStatus | null)?.latestRelease ?? null;
      return environmentStatus(
        {
          name: binding.name,
          spec,
          targetRelease: target,
          releaseExists: target !== null && releases.has(`${binding.namespace}/${target}`),
        },
        this.options.runtime.status(binding.uid),
      );
    };
    return records.map((record) => {
      let status: unknown = record.status ?? undefined;
      if (record.kind === 'Component') {
        const stored = record.status as StoredComponentStatus | null;
        const bindings = bindingsByComponent.get(`${record.namespace}/${record.name}`) ?? [];
        status = {
          latestRelease: stored?.latestRelease ?? null,
          environments: bindings.map(bindingStatus),
        } satisfies ComponentStatus;
      } else if (record.kind === 'ReleaseBinding') {
        status = bindingStatus(record);
      }
      return toResource(record, status);
    });
  }
}

export function toResource(record: ResourceRecord, status: unknown): Resource {
  const kind = record.kind as Kind;
  const metadata = {
    name: record.name,
    ...(record.namespace === '' ? {} : { namespace: record.namespace }),
    ...(record.project === null || kind === 'Project' ? {} : { project: record.project }),
    uid: record.uid,
    generation: record.generation,
    labels: record.labels,
    annotations: record.annotations,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
  return {
    apiVersion,
    kind,
    metadata,
    spec: record.spec,
    ...(status === undefined || status === null ? {} : { status }),
  };
}

function initialStatus(kind: Kind): unknown {
  if (kind === 'Component') return initialComponentStatus;
  if (kind === 'WorkflowRun') {
    return {
      phase: 'Pending',
      startedAt: null,
      finishedAt: null,
      steps: [],
      release: null,
      message: null,
    } satisfies WorkflowRunStatus;
  }
  return null;
}

function item(
  record: ResourceKey & { kind: string },
  action: ApplyAction,
  document: number | null,
  note?: string,
): ApplyItem {
  return {
    kind: record.kind as Kind,
    namespace: record.namespace === '' ? null : record.namespace,
    name: record.name,
    action,
    document,
    ...(note === undefined ? {} : { note }),
  };
}

function sortItems(items: ApplyItem[]): ApplyItem[] {
  // Document order, with what the platform created on its own right after the document that caused it.
  return items
    .map((entry, position) => ({ entry, position }))
    .sort(
      (a, b) => (a.entry.document ?? Infinity) - (b.entry.document ?? Infinity) || a.position - b.position,
    )
    .map(({ entry }) => entry);
}

function invalidDocuments(issues: readonly FieldIssue[]): InvalidError {
  const documents = new Set(issues.map((issue) => issue.document));
  return new InvalidError(
    `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${documents.size} document${documents.size === 1 ? '' : 's'}; nothing was applied`,
    issues,
    { hint: 'Fix every field listed, then apply again (nothing was written).' },
  );
}

function notFound(key: ResourceKey): NotFoundError {
  const where = key.namespace === '' ? '' : ` in namespace ${key.namespace}`;
  const plural = kindInfo[key.kind as Kind].plural;
  return new NotFoundError(`${key.kind} ${key.name} not found${where}`, {
    hint: `\`opspilot get ${plural}${key.namespace === '' ? '' : ` -n ${key.namespace}`}\` lists what exists.`,
  });
}

/** Where a stored resource sits, from its indexed columns. */
function locationOf(record: ResourceRecord): ResourceLocation {
  if (record.kind === 'Namespace') return { namespace: record.name };
  const project = record.kind === 'Project' ? record.name : (record.project ?? undefined);
  const component = record.kind === 'Component' ? record.name : (record.component ?? undefined);
  const environment = record.kind === 'ReleaseBinding' ? (record.environment ?? undefined) : undefined;
  return {
    namespace: record.namespace,
    ...(project === undefined ? {} : { project }),
    ...(component === undefined ? {} : { component }),
    ...(environment === undefined ? {} : { environment }),
  };
}

/** "x does not exist (known: …)", naming only what `visible` allows of namespaced kinds. */
async function missingReference(
  tx: StateRepositories,
  kind: Kind,
  name: string,
  namespace: string,
  visible: ApplyOptions['visible'],
): Promise<string> {
  const filtered = visible !== undefined && namespace !== '';
  const candidates = (await tx.resources.list({ kind, namespace })).filter(
    (candidate) => !filtered || visible(locationOf(candidate)),
  );
  const where = namespace === '' ? '' : ` in namespace ${namespace}`;
  const known =
    candidates.length === 0
      ? filtered
        ? `none you may see${where}`
        : `there are none${where}`
      : `${filtered ? 'known to you' : 'known'}: ${candidates
          .slice(0, 12)
          .map((candidate) => candidate.name)
          .join(', ')}`;
  return `${kind.toLowerCase()} ${name} does not exist${where} (${known})`;
}

function toPlatformEvent(record: EventRecord): PlatformEvent {
  return {
    type: record.type,
    reason: record.reason,
    message: record.message,
    object: { kind: record.objectKind, name: record.objectName },
    namespace: record.namespace,
    project: record.project,
    component: record.component,
    environment: record.environment,
    replica: record.replica,
    count: record.count,
    firstTimestamp: record.firstTimestamp,
    lastTimestamp: record.lastTimestamp,
  };
}

function total<T>(items: readonly T[], value: (item: T) => number | null): number {
  return items.reduce((sum, item) => sum + (value(item) ?? 0), 0);
}

/** Allocations summed into one anonymous row (what a caller may know of workloads outside its scope). */
export function sumAllocations(items: readonly NodeAllocation[]): NodeView['otherAllocations'] {
  const sampled = items.filter((item) => item.cpuMillicores !== null);
  return {
    workloads: items.length,
    replicas: total(items, (item) => item.replicas),
    cpuRequestMillis: total(items, (item) => item.cpuRequestMillis),
    memoryRequestBytes: total(items, (item) => item.memoryRequestBytes),
    cpuMillicores: sampled.length === 0 ? null : total(sampled, (item) => item.cpuMillicores),
    memoryBytes: sampled.length === 0 ? null : total(sampled, (item) => item.memoryBytes),
  };
}

/**
 * What a binding change did to its env and resources, ` [env.KEY: "old" → "new"; resources.limits.memory: …]`, so
 * that the event says how to undo it (the RCA agent proposes exactly that). Values are JSON; `unset` is absent.
 */
export function changedValues(before: Record<string, unknown>, after: Record<string, unknown>): string {
  const parts: string[] = [];
  const show = (value: unknown) => (value === undefined ? 'unset' : JSON.stringify(value));
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (canonicalJson(a ?? null) === canonicalJson(b ?? null)) return;
    const isObject = (value: unknown): value is Record<string, unknown> =>
      value !== null && typeof value === 'object' && !Array.isArray(value);
    if ((isObject(a) || a === undefined) && (isObject(b) || b === undefined) && (a ?? b) !== undefined) {
      const left = a ?? {};
      const right = b ?? {};
      for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])].sort())
        walk(left[key], right[key], `${path}.${key}`);
      return;
    }
    parts.push(`${path}: ${show(a)} → ${show(b)}`);
  };
  for (const field of ['env', 'resources'] as const) walk(before[field], after[field], field);
  return parts.length === 0 ? '' : ` [${parts.join('; ')}]`;
}
