// Turns write requests into change plans: the exact before → after documents, computed from the current state.
// Intent writes (scale, restart, rollback, promote, …) all become edits of one ReleaseBinding; a generic apply
// becomes one change per document. Nothing here writes.
import { digest } from '../../core/canonical-json.js';
import type { Clock } from '../../core/clock.js';
import { ConflictError, InvalidError, NotFoundError } from '../../core/errors.js';
import { parseDocuments } from '../../platform/documents.js';
import type { ApplyItem } from '../../platform/contracts.js';
import type { ApplyOptions, PlatformService, ResourceLocation } from '../../platform/platform-service.js';
import { restartAnnotation } from '../../platform/reconciler.js';
import { locationOfResource } from '../../platform/resource-location.js';
import {
  apiVersion,
  kindInfo,
  resolveKind,
  type EnvironmentSpec,
  type Kind,
  type ReleaseBindingSpec,
  type ReleaseSpec,
  type Resource,
} from '../../platform/resource-kinds.js';
import type { Action } from '../authz/actions.js';
import type { ReplicaChange } from '../guardrails/guardrails.js';
import type { ResourceChange, ResourceDocument, ResourceVersion } from './contracts.js';
import { toDocument, type ChangePlan, type CreatedBinding } from './proposal-service.js';

/** Annotation on a component (copied to its releases) that forbids rolling back from such a release. */
export const rollbackAnnotation = 'opspilot.dev/rollback';

export interface BindingPatch {
  readonly release?: string | undefined;
  readonly replicas?: number | undefined;
  readonly resources?: ReleaseBindingSpec['resources'] | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly state?: 'Active' | 'Undeploy' | undefined;
}

/** Which resources a caller may see: the only names errors and hints list. */
export type Visibility = (where: ResourceLocation) => boolean;

export class ChangePlanner {
  constructor(
    private readonly platform: PlatformService,
    private readonly clock: Clock,
    private readonly visible: Visibility = () => true,
  ) {}

  /** The same planner, naming in its errors and hints only what `visible` allows. */
  scopedTo(visible: Visibility): ChangePlanner {
    return new ChangePlanner(this.platform, this.clock, visible);
  }

  async scale(
    namespace: string,
    component: string,
    environment: string,
    replicas: number,
  ): Promise<ChangePlan> {
    return this.bindingPlan(
      'component.scale',
      namespace,
      component,
      environment,
      { replicas },
      (before) => `scale ${component} in ${environment} from ${before.replicas} to ${replicas} replicas`,
    );
  }

  async restart(namespace: string, component: string, environment: string): Promise<ChangePlan> {
    const binding = await this.binding(namespace, component, environment);
    const before = toDocument(binding);
    const after: ResourceDocument = {
      ...before,
      metadata: {
        ...before.metadata,
        annotations: { ...before.metadata.annotations, [restartAnnotation]: this.clock.now().toISOString() },
      },
    };
    return this.plan(
      'component.restart',
      `restart ${component} in ${environment} (one replica at a time)`,
      binding,
      before,
      after,
      {
        namespace,
        component,
        environment,
      },
    );
  }

