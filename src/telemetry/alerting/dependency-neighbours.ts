// The neighbours incident grouping asks for: services one call away in the dependency graph from traces.
import type { TelemetryQueryService } from '../query/telemetry-query-service.js';
import type { NeighbourSource } from './alert-service.js';
import { neighboursOf } from './incident-grouping.js';

/** Callers and callees of a component in the last half hour of traces (recent enough to be how it runs now). */
export function dependencyNeighbours(queries: Pick<TelemetryQueryService, 'dependencies'>): NeighbourSource {
  return async (namespace, environment, component) => {
    const graph = await queries.dependencies({
      namespace,
      ...(environment === null ? {} : { environment }),
      period: 'last_30m',
    });
    return neighboursOf(component, graph.edges);
  };
}
