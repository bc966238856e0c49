// Every REST route and the one action it needs. Routes are registered with a RouteId, so a route missing
// from this table does not compile; `public` routes need no token (health, metadata, the token endpoint).
import type { Action } from '../governance/authz/actions.js';

export const routeActions = {
  'GET /healthz': 'public',
  'GET /api/v1/openapi.json': 'public',
  'GET /.well-known/jwks.json': 'public',
  'GET /.well-known/oauth-protected-resource': 'public',
  'GET /.well-known/oauth-protected-resource/mcp/control-plane': 'public',
  'GET /.well-known/oauth-protected-resource/mcp/observability': 'public',
  'GET /.well-known/oauth-authorization-server': 'public',
  'POST /oauth/token': 'public',
  'GET /api/v1/auth/config': 'public',
  'GET /': 'public',
  'GET /assets/*': 'public',
  'GET /api/v1/auth/whoami': 'platform.read',
  'GET /api/v1/stream': 'platform.read',
  'POST /api/v1/apply': 'resources.apply',
  'GET /api/v1/{kind}': 'platform.read',
  'GET /api/v1/namespaces/:namespace/{kind}': 'platform.read',
  'GET /api/v1/{kind}/:name': 'platform.read',
  'PUT /api/v1/{kind}/:name': 'resources.apply',
  'DELETE /api/v1/{kind}/:name': 'resources.delete',
  'GET /api/v1/namespaces/:namespace/components/:name/status': 'platform.read',
  'GET /api/v1/namespaces/:namespace/components/:name/logs': 'platform.read',
  'GET /api/v1/namespaces/:namespace/workflowruns/:name/logs': 'platform.read',
  'GET /api/v1/namespaces/:namespace/workflowruns/:name/compare': 'platform.read',
  'POST /api/v1/namespaces/:namespace/components/:name/scale': 'component.scale',
  'POST /api/v1/namespaces/:namespace/components/:name/restart': 'component.restart',
  'POST /api/v1/namespaces/:namespace/components/:name/rollback': 'component.rollback',
  'POST /api/v1/namespaces/:namespace/components/:name/promote': 'release.promote',
  'GET /api/v1/nodes': 'platform.read',
  'GET /api/v1/rca/reports': 'alerts.read',
  'GET /api/v1/rca/reports/:id': 'alerts.read',
  'POST /api/v1/rca/reports': 'rca.run',
  'POST /api/v1/rca/reports/:id/chat': 'alerts.read',
  'GET /api/v1/llm/usage': 'alerts.read',
  'GET /api/v1/demo/faults': 'platform.read',
  'POST /api/v1/demo/faults/:name': 'platform.manage',
  'POST /api/v1/demo/heal': 'platform.manage',
  'GET /api/v1/events': 'platform.read',
  'GET /api/v1/namespaces/:namespace/events': 'platform.read',
  'GET /api/v1/telemetry/receiver': 'telemetry.read',
  'GET /api/v1/telemetry/logs': 'telemetry.read',
  'GET /api/v1/telemetry/errors': 'telemetry.read',
  'GET /api/v1/telemetry/metrics': 'telemetry.read',
  'GET /api/v1/telemetry/metric-names': 'telemetry.read',
  'GET /api/v1/telemetry/traces': 'telemetry.read',
  'GET /api/v1/telemetry/traces/:traceId': 'telemetry.read',
  'GET /api/v1/telemetry/dependencies': 'telemetry.read',
  'GET /api/v1/telemetry/resource-usage': 'telemetry.read',
  'GET /api/v1/alerts': 'alerts.read',
  'GET /api/v1/alerts/history': 'alerts.read',
  'GET /api/v1/slo-status': 'telemetry.read',
  'POST /api/v1/alerts/alertmanager': 'alerts.ingest',
  'GET /api/v1/proposals': 'proposals.read',
  'GET /api/v1/proposals/:id': 'proposals.read',
  'POST /api/v1/proposals/:id/approve': 'proposal.approve',
  'POST /api/v1/proposals/:id/reject': 'proposal.approve',
  'GET /api/v1/audit': 'audit.read',
  'GET /api/v1/audit/verify': 'audit.read',
  'POST /mcp/control-plane': 'platform.read',
  'GET /mcp/control-plane': 'platform.read',
  'DELETE /mcp/control-plane': 'platform.read',
  'POST /mcp/observability': 'telemetry.read',
  'GET /mcp/observability': 'telemetry.read',
  'DELETE /mcp/observability': 'telemetry.read',
} as const satisfies Record<string, Action | 'public'>;

export type RouteId = keyof typeof routeActions;

/** Route config carrying the route's id and action, read by the authentication hook. */
export function route(id: RouteId): { config: { routeId: RouteId; action: Action | 'public' } } {
  return { config: { routeId: id, action: routeActions[id] } };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    routeId?: RouteId;
    action?: Action | 'public';
  }
}