  /** Pins the binding to `release`, or to the release before the one it runs. */
  async rollback(
    namespace: string,
    component: string,
    environment: string,
    release?: string,
  ): Promise<ChangePlan> {
    const binding = await this.binding(namespace, component, environment);
    const spec = binding.spec as ReleaseBindingSpec;
    const status = await this.platform.componentStatus(namespace, component);
    const current =
      status.environments.find((item) => item.environment === environment)?.release ??
      spec.release ??
      status.latestRelease;
    const releases = (await this.platform.list('Release', { namespace, component })).sort(
      (a, b) => (b.spec as ReleaseSpec).revision - (a.spec as ReleaseSpec).revision,
    );
    const releaseNames = releases
      .filter((item) => this.visible(locationOfResource(item)))
      .map((item) => item.metadata.name)
      .join(', ');
    if (current !== null) {
      const running = releases.find((item) => item.metadata.name === current);
      if (running?.metadata.annotations[rollbackAnnotation] === 'unsafe') {
        throw new ConflictError(
          `release ${current} is marked unsafe to roll back (annotation ${rollbackAnnotation}: unsafe)`,
          {
            hint: 'Roll forward with a fixed release instead, or remove the annotation after checking the data migration.',
          },
        );
      }
    }
    let targetRelease = release;
    if (targetRelease === undefined) {
      const currentRevision = releases.find((item) => item.metadata.name === current)?.spec as
        ReleaseSpec | undefined;
      const previous = releases.find(
        (item) => (item.spec as ReleaseSpec).revision < (currentRevision?.revision ?? Infinity),
      );
      if (previous === undefined) {
        throw new ConflictError(
          `${component} has no release before ${current ?? 'its current one'} to roll back to`,
          {
            hint: `Releases: ${releaseNames || 'none'}.`,
          },
        );
      }
      targetRelease = previous.metadata.name;
    } else if (!releases.some((item) => item.metadata.name === targetRelease)) {
      throw new NotFoundError(`release ${targetRelease} of ${component} does not exist`, {
        hint: `Releases: ${releaseNames || 'none'}.`,
      });
    }
    const target = targetRelease;
    const plan = await this.bindingPlan(
      'component.rollback',
      namespace,
      component,
      environment,
      { release: target },
      () => `roll back ${component} in ${environment} from ${current ?? 'its release'} to ${target}`,
    );
    // A binding that follows the latest release keeps its document when another release rolls out: the release
    // it runs is what the rollback is from.
    const runs = spec.release ?? status.latestRelease;
    return runs === null ? plan : { ...plan, preconditions: [{ component, environment, runsRelease: runs }] };
  }

  async updateBinding(
    namespace: string,
    component: string,
    environment: string,
    patch: BindingPatch,
  ): Promise<ChangePlan> {
    const fields = Object.entries(patch)
      .filter(([, value]) => value !== undefined)
      .map(([key]) => key);
    if (fields.length === 0) {
      throw new InvalidError('nothing to change: give release, replicas, resources, env or state');
    }
    return this.bindingPlan(
      'component.update',
      namespace,
      component,
      environment,
      patch,
      () => `update ${fields.join(', ')} of ${component} in ${environment}`,
    );
  }

  async patchResources(
    namespace: string,
    component: string,
    environment: string,
    resources: NonNullable<ReleaseBindingSpec['resources']>,
  ): Promise<ChangePlan> {
    const binding = await this.binding(namespace, component, environment);
    const spec = binding.spec as ReleaseBindingSpec;
    const merged = {
      requests: { ...spec.resources?.requests, ...resources.requests },
      limits: { ...spec.resources?.limits, ...resources.limits },
    };
    return this.bindingPlan(
      'component.update',
      namespace,
      component,
      environment,
      { resources: merged },
      () => `set resources of ${component} in ${environment}`,
    );
  }

  /** Pins `to` to the release that runs in `from`. */
  async promote(namespace: string, component: string, from: string, to: string): Promise<ChangePlan> {
    const status = await this.platform.componentStatus(namespace, component);
    const source = status.environments.find((item) => item.environment === from);
    if (source?.release === null || source?.release === undefined) {
      const project = await this.projectOf(namespace, component);
      throw new ConflictError(`${component} runs no release in ${from}`, {
        hint: `Environments with a release: ${
          status.environments
            .filter(
              (item) =>
                item.release !== null &&
                this.visible({ namespace, project, component, environment: item.environment }),
            )
            .map((item) => item.environment)
            .join(', ') || 'none you may see'
        }.`,
      });
    }
    const release = source.release;
    return this.bindingPlan(
      'release.promote',
      namespace,
      component,
      to,
      { release },
      () => `promote ${release} of ${component} from ${from} to ${to}`,
    );
  }

