// Releases: immutable snapshots of a component's spec, numbered per component (`<component>-<n>`).
import type { IdGenerator } from '../core/ids.js';
import type { ResourceRecord, StateRepositories } from '../state/ports.js';
import type { ComponentSpec, ReleaseSpec } from './resource-kinds.js';
import type { StoredComponentStatus } from './status.js';

export const initialComponentStatus: StoredComponentStatus = { latestRelease: null, latestRevision: 0 };

/** Creates the next release of `component` from its current spec and makes it the latest one. */
export async function createRelease(
  tx: StateRepositories,
  component: ResourceRecord,
  options: { now: string; ids: IdGenerator; workflowRun: string | undefined },
): Promise<ResourceRecord> {
  // Lock the component and read its counter afresh: a build and an apply may release the same component at once.
  const current = (await tx.resources.get(component, { forUpdate: true })) ?? component;
  const stored = (current.status as StoredComponentStatus | null) ?? initialComponentStatus;
  const revision = stored.latestRevision + 1;
  const name = `${component.name}-${revision}`;
  const spec: ReleaseSpec = {
    component: component.name,
    revision,
    template: current.spec as ComponentSpec,
    source: options.workflowRun === undefined ? {} : { workflowRun: options.workflowRun },
  };
  const release: ResourceRecord = {
    uid: options.ids.uid(),
    kind: 'Release',
    namespace: component.namespace,
    name,
    project: component.project,
    component: component.name,
    environment: null,
    labels: {},
    // The component's annotations at release time travel with the release (e.g. opspilot.dev/rollback: unsafe).
    annotations: { ...current.annotations },
    spec,
    status: null,
    generation: 1,
    createdAt: options.now,
    updatedAt: options.now,
  };
  await tx.resources.insert(release);
  await tx.resources.setStatus(
    component,
    { latestRelease: name, latestRevision: revision } satisfies StoredComponentStatus,
    options.now,
  );
  await tx.events.record({
    namespace: component.namespace,
    objectKind: 'Component',
    objectName: component.name,
    project: component.project,
    component: component.name,
    type: 'Normal',
    reason: 'ReleaseCreated',
    message:
      options.workflowRun === undefined
        ? `Created release ${name} from the component's spec`
        : `Created release ${name} from workflow run ${options.workflowRun}`,
    timestamp: options.now,
  });
  return release;
}
