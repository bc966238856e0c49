// Demo-shop fault scenarios end to end on a real `opspilot up --demo` (eleven instrumented services, a load
// generator, the default 15 s alert evaluation, no LLM): per scenario, fault → first firing alert, alert → stored
// RCA report, and whether the report's top root cause is the scenario's ground truth. Each run injects the fault,
// measures, heals and lets the shop settle. RUNS (default 1) runs per scenario; medians over runs. Prints JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RcaReportView } from '../src/rca/contracts.js';
import type { AlertView } from '../src/telemetry/alerting/contracts.js';
import { startServer } from '../test/helpers/opspilot-process.js';
import { machine, median, print } from './lib/harness.js';

const runs = Number(process.env.RUNS ?? 1);
const baselineMs = Number(process.env.BASELINE_MS ?? 120_000);
const settleMs = Number(process.env.SETTLE_MS ?? 90_000);
/**
 * Faults that raise no alert by design: over-provisioned costs money, not users (right-sizing judges it), and a
 * failed build changes nothing that runs (compare_workflow_runs explains it).
 */
const noAlert = new Set(['over-provisioned', 'build-failure']);
const only = process.env.FAULTS?.split(',');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const workspace = mkdtempSync(join(tmpdir(), 'opspilot-bench-demo-'));
const server = await startServer({ dataDir: join(workspace, 'data'), args: ['--demo'] });
const get = async <T>(path: string): Promise<T> =>
  (await (await fetch(`${server.url}${path}`, { headers: server.headers })).json()) as T;
const post = async <T>(path: string, body: unknown): Promise<T> =>
  (await (
    await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { ...server.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  ).json()) as T;

interface Outcome {
  fault: string;
  truth: string;
  faultToAlertMs: number | null;
  alertToReportMs: number | null;
  top1: string | null;
  correct: boolean;
  alert: string | null;
}

const outcomes: Outcome[] = [];
try {
  await sleep(baselineMs);
  const { items: faults } = await get<{ items: { name: string; truth: { component: string } }[] }>(
    '/api/v1/demo/faults',
  );
  for (let run = 0; run < runs; run += 1) {
    for (const fault of faults) {
      if (noAlert.has(fault.name) || (only !== undefined && !only.includes(fault.name))) continue;
      const injected = Date.now();
      await post(`/api/v1/demo/faults/${fault.name}`, { environment: 'prod' });
      let alert: AlertView | undefined;
      let report: RcaReportView | undefined;
      const deadline = injected + 180_000;
      while (Date.now() < deadline && report === undefined) {
        const alerts = (await get<{ items: AlertView[] }>('/api/v1/alerts?namespace=shop&state=firing'))
          .items;
        alert ??= alerts
          .filter((candidate) => Date.parse(candidate.firedAt ?? '') >= injected)
          .sort((a, b) => Date.parse(a.firedAt ?? '') - Date.parse(b.firedAt ?? ''))[0];
        const reports = (await get<{ items: RcaReportView[] }>('/api/v1/rca/reports?namespace=shop')).items;
        report = reports.find(
          (candidate) => candidate.status === 'completed' && Date.parse(candidate.createdAt) >= injected,
        );
        if (report === undefined) await sleep(500);
      }
      const fingerprint = report?.alert.fingerprint;
      const reportAlert =
        fingerprint === undefined
          ? undefined
          : (await get<{ items: AlertView[] }>('/api/v1/alerts?namespace=shop')).items.find(
              (candidate) => candidate.fingerprint === fingerprint,
            );
      const top1 = report?.rootCauses[0]?.service ?? null;
      outcomes.push({
        fault: fault.name,
        truth: fault.truth.component,
        faultToAlertMs: alert === undefined ? null : Date.parse(alert.firedAt ?? '') - injected,
        alertToReportMs:
          report === undefined || reportAlert?.firedAt == null
            ? null
            : Date.parse(report.completedAt ?? '') - Date.parse(reportAlert.firedAt),
        top1,
        correct: top1 === fault.truth.component,
        alert: alert?.rule ?? null,
      });
      process.stderr.write(`${JSON.stringify(outcomes.at(-1))}\n`);
      await post('/api/v1/demo/heal', {});
      await sleep(settleMs);
    }
  }
} finally {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
}

const byFault = new Map<string, Outcome[]>();
for (const outcome of outcomes) byFault.set(outcome.fault, [...(byFault.get(outcome.fault) ?? []), outcome]);
const numbers = (values: (number | null)[]) => values.filter((value): value is number => value !== null);
/** Median of the runs that measured something; null when none did (no alert, no report). */
const medianOf = (values: (number | null)[]) =>
  numbers(values).length === 0 ? null : median(numbers(values));
print({
  benchmark: 'demo shop fault scenarios: fault → alert, alert → report, top-1 root cause (no LLM)',
  machine: machine(),
  runs,
  scenarios: Object.fromEntries(
    [...byFault.entries()].map(([fault, items]) => [
      fault,
      {
        truth: items[0]?.truth,
        faultToAlertMsMedian: medianOf(items.map((item) => item.faultToAlertMs)),
        alertToReportMsMedian: medianOf(items.map((item) => item.alertToReportMs)),
        top1Correct: `${items.filter((item) => item.correct).length}/${items.length}`,
        top1: items.map((item) => item.top1),
        alerts: items.map((item) => item.alert),
      },
    ]),
  ),
  overall: {
    top1Correct: `${outcomes.filter((outcome) => outcome.correct).length}/${outcomes.length}`,
    alertToReportMsMedian: medianOf(outcomes.map((outcome) => outcome.alertToReportMs)),
    faultToAlertMsMedian: medianOf(outcomes.map((outcome) => outcome.faultToAlertMs)),
  },
  targets: { top1: 'all', alertToReportMs: '< 2000 (p50)', faultToAlertMs: '< 30000' },
});
