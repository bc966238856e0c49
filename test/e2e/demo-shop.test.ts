// The acceptance path of the product, as a user runs it: `npm start` (`opspilot up --demo`) runs the shop (eleven services with
// the OpenTelemetry SDK and a load generator, real processes), `opspilot demo fault catalog-scaled-to-zero`
// breaks it, and within a minute there is a completed RCA report naming product-catalog with the scaling as
// evidence and a proposal to scale it back; another person approves it in the dashboard (real Chromium), the shop
// recovers, the audit verifies. Ctrl-C to npm stops the server and every replica.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentStatus } from '../../src/platform/contracts.js';
import type { RcaReportView } from '../../src/rca/contracts.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { runCli, startServer, type RunningServer } from '../helpers/opspilot-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';

let workspace: string;
let server: RunningServer;

const cli = (args: string[], token?: string) =>
  runCli(args, { server: server.url, ...(token === undefined ? {} : { env: { OPSPILOT_TOKEN: token } }) });

async function binding(name: string): Promise<EnvironmentStatus | undefined> {
  const response = await fetch(`${server.url}/api/v1/namespaces/shop/releasebindings/${name}`, {
    headers: server.headers,
  });
  return ((await response.json()) as { status?: EnvironmentStatus }).status;
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'opspilot-demo-'));
  server = await startServer({
    dataDir: join(workspace, 'data'),
    npmStart: true,
    env: { OPSPILOT_ALERTING__EVALUATION_INTERVAL_MS: '2000' },
  });
  await waitFor(
    () => binding('frontend-prod'),
    (status) => status?.phase === 'Running',
    {
      what: 'the shop running',
      timeoutMs: 60_000,
    },
  );
}, 90_000);

afterAll(async () => {
  await server.stop();
  rmSync(workspace, { recursive: true, force: true });
});