  /** A generic apply: one change per document, before read from the store. */
  async apply(
    raw: readonly unknown[],
    options: ApplyOptions,
  ): Promise<
    ChangePlan & {
      readonly kinds: Kind[];
      readonly unchanged: ApplyItem[];
      /** Every document as a change (also the unchanged ones): each is authorized. */
      readonly documents: ResourceChange[];
    }
  > {
    if (raw.length === 0) throw new InvalidError('nothing to apply: no documents were given');
    const parsed = parseDocuments(raw, options);
    if (parsed.issues.length > 0) {
      // The platform reports every issue with its document and path; let it phrase the error.
      await this.platform.apply(raw, { ...options, dryRun: true, visible: this.visible });
    }
    const changes: ResourceChange[] = [];
    const replicaChanges: ReplicaChange[] = [];
    const createdBindings: CreatedBinding[] = [];
    const environments = new Map<string, boolean>();
    const components = new Set<string | undefined>();
    for (const document of parsed.documents) {
      const current = await this.find(document.kind, document.namespace, document.name);
      const before = current === undefined ? null : toDocument(current);
      if (document.namespace !== '') {
        const named = (document.spec as { component?: unknown } | undefined)?.component;
        components.add(
          document.kind === 'Component' ? document.name : typeof named === 'string' ? named : undefined,
        );
      }
      const after: ResourceDocument = {
        apiVersion,
        kind: document.kind,
        metadata: {
          name: document.name,
          ...(document.namespace === '' ? {} : { namespace: document.namespace }),
          // Only components carry a project in their metadata (a binding's comes from its component).
          ...(document.project === undefined || document.kind !== 'Component'
            ? {}
            : { project: document.project }),
          labels: { ...document.labels },
          annotations: { ...document.annotations },
        },
        spec: document.spec,
      };
      changes.push({
        kind: document.kind,
        namespace: document.namespace,
        name: document.name,
        before,
        ...(current === undefined ? { beforeVersion: null } : { beforeVersion: versionOf(current) }),
        after,
        document: document.index,
      });
      if (document.kind === 'ReleaseBinding') {
        const spec = document.spec as ReleaseBindingSpec;
        environments.set(spec.environment, await this.isProduction(spec.environment));
        const previous = before?.spec as ReleaseBindingSpec | undefined;
        // Judged where it is as well as where it goes (the stricter wins): moving a production binding to dev
        // is a production change, whatever execution would later say about it.
        if (previous !== undefined && previous.environment !== spec.environment)
          environments.set(previous.environment, await this.isProduction(previous.environment));
        // Creating a binding is a deploy, not a scaling action, unless one was deleted within the cooldown:
        // the proposal service judges such a create as scaling from the replicas it was deleted with.
        if (previous === undefined)
          createdBindings.push({
            component: spec.component,
            environment: spec.environment,
            replicas: spec.state === 'Undeploy' ? 0 : spec.replicas,
          });
        else
          replicaChanges.push({
            component: spec.component,
            environment: spec.environment,
            before: previous.state === 'Undeploy' ? 0 : previous.replicas,
            after: spec.state === 'Undeploy' ? 0 : spec.replicas,
          });
      }
      if (document.kind === 'Component') {
        // A new component spec becomes a release that every binding without a pinned release rolls out.
        const bindings = await this.platform.list('ReleaseBinding', {
          namespace: document.namespace,
          component: document.name,
        });
        for (const binding of bindings) {
          const spec = binding.spec as ReleaseBindingSpec;
          if (spec.release === undefined)
            environments.set(spec.environment, await this.isProduction(spec.environment));
        }
      }
    }
    const production = [...environments].find(([, isProduction]) => isProduction)?.[0];
    // Approval, guardrails and audit are judged per namespace: one apply may touch one namespace (plus
    // cluster-wide documents such as the Namespace itself).
    const namespaces = [
      ...new Set(parsed.documents.map((document) => document.namespace).filter((name) => name !== '')),
    ];
    if (namespaces.length > 1) {
      throw new InvalidError(
        `one apply may change one namespace; these documents name ${namespaces.join(', ')}`,
        [],
        {
          hint: 'Apply the documents of each namespace separately (opspilot apply -n NS -f …).',
        },
      );
    }
    const kinds = [...new Set(parsed.documents.map((document) => document.kind))];
    const environment = production ?? (environments.size === 1 ? [...environments.keys()][0] : undefined);
    // Documents of one component make a change of that component (it is what hints of its execution may name).
    const [component] = components.size === 1 ? [...components] : [undefined];
    return {
      action: 'resources.apply',
      title: `apply ${parsed.documents.length} document(s): ${parsed.documents
        .map((document) => `${document.kind}/${document.name}`)
        .slice(0, 5)
        .join(', ')}${parsed.documents.length > 5 ? ', …' : ''}`,
      target: {
        namespace: namespaces[0] ?? '',
        ...(component === undefined ? {} : { component }),
        ...(environment === undefined ? {} : { environment }),
        production: production !== undefined,
      },
      changes: changes.filter((change) => !sameSpec(change)),
      documents: changes,
      unchanged: parsed.documents
        .filter((_, index) => changes[index] !== undefined && sameSpec(changes[index]))
        .map((document) => ({
          kind: document.kind,
          namespace: document.namespace === '' ? null : document.namespace,
          name: document.name,
          action: 'unchanged' as const,
          document: document.index,
        })),
      replicaChanges: replicaChanges.filter((change) => change.before !== change.after),
      createdBindings,
      argsDigest: digest(raw),
      kinds,
    };
  }

