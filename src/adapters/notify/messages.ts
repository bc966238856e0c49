// What each channel receives for a finished RCA report, in its own wire format:
// Slack incoming webhooks (Block Kit), PagerDuty Events API v2, and a plain JSON webhook.
import { shownConfidence } from '../../rca/confidence.js';
import type { RcaReportView } from '../../rca/contracts.js';

export interface ReportLinks {
  /** The report in the dashboard (or the API when there is none). */
  readonly report: string;
  readonly proposal: string | null;
}

function headline(report: RcaReportView): string {
  const where = `${report.alert.component ?? report.namespace}${report.alert.environment === null ? '' : ` in ${report.alert.environment}`}`;
  const top = report.rootCauses[0];
  if (report.status === 'failed') return `RCA of ${report.alert.rule} on ${where} failed`;
  if (top === undefined) return `${report.alert.rule} on ${where}: no root cause found`;
  return `${report.alert.rule} on ${where}: most likely ${top.service} (${top.kind}, ${Math.round(shownConfidence(top) * 100)}%)`;
}

/** https://api.slack.com/messaging/webhooks with Block Kit blocks; `text` is the notification fallback. */
export function slackMessage(report: RcaReportView, links: ReportLinks): unknown {
  const top = report.rootCauses[0];
  const fields = [
    { type: 'mrkdwn', text: `*Namespace*\n${report.namespace}` },
    { type: 'mrkdwn', text: `*Severity*\n${report.alert.severity}` },
    ...(top === undefined
      ? []
      : [
          { type: 'mrkdwn', text: `*Root cause*\n${top.service} (${top.kind})` },
          { type: 'mrkdwn', text: `*Confidence*\n${Math.round(shownConfidence(top) * 100)}%` },
        ]),
  ];
  const evidence = (top?.evidence ?? []).slice(0, 3).map((item) => `• ${item.summary}`);
  return {
    text: headline(report),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline(report).slice(0, 150), emoji: false } },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: report.narrative || report.error || report.alert.summary },
      },
      { type: 'section', fields },
      ...(evidence.length === 0
        ? []
        : [{ type: 'section', text: { type: 'mrkdwn', text: `*Evidence*\n${evidence.join('\n')}` } }]),
      ...(report.remediation === null
        ? []
        : [
            {
              type: 'section',
              text: {
                type: 'mrkdwn',
                text: `*Ready to approve:* ${report.remediation.title} (proposal \`${report.remediation.proposal}\`, ${report.remediation.status})`,
              },
            },
          ]),
      {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'Open the report' }, url: links.report },
          ...(links.proposal === null
            ? []
            : [
                {
                  type: 'button',
                  text: { type: 'plain_text', text: 'Review the proposal' },
                  url: links.proposal,
                  style: 'primary',
                },
              ]),
        ],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `opspilot RCA ${report.id} · ${report.createdAt}` }],
      },
    ],
  };
}

const pagerDutySeverity: Record<string, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  warning: 'warning',
  info: 'info',
};

/** https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ — one incident per alert group. */
export function pagerDutyEvent(report: RcaReportView, routingKey: string, links: ReportLinks): unknown {
  const top = report.rootCauses[0];
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: `opspilot/${report.groupKey}`,
    payload: {
      summary: headline(report).slice(0, 1024),
      source: `opspilot/${report.namespace}`,
      severity: pagerDutySeverity[report.alert.severity] ?? 'error',
      timestamp: report.completedAt ?? report.createdAt,
      component: top?.service ?? report.alert.component ?? undefined,
      group: report.namespace,
      class: top?.kind ?? 'unknown',
      custom_details: {
        report: report.id,
        alert: report.alert.summary,
        narrative: report.narrative,
        evidence: (top?.evidence ?? []).slice(0, 5).map((item) => item.summary),
        remediation: report.remediation,
      },
    },
    links: [
      { href: links.report, text: 'opspilot RCA report' },
      ...(links.proposal === null ? [] : [{ href: links.proposal, text: 'Remediation proposal' }]),
    ],
    client: 'opspilot',
    client_url: links.report,
  };
}

/** A plain webhook: the event kind, links, and the whole report. */
export function webhookBody(report: RcaReportView, links: ReportLinks): unknown {
  return { kind: 'rca.report', status: report.status, headline: headline(report), links, report };
}