describe('the demo shop', () => {
  it('lists its fault scenarios with their ground truth', async () => {
    const result = await cli(['demo', 'faults', '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const faults = (JSON.parse(result.stdout) as { items: { name: string; truth: { component: string } }[] })
      .items;
    expect(faults.map((fault) => fault.name)).toEqual(
      expect.arrayContaining([
        'catalog-scaled-to-zero',
        'slow-release',
        'memory-leak',
        'pool-exhaustion',
        'exception-release',
        'over-provisioned',
        'cert-expiry',
      ]),
    );
  });

  it('finds product-catalog scaled to zero, and its remediation approved by another person restores the shop', async () => {
    // A minute of normal traffic first: the baseline.
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    const injected = Date.now();
    const before = await cli(['rca', 'list', '-n', 'shop', '-o', 'json']);
    // Nothing was wrong before the fault: the cold start (services calling others not up yet) warms up instead
    // of alerting, so there is no report at all.
    expect((JSON.parse(before.stdout) as { items: RcaReportView[] }).items).toEqual([]);
    const fault = await cli(['demo', 'fault', 'catalog-scaled-to-zero', '--env', 'prod']);
    expect(fault.code, fault.stderr).toBe(0);
    // A proposal by demo:chaos, approved by the caller (the admin token) as anything else is.
    expect(fault.stdout).toContain('scale product-catalog-prod from 2 to 0 replicas');
    expect(fault.stdout).toMatch(/proposal \S+ succeeded \(approved by admin\)/);

    const report = await waitFor(
      async () => {
        const listed = await cli(['rca', 'list', '-n', 'shop', '-o', 'json']);
        return (JSON.parse(listed.stdout) as { items: RcaReportView[] }).items.find(
          (item) => item.status === 'completed' && Date.parse(item.createdAt) >= injected,
        );
      },
      (candidate) => candidate !== undefined,
      { what: 'a completed RCA report', timeoutMs: 60_000, intervalMs: 1000 },
    );
    if (report === undefined) throw new Error('no report');
    expect(Date.parse(report.completedAt ?? '') - injected).toBeLessThan(60_000);
    expect(report.rootCauses[0]).toMatchObject({ service: 'product-catalog', kind: 'scaled-to-zero' });
    expect(report.rootCauses[0]?.evidence.map((item) => item.summary).join('\n')).toContain(
      'Scaled product-catalog-prod from 2 to 0 replicas',
    );
    expect(report.remediation).toMatchObject({
      title: 'scale product-catalog in prod from 0 to 2 replicas',
      status: 'pending',
    });

    // In the dashboard (real Chromium): the on-call engineer signs in with the keyboard, finds the incident and its
    // report with the evidence; the agent never approves its own proposals, a person does: olga, an operator of
    // the shop, approves the remediation there and watches the replicas come back (live updates, no reload).
    const token = async (subject: string, role: string) =>
      (
        await cli([
          'token',
          'create',
          '--subject',
          subject,
          '--role',
          role,
          '--namespace',
          'shop',
          '--data-dir',
          join(workspace, 'data'),
        ])
      ).stdout.trim();
    let proposal: string | undefined;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await signIn(page, server.url, server.token);
      await page.getByRole('heading', { name: 'Overview of shop' }).waitFor();
      // The report of the alert that opened the incident (frontend's errors, or the platform's own NoReadyReplica
      // signal on product-catalog, whichever fired first).
      await page
        .getByRole('link', { name: `${report.alert.rule} on ${report.alert.component ?? 'shop'}` })
        .first()
        .waitFor();
      await screenshot(page, '1-overview');

      // The incident's report as the dashboard shows it: the newest of its incident. A second alert of the
      // incident (frontend's errors after the platform's NoReadyReplica) may have brought a second report.
      await page.getByRole('link', { name: 'Incidents' }).click();
      await page
        .getByRole('region', { name: `incident ${report.groupKey}` })
        .getByRole('link', { name: /^rca-/ })
        .first()
        .click();
      await page.waitForURL(/#\/reports\//);
      const shownId = decodeURIComponent(new URL(page.url()).hash.replace('#/reports/', ''));
      const shown = JSON.parse((await cli(['rca', 'show', shownId, '-o', 'json'])).stdout) as RcaReportView;
      expect(shown.groupKey).toBe(report.groupKey);
      expect(shown.remediation).toMatchObject({
        title: 'scale product-catalog in prod from 0 to 2 replicas',
      });
      proposal = shown.remediation?.proposal ?? '';
      await page.getByText('Scaled product-catalog-prod from 2 to 0 replicas').first().waitFor();
      const top = await page.locator('ol.causes > li').first().innerText();
      expect(top).toContain('product-catalog');
      expect(top).toContain('scaled-to-zero');
      await page.locator('figure.chart svg').first().waitFor();
      expect(await page.getByRole('link', { name: `proposal ${proposal}` }).count()).toBe(1);
      await screenshot(page, '2-report');

      // A viewer sees the proposal but is not offered the decision.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, server.url, await token('vic', 'viewer'));
      await page.goto(`${server.url}/#/approvals/${proposal}`);
      await page
        .getByRole('heading', { name: /scale product-catalog in prod from 0 to 2 replicas/ })
        .waitFor();
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);

      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, server.url, await token('olga', 'operator'));
      await page.goto(`${server.url}/#/approvals/${proposal}`);
      await page
        .getByRole('heading', { name: /scale product-catalog in prod from 0 to 2 replicas/ })
        .waitFor();
      await screenshot(page, '3-approval');
      await page.getByLabel('Reason').fill('the catalog must serve; scaled to zero by mistake');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.locator('.proposal h2 .badge', { hasText: /executing|verifying|succeeded/ }).waitFor();

      await page.getByRole('link', { name: 'Platform' }).click();
      await page.getByTestId('cell-product-catalog-prod').getByText('2/2 ready').waitFor({ timeout: 30_000 });
      await screenshot(page, '4-platform');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
    const approval = await cli(['audit', 'tail', '--principal', 'olga', '--action', 'proposal.approve']);
    expect(approval.code, approval.stderr).toBe(0);
    // Approved in the dashboard: by olga, through the REST edge, with the proposal's id.
    expect(approval.stdout).toMatch(/olga\s+rest\s+proposal\.approve\s/);
    expect(approval.stdout).toContain(`proposal ${proposal} approved`);
    const verify = await cli(['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^audit chain ok/);
  }, 240_000);

  it('fails a build on a wrong source path, and comparing with the last good run shows the changed input', async () => {
    const fault = await cli(['demo', 'fault', 'build-failure']);
    expect(fault.code, fault.stderr).toBe(0);
    expect(fault.stdout).toMatch(/build email-build-\w+ Succeeded; build email-build-\w+ Failed/);
    const failed = /build (email-build-\w+) Failed/.exec(fault.stdout)?.[1] ?? '';
    const client = new Client({ name: 'demo-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/control-plane`), {
        requestInit: { headers: server.headers },
      }),
    );
    try {
      const result = await client.callTool({
        name: 'compare_workflow_runs',
        arguments: { namespace: 'shop', run: failed },
      });
      const comparison = result.structuredContent as {
        baseline: string | null;
        changedInputs: { field: string; after: unknown }[];
        firstDifferences: { failed: string | null }[];
      };
      expect(comparison.baseline).toMatch(/^email-build-/);
      expect(comparison.changedInputs).toContainEqual(
        expect.objectContaining({ field: 'parameters', after: { SOURCE: 'src/email.mjs' } }),
      );
      // The first output line that differs already names the wrong path.
      expect(comparison.firstDifferences[0]?.failed).toMatch(/compiling src\/email\.mjs$/);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('stops the server and every replica when npm start gets SIGINT (npm runs it under a shell)', async () => {
    const endpoints = ['41000', '41004', '41010'].map((port) => `http://127.0.0.1:${port}/`);
    for (const endpoint of endpoints) {
      expect(
        await fetch(endpoint).then(
          () => 'answers',
          () => 'refused',
        ),
      ).toBe('answers');
    }
    await server.stop('SIGINT');
    // Nothing answers any more: not the API, not the shop's services.
    for (const endpoint of [`${server.url}/healthz`, ...endpoints]) {
      await waitFor(
        () =>
          fetch(endpoint).then(
            () => 'answers',
            () => 'refused',
          ),
        (state) => state === 'refused',
        { what: `${endpoint} refused`, timeoutMs: 20_000 },
      );
    }
    expect(server.output()).toMatch(/SIGINT: stopping all replicas/);
  }, 60_000);
});
