// Live status of components and bindings: the desired state from the store joined with what the runtime reports.
import type { WorkloadStatus } from '../runtime/ports.js';
import type { ReleaseBindingSpec } from './resource-kinds.js';

import type { EnvironmentStatus } from './contracts.js';

/** What the component resource persists about itself. */
export interface StoredComponentStatus {
  readonly latestRelease: string | null;
  readonly latestRevision: number;
}

export interface BindingFacts {
  readonly name: string;
  readonly spec: ReleaseBindingSpec;
  /** The release the binding should run, or null when there is none. */
  readonly targetRelease: string | null;
  /** Whether that release exists. */
  readonly releaseExists: boolean;
}

export function environmentStatus(
  binding: BindingFacts,
  runtime: WorkloadStatus | undefined,
): EnvironmentStatus {
  const base = {
    environment: binding.spec.environment,
    binding: binding.name,
    release: binding.targetRelease,
    state: binding.spec.state,
  };
  if (binding.spec.state === 'Undeploy') {
    return {
      ...base,
      desiredReplicas: 0,
      readyReplicas: 0,
      updatedReplicas: 0,
      restarts: 0,
      endpoint: null,
      phase: 'Undeployed',
      message: runtime === undefined ? null : 'stopping replicas',
      replicas: [...(runtime?.replicas ?? [])],
    };
  }
  if (binding.targetRelease === null || !binding.releaseExists) {
    return {
      ...base,
      desiredReplicas: binding.spec.replicas,
      readyReplicas: runtime?.readyReplicas ?? 0,
      updatedReplicas: 0,
      restarts: runtime?.restarts ?? 0,
      endpoint: runtime?.endpoint ?? null,
      phase: 'Degraded',
      message:
        binding.targetRelease === null
          ? 'the component has no release yet'
          : `release ${binding.targetRelease} does not exist`,
      replicas: [...(runtime?.replicas ?? [])],
    };
  }
  if (runtime === undefined) {
    return {
      ...base,
      desiredReplicas: binding.spec.replicas,
      readyReplicas: 0,
      updatedReplicas: 0,
      restarts: 0,
      endpoint: null,
      phase: 'Progressing',
      message: 'waiting for the runtime to start replicas',
      replicas: [],
    };
  }
  return {
    ...base,
    release: runtime.revision,
    desiredReplicas: runtime.desiredReplicas,
    readyReplicas: runtime.readyReplicas,
    updatedReplicas: runtime.updatedReplicas,
    restarts: runtime.restarts,
    endpoint: runtime.endpoint,
    phase: runtime.phase,
    message: runtime.message,
    replicas: [...runtime.replicas],
  };
}
