// Demo-shop fault scenarios end to end on a real `opspilot up --demo` (eleven instrumented services, a load
// generator, the default 15 s alert evaluation, no LLM). Per scenario and run: the fault is injected, then
// - for faults users feel: fault → first firing alert, alert → stored RCA report, whether the report's top root
//   cause is the scenario's ground truth, and where the report's traces say failures begin / latency is added;
// - over-provisioned (costs money, raises no alert): fault → the first right-sizing recommendation (MCP
//   get_resource_recommendations) whose largest over-provisioning is the ground truth;
// - build-failure (nothing that runs changes): fault → the failed run compared with the last good one (MCP
//   compare_workflow_runs), correct when the changed input is the wrong source path;
// then the shop is healed and left to settle. RUNS (default 3) runs per scenario; medians over runs. Prints JSON.
//
// MODE (or `--mode NAME`) picks how faults meet the server:
// - classic (default): the above, one server for every run, first firing alert → report;
// - fresh: a new `opspilot up --demo` on a fresh data dir per fault and run; after BASELINE_MS of traffic (the
//   warm-up and the RCA baseline) it counts the alerts fired so far, injects the fault and reads the first
//   report the agent stores by itself (`rca list`, no `rca run`);
// - sequence: a new server per run; after BASELINE_MS it counts the alerts fired so far, then injects every
//   fault in turn with a heal and SETTLE_MS between, reading each fault's automatic report the same way.
// Both new modes report per fault right/wrong top cause and fault → report-in-list seconds, and per run the
// alerts fired before the first fault; the summary gives medians (p50).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { RcaReportView } from '../src/rca/contracts.js';
import type { AlertView } from '../src/telemetry/alerting/contracts.js';
import { startServer } from '../test/helpers/opspilot-process.js';
import { machine, median, print } from './lib/harness.js';

const runs = Number(process.env.RUNS ?? 3);
const baselineMs = Number(process.env.BASELINE_MS ?? 120_000);
const settleMs = Number(process.env.SETTLE_MS ?? 90_000);
const only = process.env.FAULTS?.split(',');
const modeArgument = process.argv.indexOf('--mode');
const mode = (modeArgument >= 0 ? process.argv[modeArgument + 1] : process.env.MODE) ?? 'classic';
if (!['classic', 'fresh', 'sequence'].includes(mode)) {
  throw new Error(`unknown mode ${mode}: classic, fresh or sequence`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether nothing listens on `port` (the demo's services find each other on fixed ports 41000–41010). */
const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      resolve(false);
    });
    probe.listen(port, '127.0.0.1', () => {
      probe.close(() => {
        resolve(true);
      });
    });
  });

/**
 * Waits (up to ten minutes) until the demo's fixed ports are free: another demo on the machine would serve this
 * one's calls, and its faults would not be ours.
 */
async function demoPortsFree(): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const free = await Promise.all(Array.from({ length: 11 }, (_, index) => portFree(41_000 + index)));
    if (free.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the demo ports 41000–41010 stay taken by another server');
    process.stderr.write('the demo ports 41000–41010 are taken (another demo runs); waiting\n');
    await sleep(10_000);
  }
}

