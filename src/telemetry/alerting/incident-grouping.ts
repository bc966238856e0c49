// Which incident a new alert belongs to: an incident is one fault, so an alert joins an open incident only when
// it concerns the same services (or a service one call away) and began within minutes of one of its alerts.
// Pure: the caller supplies the open alerts and the alerted service's neighbours in the dependency graph.

/**
 * Alerts of one fault begin within this long of each other. A fault reaches its callers' error and latency
 * rules within one or two evaluations (15 s each), plus a rule's `for:` (the demo's are 0 s to 1 min) and its
 * window filling with bad data (1 min); three minutes covers that with room and no more, so that the next fault
 * on the same services, or a long-burning SLO alert that began earlier, is not taken for the same incident.
 */
export const incidentJoinWindowMs = 3 * 60_000;

/** What grouping reads of an alert. */
export interface GroupableAlert {
  readonly fingerprint: string;
  readonly rule: string;
  readonly namespace: string;
  readonly component: string | null;
  readonly environment: string | null;
  readonly startedAt: string;
}

/** An alert that is pending or firing, with the incident it belongs to. */
export interface OpenAlert extends GroupableAlert {
  readonly groupKey: string;
}

export interface IncidentDecision {
  readonly groupKey: string;
  /** The open alert it joined; undefined when the alert opens a new incident. */
  readonly joined: OpenAlert | undefined;
  /** Why, in a sentence (for the alert's history). */
  readonly reason: string;
}

/**
 * The incident of `alert`: the incident of the open alert nearest in time that concerns a related service
 * (the same component, or one its component calls or is called by) and began within `joinWindowMs` of it;
 * otherwise a new incident keyed by the alert's namespace, environment, start and component.
 */
export function chooseIncident(
  alert: GroupableAlert,
  open: readonly OpenAlert[],
  neighbours: ReadonlySet<string>,
  joinWindowMs: number = incidentJoinWindowMs,
): IncidentDecision {
  const started = Date.parse(alert.startedAt);
  let best: { member: OpenAlert; apart: number } | undefined;
  for (const member of open) {
    if (member.fingerprint === alert.fingerprint) continue;
    if (member.namespace !== alert.namespace || member.environment !== alert.environment) continue;
    if (!related(alert.component, member.component, neighbours)) continue;
    const apart = Math.abs(Date.parse(member.startedAt) - started);
    if (!(apart <= joinWindowMs)) continue;
    if (best === undefined || apart < best.apart) best = { member, apart };
  }
  if (best !== undefined) {
    const { member, apart } = best;
    const how =
      member.component === alert.component ? 'the same service' : `${member.component} is one call away`;
    return {
      groupKey: member.groupKey,
      joined: member,
      reason: `joined incident ${member.groupKey}: ${how}, and ${member.rule} began ${Math.round(apart / 1000)} s apart`,
    };
  }
  const groupKey = incidentKeyOf(alert);
  return { groupKey, joined: undefined, reason: `opened incident ${groupKey}` };
}

/** `shop/prod/20261121-100512-frontend`: where, when it began, and what was alerted first. */
export function incidentKeyOf(alert: GroupableAlert): string {
  const stamp = new Date(Date.parse(alert.startedAt))
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replaceAll('-', '')
    .replaceAll(':', '')
    .replace('T', '-');
  const subject = alert.component ?? alert.rule.replace(/^.*\//, '');
  return `${alert.namespace}/${alert.environment ?? '*'}/${stamp}-${subject}`;
}

/** Alerts without a component (namespace-wide Alertmanager alerts) are related to nothing: each is its own. */
function related(component: string | null, other: string | null, neighbours: ReadonlySet<string>): boolean {
  if (component === null || other === null) return false;
  return component === other || neighbours.has(other);
}

/** The services one call away from `service` (callers and callees), from dependency-graph edges. */
export function neighboursOf(
  service: string,
  edges: readonly { readonly from: string; readonly to: string }[],
): Set<string> {
  const out = new Set<string>();
  for (const edge of edges) {
    if (edge.from === service && edge.to !== service) out.add(edge.to);
    if (edge.to === service && edge.from !== service) out.add(edge.from);
  }
  return out;
}
