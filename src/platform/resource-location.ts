// Where a resource sits (namespace, project, component, environment): what scope checks and visibility judge.
// A Namespace sits at itself, a Project names itself as the project, a Component as the component; other kinds
// take their component from the spec, and a ReleaseBinding its environment.
import type { ResourceLocation } from './platform-service.js';
import type { Resource } from './resource-kinds.js';

export function locationOfResource(resource: Resource): ResourceLocation {
  if (resource.kind === 'Namespace') return { namespace: resource.metadata.name };
  const spec = resource.spec as { component?: unknown; environment?: unknown } | undefined;
  const project = resource.kind === 'Project' ? resource.metadata.name : resource.metadata.project;
  const component =
    resource.kind === 'Component'
      ? resource.metadata.name
      : typeof spec?.component === 'string'
        ? spec.component
        : undefined;
  const environment =
    resource.kind === 'ReleaseBinding' && typeof spec?.environment === 'string'
      ? spec.environment
      : undefined;
  return {
    namespace: resource.metadata.namespace ?? '',
    ...(project === undefined ? {} : { project }),
    ...(component === undefined ? {} : { component }),
    ...(environment === undefined ? {} : { environment }),
  };
}