/** One `opspilot up --demo` on a fresh data dir, with REST and MCP clients. */
async function openSession() {
  await demoPortsFree();
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
  const mcp = new Client({ name: 'bench-demo', version: '1.0.0' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/control-plane`), {
      requestInit: { headers: server.headers },
    }),
  );
  const tool = async <T>(name: string, args: Record<string, unknown>): Promise<T> =>
    (await mcp.callTool({ name, arguments: args })).structuredContent as T;
  return {
    get,
    post,
    tool,
    async close() {
      await mcp.close();
      await server.stop();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}
type Session = Awaited<ReturnType<typeof openSession>>;
let session: Session;
const get = <T>(path: string): Promise<T> => session.get<T>(path);
const post = <T>(path: string, body: unknown): Promise<T> => session.post<T>(path, body);
const tool = <T>(name: string, args: Record<string, unknown>): Promise<T> => session.tool<T>(name, args);

interface Outcome {
  fault: string;
  truth: string;
  faultToAlertMs: number | null;
  alertToReportMs: number | null;
  /** Right-sizing and build faults: fault → the verdict that names the truth. */
  faultToVerdictMs: number | null;
  top1: string | null;
  correct: boolean;
  alert: string | null;
  traceOrigin: string | null;
  /** Control: what the verdict named just before the fault (the truth here would make the check meaningless). */
  before: string | null;
}

interface Fault {
  name: string;
  truth: { component: string };
}

/** Alert, report, top-1 and the report's trace origin. */
async function alerting(fault: Fault, injected: number): Promise<Outcome> {
  let alert: AlertView | undefined;
  let report: RcaReportView | undefined;
  const deadline = injected + 180_000;
  while (Date.now() < deadline && report === undefined) {
    const alerts = (await get<{ items: AlertView[] }>('/api/v1/alerts?namespace=shop&state=firing')).items;
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
  return {
    fault: fault.name,
    truth: fault.truth.component,
    faultToAlertMs: alert === undefined ? null : Date.parse(alert.firedAt ?? '') - injected,
    alertToReportMs:
      report === undefined || reportAlert?.firedAt == null
        ? null
        : Date.parse(report.completedAt ?? '') - Date.parse(reportAlert.firedAt),
    faultToVerdictMs: null,
    top1,
    correct: top1 === fault.truth.component,
    alert: alert?.rule ?? null,
    traceOrigin: report?.traces?.errors[0]?.service ?? report?.traces?.latency[0]?.service ?? null,
    before: null,
  };
}

interface Recommendation {
  component: string;
  verdict: string;
  cpuChangeMillicores: number | null;
  memoryChangeBytes: number | null;
}

/** The binding right-sizing finds most over-provisioned (by memory it would free, then cpu), if any. */
async function mostOverProvisioned(): Promise<string | null> {
  const { recommendations } = await tool<{ recommendations: Recommendation[] }>(
    'get_resource_recommendations',
    { namespace: 'shop', environment: 'prod', period: 'last_5m' },
  );
  const over = recommendations
    .filter((item) => item.verdict === 'over-provisioned')
    .sort(
      (a, b) =>
        (b.memoryChangeBytes ?? 0) - (a.memoryChangeBytes ?? 0) ||
        (b.cpuChangeMillicores ?? 0) - (a.cpuChangeMillicores ?? 0),
    );
  return over[0]?.component ?? null;
}

/** Polls right-sizing until its most over-provisioned binding is the truth. */
async function rightSizing(fault: Fault, injected: number): Promise<Outcome> {
  let top1: string | null = null;
  let verdictAt: number | null = null;
  while (Date.now() < injected + 180_000) {
    top1 = await mostOverProvisioned();
    if (top1 === fault.truth.component) {
      verdictAt = Date.now();
      break;
    }
    await sleep(2000);
  }
  return verdictOutcome(fault, injected, top1, verdictAt);
}

/** Compares the failed build the fault started with the last good one: the changed input must be named. */
async function buildComparison(fault: Fault, injected: number, outcome: string): Promise<Outcome> {
  const failed = /build (\S+) Failed/.exec(outcome)?.[1];
  let named = false;
  if (failed !== undefined) {
    const comparison = await tool<{ changedInputs: { field: string; after: unknown }[] }>(
      'compare_workflow_runs',
      { namespace: 'shop', run: failed },
    );
    named = comparison.changedInputs.some((input) => JSON.stringify(input.after).includes('src/email.mjs'));
  }
  return verdictOutcome(fault, injected, named ? fault.truth.component : null, named ? Date.now() : null);
}

function verdictOutcome(fault: Fault, injected: number, top1: string | null, at: number | null): Outcome {
  return {
    fault: fault.name,
    truth: fault.truth.component,
    faultToAlertMs: null,
    alertToReportMs: null,
    faultToVerdictMs: at === null ? null : at - injected,
    top1,
    correct: top1 === fault.truth.component,
    alert: null,
    traceOrigin: null,
    before: null,
  };
}

interface AutomaticOutcome {
  run: number;
  fault: string;
  truth: string;
  /** The first report the agent stored after the fault (alerting faults), or the verdict (the other two). */
  top1: string | null;
  correct: boolean;
  faultToReportSeconds: number | null;
  report: string | null;
  incident: string | null;
  alert: string | null;
}

/** Alerts that fired (any namespace of the demo) up to now. */
async function firedAlerts(): Promise<AlertView[]> {
  const fired: AlertView[] = [];
  for (const namespace of ['shop', 'demo']) {
    const { items } = await get<{ items: AlertView[] }>(`/api/v1/alerts?namespace=${namespace}&limit=500`);
    fired.push(...items.filter((alert) => alert.firedAt !== null));
  }
  return fired;
}

/** The first report the RCA agent completed by itself after `injected`, as `opspilot rca list` shows it. */
async function automaticReport(injected: number): Promise<RcaReportView | undefined> {
  const deadline = injected + 180_000;
  while (Date.now() < deadline) {
    const { items } = await get<{ items: RcaReportView[] }>('/api/v1/rca/reports?namespace=shop');
    const report = items
      .filter(
        (candidate) =>
          candidate.trigger === 'alert' &&
          candidate.status === 'completed' &&
          Date.parse(candidate.createdAt) >= injected,
      )
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))[0];
    if (report !== undefined) return report;
    await sleep(500);
  }
  return undefined;
}

async function injectAndRead(run: number, fault: Fault): Promise<AutomaticOutcome> {
  const injected = Date.now();
  const result = await post<{ changes?: string[] }>(`/api/v1/demo/faults/${fault.name}`, {
    environment: 'prod',
    approve: true,
  });
  const base = { run, fault: fault.name, truth: fault.truth.component };
  if (fault.name === 'over-provisioned' || fault.name === 'build-failure') {
    // No alert by design (cost, a build that changes nothing running): the verdict stands in for a report.
    const verdict =
      fault.name === 'over-provisioned'
        ? await rightSizing(fault, injected)
        : await buildComparison(fault, injected, (result.changes ?? []).join('; '));
    return {
      ...base,
      top1: verdict.top1,
      correct: verdict.correct,
      faultToReportSeconds: verdict.faultToVerdictMs === null ? null : verdict.faultToVerdictMs / 1000,
      report: null,
      incident: null,
      alert: null,
    };
  }
  const report = await automaticReport(injected);
  const top1 = report?.rootCauses[0]?.service ?? null;
  return {
    ...base,
    top1,
    correct: top1 === fault.truth.component,
    faultToReportSeconds:
      report?.completedAt == null ? null : (Date.parse(report.completedAt) - injected) / 1000,
    report: report?.id ?? null,
    incident: report?.groupKey ?? null,
    alert: report === undefined ? null : `${report.alert.rule} ${report.alert.component ?? ''}`.trim(),
  };
}

async function automaticReports(which: 'fresh' | 'sequence'): Promise<void> {
  const outcomes: AutomaticOutcome[] = [];
  const alertsBeforeFirstFault: { run: number; fault: string | null; alerts: string[] }[] = [];
  const faultsOf = async (): Promise<Fault[]> =>
    (await get<{ items: Fault[] }>('/api/v1/demo/faults')).items.filter(
      (fault) => only === undefined || only.includes(fault.name),
    );
  const countBefore = async (run: number, fault: string | null): Promise<void> => {
    const fired = await firedAlerts();
    alertsBeforeFirstFault.push({
      run,
      fault,
      alerts: fired.map((alert) => `${alert.rule} ${alert.component ?? ''}@${alert.environment ?? ''}`),
    });
  };
  for (let run = 0; run < runs; run += 1) {
    if (which === 'sequence') {
      session = await openSession();
      try {
        await sleep(baselineMs);
        await countBefore(run, null);
        for (const fault of await faultsOf()) {
          const outcome = await injectAndRead(run, fault);
          outcomes.push(outcome);
          process.stderr.write(`${JSON.stringify(outcome)}\n`);
          await post('/api/v1/demo/heal', { approve: true });
          await sleep(settleMs);
        }
      } finally {
        await session.close();
      }
      continue;
    }
    session = await openSession();
    const faults = await faultsOf();
    await session.close();
    for (const fault of faults) {
      session = await openSession();
      try {
        await sleep(baselineMs);
        await countBefore(run, fault.name);
        const outcome = await injectAndRead(run, fault);
        outcomes.push(outcome);
        process.stderr.write(`${JSON.stringify(outcome)}\n`);
      } finally {
        await session.close();
      }
    }
  }
  const byFault = new Map<string, AutomaticOutcome[]>();
  for (const outcome of outcomes)
    byFault.set(outcome.fault, [...(byFault.get(outcome.fault) ?? []), outcome]);
  const seconds = (items: AutomaticOutcome[]) =>
    items.map((item) => item.faultToReportSeconds).filter((value): value is number => value !== null);
  const p50 = (values: number[]) => (values.length === 0 ? null : median(values));
  // Faults users feel; over-provisioned and build-failure have a verdict instead of a report.
  const alerting = outcomes.filter(
    (outcome) => !['over-provisioned', 'build-failure'].includes(outcome.fault),
  );
  print({
    benchmark: `demo shop fault scenarios, ${which === 'fresh' ? 'a fresh server per fault' : 'all faults in sequence on one server per run'}: the RCA agent's automatic report per fault (no rca run, no LLM)`,
    machine: machine(),
    mode: which,
    runs,
    baselineMs,
    ...(which === 'sequence' ? { settleMs } : {}),
    scenarios: Object.fromEntries(
      [...byFault.entries()].map(([fault, items]) => [
        fault,
        {
          truth: items[0]?.truth,
          top1Correct: `${items.filter((item) => item.correct).length}/${items.length}`,
          top1: items.map((item) => item.top1),
          faultToReportSecondsP50: p50(seconds(items)),
          faultToReportSeconds: items.map((item) => item.faultToReportSeconds),
          alerts: items.map((item) => item.alert),
          incidents: items.map((item) => item.incident),
        },
      ]),
    ),
    alertsBeforeFirstFault,
    summary: {
      top1Correct: `${outcomes.filter((outcome) => outcome.correct).length}/${outcomes.length}`,
      faultToReportSecondsP50: p50(seconds(alerting)),
      reportsMissing: alerting.filter((outcome) => outcome.faultToReportSeconds === null).length,
      alertsBeforeFirstFaultP50: p50(alertsBeforeFirstFault.map((entry) => entry.alerts.length)),
    },
    targets: { top1: 'all', faultToReportSeconds: '< 30 (p50)', alertsBeforeFirstFault: 0 },
  });
}

