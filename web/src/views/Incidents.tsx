// Alerts grouped into incidents (by alert group), each with its timeline and its root-cause report.
import { get, type AlertView, type Listed, type RcaReportView } from '../api.js';
import { ago, Badge, Problem, severityTone } from '../components/Bits.js';
import { useLoad, useSession } from '../hooks.js';

export function Incidents() {
  const { namespace } = useSession();
  const alerts = useLoad(() => get<Listed<AlertView>>('/api/v1/alerts', { namespace }), [namespace]);
  const reports = useLoad(
    () => get<Listed<RcaReportView>>('/api/v1/rca/reports', { namespace }),
    [namespace],
  );
  const groups = new Map<string, AlertView[]>();
  for (const alert of alerts.data?.items ?? [])
    groups.set(alert.groupKey, [...(groups.get(alert.groupKey) ?? []), alert]);
  const incidents = [...groups.entries()]
    .map(([key, items]) => ({
      key,
      items: items.sort((a, b) => a.startedAt.localeCompare(b.startedAt)),
      firing: items.some((item) => item.state === 'firing'),
      started: items.map((item) => item.startedAt).sort()[0] ?? '',
    }))
    .sort((a, b) => Number(b.firing) - Number(a.firing) || b.started.localeCompare(a.started));
  return (
    <>
      <h1>Incidents and alerts</h1>
      <Problem error={alerts.error ?? reports.error} />
      {incidents.length === 0 && <p className="muted">No alerts in {namespace}.</p>}
      {incidents.map((incident) => {
        const report = (reports.data?.items ?? []).find((item) => item.groupKey === incident.key);
        return (
          <section key={incident.key} className="incident" aria-label={`incident ${incident.key}`}>
            <h2>
              <Badge tone={incident.firing ? 'bad' : 'ok'}>{incident.firing ? 'open' : 'resolved'}</Badge>{' '}
              {incident.items[0]?.rule ?? incident.key}{' '}
              <span className="muted">since {ago(incident.started)}</span>
            </h2>
            <ol className="timeline">
              {incident.items.map((alert) => (
                <li key={alert.fingerprint}>
                  <Badge tone={severityTone(alert.severity)}>{alert.severity}</Badge> {alert.rule}{' '}
                  {alert.component === null ? '' : `on ${alert.component}`} — {alert.summary}{' '}
                  <span className="muted">
                    {alert.state}, fired {ago(alert.firedAt)}
                    {alert.resolvedAt === null ? '' : `, resolved ${ago(alert.resolvedAt)}`}
                  </span>
                </li>
              ))}
            </ol>
            {report === undefined ? (
              <p className="muted">No root-cause report for this incident.</p>
            ) : (
              <p>
                Report: <a href={`#/reports/${report.id}`}>{report.id}</a> ({report.status})
                {report.rootCauses[0] === undefined ? '' : ` — most likely ${report.rootCauses[0].service}`}
              </p>
            )}
          </section>
        );
      })}
    </>
  );
}