  async delete(kind: Kind, namespace: string, name: string): Promise<ChangePlan> {
    const current = await this.find(kind, namespace, name);
    if (current === undefined) {
      throw new NotFoundError(`${kind} ${namespace === '' ? name : `${namespace}/${name}`} does not exist`, {
        hint: `opspilot get ${kindInfo[kind].plural}${namespace === '' ? '' : ` -n ${namespace}`} lists what exists.`,
      });
    }
    const spec = current.spec as Partial<ReleaseBindingSpec>;
    // Deleting a component deletes its bindings: it touches every environment it runs in.
    const reach =
      kind === 'Component'
        ? await this.componentReach(namespace, name, { pinnedToo: true })
        : { environment: kind === 'ReleaseBinding' ? spec.environment : undefined, production: false };
    const environment = reach.environment;
    const production =
      reach.production || (environment !== undefined && (await this.isProduction(environment)));
    // A component's bindings go with it: the plan names them (before the component), so that execution checks
    // them too and guardrails remember their replicas like those of any deleted binding.
    const bindings =
      kind === 'Component' ? await this.platform.list('ReleaseBinding', { namespace, component: name }) : [];
    return {
      action: 'resources.delete',
      title: `delete ${kind} ${name}${namespace === '' ? '' : ` in ${namespace}`}`,
      target: {
        namespace: kindInfo[kind].scope === 'cluster' ? '' : namespace,
        ...(kind === 'Component'
          ? { component: name }
          : typeof spec.component === 'string'
            ? { component: spec.component }
            : {}),
        ...(environment === undefined ? {} : { environment }),
        production,
      },
      changes: [
        ...bindings.map((binding) => ({
          kind: 'ReleaseBinding',
          namespace,
          name: binding.metadata.name,
          before: toDocument(binding),
          beforeVersion: versionOf(binding),
          after: null,
        })),
        {
          kind,
          namespace: kindInfo[kind].scope === 'cluster' ? '' : namespace,
          name,
          before: toDocument(current),
          beforeVersion: versionOf(current),
          after: null,
        },
      ],
      // Deleting is not scaling: production deletes need approval like every production write.
      replicaChanges: [],
      argsDigest: digest({ kind, namespace, name }),
    };
  }

