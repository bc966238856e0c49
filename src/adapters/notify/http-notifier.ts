// Delivers finished RCA reports to the configured channels over HTTP, in the background, with a timeout per
// attempt and a few attempts with backoff. A channel that keeps failing is logged, never the report's problem.
import type { Config, NotificationChannel } from '../../config/config-schema.js';
import type { Logger } from '../../core/logger.js';
import type { RcaReportView } from '../../rca/contracts.js';
import type { ReportNotifier } from '../../rca/notifier.js';
import { pagerDutyEvent, slackMessage, webhookBody, type ReportLinks } from './messages.js';

const pagerDutyUrl = 'https://events.pagerduty.com/v2/enqueue';
const severityRank: Record<string, number> = { info: 0, warning: 1, critical: 2 };

export class HttpNotifier implements ReportNotifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      readonly config: Config['notifications'];
      /** Base URL for links when notifications.dashboardUrl is unset. */
      readonly baseUrl: () => string;
      readonly logger: Logger;
    },
  ) {}

  reportFinished(report: RcaReportView): void {
    for (const channel of this.options.config.channels) {
      if (!this.wants(channel, report)) continue;
      const delivery = this.deliver(channel, report).finally(() => this.pending.delete(delivery));
      this.pending.add(delivery);
    }
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private wants(channel: NotificationChannel, report: RcaReportView): boolean {
    if (channel.namespaces !== undefined && !channel.namespaces.includes(report.namespace)) return false;
    return (severityRank[report.alert.severity] ?? 1) >= (severityRank[channel.minSeverity] ?? 0);
  }

  private links(report: RcaReportView): ReportLinks {
    const base = (this.options.config.dashboardUrl ?? this.options.baseUrl()).replace(/\/$/, '');
    return {
      report: `${base}/api/v1/rca/reports/${encodeURIComponent(report.id)}`,
      proposal:
        report.remediation === null
          ? null
          : `${base}/api/v1/proposals/${encodeURIComponent(report.remediation.proposal)}`,
    };
  }

  private async deliver(channel: NotificationChannel, report: RcaReportView): Promise<void> {
    const links = this.links(report);
    const url = channel.webhookUrl ?? pagerDutyUrl;
    const body =
      channel.type === 'slack'
        ? slackMessage(report, links)
        : channel.type === 'pagerduty'
          ? pagerDutyEvent(report, channel.routingKey ?? '', links)
          : webhookBody(report, links);
    const { attempts, timeoutMs } = this.options.config;
    let problem = '';
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'opspilot-notifier' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (response.ok) return;
        problem = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
        // 4xx other than 429 will not get better by retrying.
        if (response.status < 500 && response.status !== 429) break;
      } catch (error) {
        problem = (error as Error).message;
      }
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
    }
    this.options.logger.warn(
      { channel: channel.name, type: channel.type, report: report.id, problem },
      'could not deliver the RCA report notification',
    );
  }
}
