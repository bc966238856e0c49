// Whether a finished report already answers a new alert of its incident, so the agent may point at it instead of
// investigating again. Pure. New evidence always wins: a report that found nothing, one made before the alert
// began, or one that does not account for the alerted service is never reused.
import type { RcaReportView } from '../rca/contracts.js';
import type { AlertView } from '../telemetry/alerting/contracts.js';

export interface ReuseSettings {
  /** A report older than this is stale whatever it found. */
  readonly maxAgeMs: number;
  /** A report made this long before the alert began still saw its onset (rules look back about a minute). */
  readonly onsetLeadMs: number;
}

export const defaultReuseSettings: ReuseSettings = { maxAgeMs: 30 * 60_000, onsetLeadMs: 60_000 };

/** The newest report of `reports` that answers `alert`, if any. */
export function reusableReport(
  alert: Pick<AlertView, 'fingerprint' | 'rule' | 'component' | 'groupKey' | 'startedAt'>,
  reports: readonly RcaReportView[],
  now: Date,
  settings: ReuseSettings = defaultReuseSettings,
): RcaReportView | undefined {
  const since = Math.max(
    Date.parse(alert.startedAt) - settings.onsetLeadMs,
    now.getTime() - settings.maxAgeMs,
  );
  return reports
    .filter(
      (report) =>
        report.groupKey === alert.groupKey &&
        report.status === 'completed' &&
        report.rootCauses.length > 0 &&
        Date.parse(report.createdAt) >= since &&
        accountsFor(report, alert),
    )
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
}

/**
 * The report already covers the alert: it was made for this alert instance or for the same rule on the same
 * service (an SLO's other severity), or its top root cause is the alerted service or explains what was seen there.
 * Another rule on a service the report did not account for is new evidence.
 */
function accountsFor(
  report: RcaReportView,
  alert: Pick<AlertView, 'fingerprint' | 'rule' | 'component'>,
): boolean {
  if (report.alert.fingerprint === alert.fingerprint) return true;
  if (alert.component === null) return false;
  if (report.alert.rule === alert.rule && report.alert.component === alert.component) return true;
  const top = report.rootCauses[0];
  return top !== undefined && (top.service === alert.component || top.explains.includes(alert.component));
}