  /** A new WorkflowRun (a build); its name is fixed here, so applying the proposal twice creates one run. */
  async createWorkflowRun(
    namespace: string,
    spec: {
      component?: string | undefined;
      workflow?: string | undefined;
      parameters?: Readonly<Record<string, string>> | undefined;
    },
    suffix: string,
  ): Promise<ChangePlan> {
    if (spec.component === undefined && spec.workflow === undefined) {
      throw new InvalidError('name a component (to run its build) or a workflow, or both');
    }
    if (spec.component !== undefined)
      await this.find('Component', namespace, spec.component).then((found) => {
        if (found === undefined)
          throw new NotFoundError(
            `component ${spec.component ?? ''} does not exist in namespace ${namespace}`,
          );
      });
    const name = `${spec.component ?? spec.workflow ?? 'run'}-${suffix}`;
    // A successful component build becomes the release every binding without a pinned release rolls out.
    const reach =
      spec.component === undefined
        ? { environment: undefined, production: false }
        : await this.componentReach(namespace, spec.component, { pinnedToo: false });
    const after: ResourceDocument = {
      apiVersion,
      kind: 'WorkflowRun',
      metadata: { name, namespace, labels: {}, annotations: {} },
      spec: {
        ...(spec.workflow === undefined ? {} : { workflow: spec.workflow }),
        ...(spec.component === undefined ? {} : { component: spec.component }),
        parameters: { ...spec.parameters },
      },
    };
    return {
      action: 'workflow.run',
      title: `run ${spec.workflow === undefined ? `the build of ${spec.component ?? ''}` : `workflow ${spec.workflow}`}${spec.workflow !== undefined && spec.component !== undefined ? ` for ${spec.component}` : ''} as ${name}`,
      target: {
        namespace,
        ...(spec.component === undefined ? {} : { component: spec.component }),
        ...(reach.environment === undefined ? {} : { environment: reach.environment }),
        production: reach.production,
      },
      changes: [{ kind: 'WorkflowRun', namespace, name, before: null, beforeVersion: null, after }],
      replicaChanges: [],
      argsDigest: digest({ namespace, spec }),
    };
  }

  /**
   * The environments a change of a component reaches through its bindings (all of them, or only those that
   * follow the latest release): the production one when there is one, so that authorization and guardrails
   * judge the change where it lands.
   */
  async componentReach(
    namespace: string,
    component: string,
    options: { pinnedToo: boolean },
  ): Promise<{ environment: string | undefined; production: boolean }> {
    const bindings = await this.platform.list('ReleaseBinding', { namespace, component });
    let first: string | undefined;
    for (const binding of bindings) {
      const spec = binding.spec as ReleaseBindingSpec;
      if (!options.pinnedToo && spec.release !== undefined) continue;
      first ??= spec.environment;
      if (await this.isProduction(spec.environment))
        return { environment: spec.environment, production: true };
    }
    return { environment: first, production: false };
  }

  async isProduction(environment: string): Promise<boolean> {
    const resource = await this.find('Environment', '', environment);
    return (resource?.spec as EnvironmentSpec | undefined)?.production === true;
  }

  private async bindingPlan(
    action: Action,
    namespace: string,
    component: string,
    environment: string,
    patch: BindingPatch,
    title: (before: ReleaseBindingSpec) => string,
  ): Promise<ChangePlan> {
    const binding = await this.binding(namespace, component, environment);
    const before = toDocument(binding);
    const spec = binding.spec as ReleaseBindingSpec;
    const nextSpec: ReleaseBindingSpec = {
      ...spec,
      ...(patch.release === undefined ? {} : { release: patch.release }),
      ...(patch.replicas === undefined ? {} : { replicas: patch.replicas }),
      ...(patch.resources === undefined ? {} : { resources: patch.resources }),
      ...(patch.env === undefined ? {} : { env: { ...patch.env } }),
      ...(patch.state === undefined ? {} : { state: patch.state }),
    };
    return this.plan(
      action,
      title(spec),
      binding,
      before,
      { ...before, spec: nextSpec },
      { namespace, component, environment },
    );
  }

