// The port through which finished RCA reports are announced (Slack, PagerDuty, webhooks: src/adapters/notify).
// Announcing never holds up or fails a report: implementations deliver in the background and report failures.
import type { RcaReportView } from './contracts.js';

export interface ReportNotifier {
  reportFinished(report: RcaReportView): void;
  /** Waits for deliveries in progress (on stop). */
  drain(): Promise<void>;
}

export const silentNotifier: ReportNotifier = {
  reportFinished: () => undefined,
  drain: () => Promise.resolve(),
};