if (mode !== 'classic') {
  await automaticReports(mode === 'fresh' ? 'fresh' : 'sequence');
  process.exit(0);
}

const outcomes: Outcome[] = [];
session = await openSession();
try {
  await sleep(baselineMs);
  const { items: faults } = await get<{ items: Fault[] }>('/api/v1/demo/faults');
  for (let run = 0; run < runs; run += 1) {
    for (const fault of faults) {
      if (only !== undefined && !only.includes(fault.name)) continue;
      const before = fault.name === 'over-provisioned' ? await mostOverProvisioned() : null;
      const injected = Date.now();
      const result = await post<{ changes?: string[] }>(`/api/v1/demo/faults/${fault.name}`, {
        environment: 'prod',
        approve: true,
      });
      const outcome =
        fault.name === 'over-provisioned'
          ? await rightSizing(fault, injected)
          : fault.name === 'build-failure'
            ? await buildComparison(fault, injected, (result.changes ?? []).join('; '))
            : await alerting(fault, injected);
      outcome.before = before;
      outcomes.push(outcome);
      process.stderr.write(`${JSON.stringify(outcome)}\n`);
      await post('/api/v1/demo/heal', { approve: true });
      await sleep(settleMs);
    }
  }
} finally {
  await session.close();
}

const byFault = new Map<string, Outcome[]>();
for (const outcome of outcomes) byFault.set(outcome.fault, [...(byFault.get(outcome.fault) ?? []), outcome]);
const numbers = (values: (number | null)[]) => values.filter((value): value is number => value !== null);
/** Median of the runs that measured something; null when none did (no alert, no report). */
const medianOf = (values: (number | null)[]) =>
  numbers(values).length === 0 ? null : median(numbers(values));
print({
  benchmark:
    'demo shop fault scenarios: fault → alert, alert → report, top-1 root cause (no LLM); right-sizing and build comparison',
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
        faultToVerdictMsMedian: medianOf(items.map((item) => item.faultToVerdictMs)),
        top1: items.map((item) => item.top1),
        alerts: items.map((item) => item.alert),
        traceOrigins: items.map((item) => item.traceOrigin),
        ...(fault === 'over-provisioned' ? { beforeFault: items.map((item) => item.before) } : {}),
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