  private async plan(
    action: Action,
    title: string,
    binding: Resource,
    before: ResourceDocument,
    after: ResourceDocument,
    where: { namespace: string; component: string; environment: string },
  ): Promise<ChangePlan> {
    const beforeSpec = before.spec as ReleaseBindingSpec;
    const afterSpec = after.spec as ReleaseBindingSpec;
    const replicas = (spec: ReleaseBindingSpec): number => (spec.state === 'Undeploy' ? 0 : spec.replicas);
    const change: ResourceChange = {
      kind: 'ReleaseBinding',
      namespace: where.namespace,
      name: binding.metadata.name,
      before,
      beforeVersion: versionOf(binding),
      after,
    };
    return {
      action,
      title,
      target: {
        namespace: where.namespace,
        ...(binding.metadata.project === undefined ? {} : { project: binding.metadata.project }),
        component: where.component,
        environment: where.environment,
        production: await this.isProduction(where.environment),
      },
      changes: sameSpec(change) ? [] : [change],
      replicaChanges:
        replicas(beforeSpec) === replicas(afterSpec)
          ? []
          : [
              {
                component: where.component,
                environment: where.environment,
                before: replicas(beforeSpec),
                after: replicas(afterSpec),
              },
            ],
      argsDigest: digest({ action, ...where, after: after.spec, annotations: after.metadata.annotations }),
    };
  }

  /** The binding of a component in an environment, with errors that list what exists. */
  async binding(namespace: string, component: string, environment: string): Promise<Resource> {
    const components = await this.platform.list('Component', { namespace });
    if (!components.some((item) => item.metadata.name === component)) {
      const visible = components.filter((item) => this.visible(locationOfResource(item)));
      throw new NotFoundError(`component ${component} does not exist in namespace ${namespace}`, {
        hint: `Components in ${namespace}: ${visible.map((item) => item.metadata.name).join(', ') || 'none you may see'}.`,
      });
    }
    const bindings = await this.platform.list('ReleaseBinding', { namespace, component });
    const binding = bindings.find((item) => (item.spec as ReleaseBindingSpec).environment === environment);
    if (binding === undefined) {
      const visible = bindings.filter((item) => this.visible(locationOfResource(item)));
      throw new NotFoundError(`component ${component} is not bound to environment ${environment}`, {
        hint: `It is bound to: ${visible.map((item) => (item.spec as ReleaseBindingSpec).environment).join(', ') || 'no environment you may see'}.`,
      });
    }
    return binding;
  }

  private async projectOf(namespace: string, component: string): Promise<string | undefined> {
    return (await this.find('Component', namespace, component))?.metadata.project;
  }

  /**
   * The version (`uid@generation`, or `absent`) of each resource a plan changes, as it is now: a confirmation
   * binds to them, so a resource changed and changed back is not the one that was shown.
   */
  async versions(plan: ChangePlan): Promise<string[]> {
    return Promise.all(
      plan.changes.map(async (change) => {
        const kind = resolveKind(change.kind);
        const current = kind === undefined ? undefined : await this.find(kind, change.namespace, change.name);
        return current === undefined ? 'absent' : `${current.metadata.uid}@${current.metadata.generation}`;
      }),
    );
  }

  private async find(kind: Kind, namespace: string, name: string): Promise<Resource | undefined> {
    try {
      return await this.platform.get(kind, namespace, name);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }
}

/** The version a change was judged on: execution applies it only while the resource is still at it. */
function versionOf(resource: Resource): ResourceVersion {
  return { uid: resource.metadata.uid, generation: resource.metadata.generation };
}

function sameSpec(change: ResourceChange): boolean {
  if (change.before === null || change.after === null) return false;
  return (
    digest({
      spec: change.before.spec,
      labels: change.before.metadata.labels ?? {},
      annotations: change.before.metadata.annotations ?? {},
    }) ===
    digest({
      spec: change.after.spec,
      labels: change.after.metadata.labels ?? {},
      annotations: change.after.metadata.annotations ?? {},
    })
  );
}
