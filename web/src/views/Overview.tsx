// What needs attention now: SLOs and their error budgets, firing alerts, root-cause reports, approvals waiting,
// recent deploys.
import { shownConfidence } from '../../../src/rca/confidence.js';
import {
  get,
  type AlertView,
  type Listed,
  type PlatformEvent,
  type ProposalSummary,
  type RcaReportView,
  type SloStatusView,
} from '../api.js';
import { ago, Badge, Problem, severityTone } from '../components/Bits.js';
import { format } from '../components/Chart.js';
import { useLoad, useSession } from '../hooks.js';

export function Overview() {
  const { namespace } = useSession();
  const alerts = useLoad(
    () => get<Listed<AlertView>>('/api/v1/alerts', { namespace, state: 'firing' }),
    [namespace],
  );
  const reports = useLoad(
    () => get<Listed<RcaReportView>>('/api/v1/rca/reports', { namespace }),
    [namespace],
  );
  const pending = useLoad(
    () => get<Listed<ProposalSummary>>('/api/v1/proposals', { namespace, status: 'pending' }),
    [namespace],
  );
  const slos = useLoad(() => get<Listed<SloStatusView>>('/api/v1/slo-status', { namespace }), [namespace]);
  const deploys = useLoad(
    () => get<Listed<PlatformEvent>>(`/api/v1/namespaces/${namespace}/events`, { limit: '200' }),
    [namespace],
  );
  const recentDeploys = (deploys.data?.items ?? [])
    .filter((event) => ['RolledOut', 'ReleaseCreated', 'BindingChanged', 'Scaled'].includes(event.reason))
    .slice(0, 8);
  const firing = alerts.data?.items ?? [];
  return (
    <>
      <h1>Overview of {namespace}</h1>
      <div className="cards">
        <a className="card" href="#/incidents">
          <span className="figure">{firing.length}</span> firing alerts
        </a>
        <a className="card" href="#/incidents">
          <span className="figure">
            {reports.data?.items.filter((report) => report.status !== 'failed').length ?? '–'}
          </span>{' '}
          RCA reports
        </a>
        <a className="card" href="#/approvals">
          <span className="figure">{pending.data?.items.length ?? '–'}</span> approvals waiting
        </a>
      </div>
      <section aria-labelledby="slos">
        <h2 id="slos">Service level objectives</h2>
        <Problem error={slos.error} />
        {(slos.data?.items ?? []).length === 0 ? (
          <p className="muted">No SLOs in {namespace}.</p>
        ) : (
          <table className="slos">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Objective</th>
                <th scope="col">Now</th>
                <th scope="col">Error budget left</th>
                <th scope="col">Burn rate (1 h)</th>
              </tr>
            </thead>
            <tbody>
              {(slos.data?.items ?? []).map((slo) => {
                const left = slo.errorBudgetRemaining;
                const tone =
                  slo.firing || (left !== null && left < 0)
                    ? 'bad'
                    : left !== null && left < 0.25
                      ? 'warn'
                      : 'ok';
                return (
                  <tr key={slo.name}>
                    <th scope="row">
                      {slo.component}@{slo.environment} <span className="muted">{slo.indicator}</span>
                    </th>
                    <td>
                      {slo.objective}% over {slo.window}
                    </td>
                    <td>{slo.sli === null ? '–' : `${format(slo.sli)}%`}</td>
                    <td>
                      <Badge tone={tone}>{left === null ? 'no traffic' : `${Math.round(left * 100)}%`}</Badge>
                      {slo.firing && <> burning too fast</>}
                    </td>
                    <td>{slo.burnRate1h === null ? '–' : `${format(slo.burnRate1h)}×`}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="firing">
        <h2 id="firing">Firing alerts</h2>
        <Problem error={alerts.error} />
        {firing.length === 0 ? (
          <p className="muted">Nothing is firing.</p>
        ) : (
          <ul className="rows">
            {firing.map((alert) => (
              <li key={alert.fingerprint}>
                <Badge tone={severityTone(alert.severity)}>{alert.severity}</Badge>{' '}
                <strong>{alert.rule}</strong> {alert.component ?? ''}{' '}
                {alert.environment === null ? '' : `in ${alert.environment}`} — {alert.summary}{' '}
                <span className="muted">{ago(alert.firedAt)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="reports">
        <h2 id="reports">Latest root-cause reports</h2>
        <Problem error={reports.error} />
        <ReportList reports={(reports.data?.items ?? []).slice(0, 5)} />
      </section>
      <section aria-labelledby="deploys">
        <h2 id="deploys">Recent changes</h2>
        <Problem error={deploys.error} />
        {recentDeploys.length === 0 ? (
          <p className="muted">No deploys or scaling recently.</p>
        ) : (
          <ul className="rows">
            {recentDeploys.map((event) => (
              <li key={`${event.object.name}-${event.reason}-${event.lastTimestamp}`}>
                <Badge tone="muted">{event.reason}</Badge> {event.component ?? event.object.name}
                {event.environment === null ? '' : `@${event.environment}`}: {event.message}{' '}
                <span className="muted">{ago(event.lastTimestamp)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export function ReportList({ reports }: { reports: readonly RcaReportView[] }) {
  if (reports.length === 0) return <p className="muted">No reports yet.</p>;
  return (
    <ul className="rows">
      {reports.map((report) => {
        const top = report.rootCauses[0];
        return (
          <li key={report.id}>
            <Badge tone={report.status === 'completed' ? 'ok' : report.status === 'failed' ? 'bad' : 'info'}>
              {report.status}
            </Badge>{' '}
            <a href={`#/reports/${report.id}`}>
              {report.alert.rule} on {report.alert.component ?? report.namespace}
            </a>
            {top !== undefined && (
              <>
                {' '}
                → <strong>{top.service}</strong> ({top.kind}, {Math.round(shownConfidence(top) * 100)}%)
              </>
            )}{' '}
            <span className="muted">{ago(report.createdAt)}</span>
          </li>
        );
      })}
    </ul>
  );
}
