// The dashboard's server side and its browser side on a real server: the built app is served at `/` without a
// token, whoami says what the signed-in role may do (the app offers nothing else), the live stream carries only
// the caller's namespace, and in real Chromium every main view renders, with keyboard navigation.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/governance/principal.js';
import { adminPrincipal } from '../helpers/principals.js';
import type { Opspilot } from '../../src/server/opspilot-server.js';
import { launchChromium, screenshot, signIn } from '../helpers/browser.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { serviceManifest, yamlDocuments } from '../helpers/manifests.js';

const fixture = fileURLToPath(new URL('../fixtures/http-service.mjs', import.meta.url));

/** The part of GET /api/v1/auth/whoami the dashboard reads. */
interface Whoami {
  allowed: Record<string, '*' | string[]>;
}

let server: InProcessServer;
let opspilot: Opspilot;
let url: string;
let adminToken: string;
let viewerToken: string;

beforeAll(async () => {
  server = await startInProcess();
  ({ opspilot, url } = server);
  await opspilot.platform.apply(
    ['shop', 'other'].map((name) => ({
      apiVersion: 'opspilot.dev/v1alpha1',
      kind: 'Namespace',
      metadata: { name },
      spec: {},
    })),
  );
  await opspilot.platform.apply(
    yamlDocuments(
      serviceManifest({
        name: 'catalog',
        namespace: 'shop',
        command: process.execPath,
        args: [fixture],
        replicas: 1,
      }),
    ),
  );
  adminToken = (await opspilot.adminToken()).token;
  viewerToken = (
    await opspilot.governance.tokens.issue({
      subject: 'vic',
      grants: [{ role: 'viewer', scope: { namespace: 'shop' } }],
    })
  ).token;
}, 30_000);

afterAll(async () => {
  await server.close();
});

const systemCaller: Caller = { principal: adminPrincipal, edge: 'rest', client: 'vitest' };
const as = (token: string) => ({ authorization: `Bearer ${token}` });

async function fire(namespace: string, alertname: string, component?: string): Promise<void> {
  const response = await fetch(`${url}/api/v1/alerts/alertmanager`, {
    method: 'POST',
    headers: { ...as(adminToken), 'content-type': 'application/json' },
    body: JSON.stringify({
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: {
            alertname,
            namespace,
            severity: 'warning',
            ...(component === undefined ? {} : { component }),
          },
          annotations: { summary: `${alertname} in ${namespace}` },
          startsAt: new Date().toISOString(),
        },
      ],
    }),
  });
  expect(response.status).toBeLessThan(300);
}

describe('dashboard server side', () => {
  it('serves the built app at / without a token, its hashed assets cached for good', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${url}${script ?? ''}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${url}/assets/no-such-file.js`)).status).toBe(404);
  });

  it('tells the signed-in caller where each action is allowed', async () => {
    const viewer = (await (
      await fetch(`${url}/api/v1/auth/whoami`, { headers: as(viewerToken) })
    ).json()) as Whoami;
    expect(viewer.allowed['alerts.read']).toEqual(['shop']);
    expect(viewer.allowed['proposal.approve']).toBeUndefined();
    expect(viewer.allowed['component.scale']).toBeUndefined();
    const admin = (await (
      await fetch(`${url}/api/v1/auth/whoami`, { headers: as(adminToken) })
    ).json()) as Whoami;
    expect(admin.allowed['proposal.approve']).toBe('*');
  });

  it("streams the changes of the caller's namespace only, and refuses a namespace it may not read", async () => {
    const refused = await fetch(`${url}/api/v1/stream?namespace=other`, { headers: as(viewerToken) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toContain(
      'vic may not read changes in other',
    );

    const controller = new AbortController();
    const response = await fetch(`${url}/api/v1/stream?namespace=shop`, {
      headers: as(viewerToken),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let text = '';
    await fire('other', 'ElsewhereDown');
    await fire('shop', 'ShopDown');
    while (!text.includes('ShopDown')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    controller.abort();
    expect(text).toMatch(/^event: ping/);
    expect(text).toMatch(/event: alert\ndata: \{"topic":"alert","namespace":"shop","summary":"[^"]*ShopDown/);
    expect(text).not.toContain('ElsewhereDown');
  });

  it('streams to a reader limited to one component only what happens to that component', async () => {
    const narrow = (
      await opspilot.governance.tokens.issue({
        subject: 'nina',
        grants: [{ role: 'viewer', scope: { namespace: 'shop', component: 'catalog' } }],
      })
    ).token;
    const controller = new AbortController();
    const response = await fetch(`${url}/api/v1/stream?namespace=shop`, {
      headers: as(narrow),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let text = '';
    await fire('shop', 'CartSlow', 'cart');
    await fire('shop', 'CatalogSlow', 'catalog');
    while (!text.includes('CatalogSlow')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    controller.abort();
    expect(text).toContain('"component":"catalog"');
    expect(text).not.toContain('CartSlow');
  });
});

describe('dashboard in Chromium', () => {
  it('renders every main view, reachable with the keyboard, with labelled controls', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));

      // A wrong token is refused with the server's reason; nothing is stored.
      await page.goto(url);
      await page.getByLabel('Access token').fill('not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      expect(await page.getByRole('alert').innerText()).toMatch(/token/i);

      await signIn(page, url, adminToken);
      await page.getByLabel('Namespace').selectOption('shop');
      await page.getByRole('heading', { name: 'Overview of shop' }).waitFor();
      await page.getByText('ShopDown').first().waitFor();
      await screenshot(page, 'overview');

      // Keyboard: tab from the brand link to the views and open each with Enter.
      for (const [view, heading] of [
        ['Incidents', 'Incidents and alerts'],
        ['Approvals', 'Approvals'],
        ['Platform', 'Platform: shop'],
        ['Telemetry', 'Telemetry'],
        ['Builds', 'Builds'],
        ['Audit', 'Audit log'],
        ['Cost', 'LLM cost in shop'],
      ] as const) {
        await page.getByRole('link', { name: 'opspilot' }).focus();
        let focused = '';
        for (let step = 0; step < 10 && focused !== view; step += 1) {
          await page.keyboard.press('Tab');
          focused = String(await page.evaluate("document.activeElement?.textContent ?? ''"));
        }
        expect(focused).toBe(view);
        await page.keyboard.press('Enter');
        await page.getByRole('heading', { name: heading, exact: true }).waitFor();
        await screenshot(page, view.toLowerCase());
      }
      expect(await page.locator('header a[aria-current="page"]').innerText()).toBe('Cost');

      // A binding's detail: replicas and events, and a change proposed from there runs through governance
      // (dev allows it at once) and the matrix shows the result without a reload.
      await page.getByRole('link', { name: 'Platform' }).click();
      await page.getByRole('link', { name: 'catalog in dev' }).click();
      await page.getByRole('heading', { name: 'catalog in dev' }).waitFor();
      await page.getByText('Started').first().waitFor();
      await page.getByRole('button', { name: 'Scale to 2' }).click();
      await page
        .getByRole('status')
        .getByText(/scale catalog in dev from 1 to 2 replicas: (succeeded|verifying|executing)/)
        .waitFor();
      await screenshot(page, 'binding');
      await page.getByRole('link', { name: '← all components' }).click();
      await page.getByTestId('cell-catalog-dev').getByText('2/2 ready').waitFor({ timeout: 30_000 });

      // A report of the ShopDown alert (investigated on demand), and its chat answered from the report.
      const alert = (await opspilot.governance.forCaller(systemCaller).alerts({ namespace: 'shop' })).find(
        (candidate) => candidate.rule.includes('ShopDown'),
      );
      if (alert === undefined) throw new Error('no ShopDown alert');
      const report = await opspilot.rcaAgent.investigate(systemCaller, alert, 'manual');
      await page.goto(`${url}/#/reports/${report.id}`);
      await page.getByRole('heading', { name: 'Root causes' }).waitFor();
      await page.getByLabel('Question').fill('what should I do?');
      await page.getByRole('button', { name: 'Ask' }).click();
      await page.locator('.turn.assistant', { hasText: 'What to do:' }).waitFor();
      expect(await page.locator('.turn.assistant').innerText()).toContain('answered from the report');
      await screenshot(page, 'report-chat');

      // The audit view verifies the chain and filters (vic opened the live stream above); each telemetry view
      // opens from its tab.
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.getByRole('status').getByText('chain ok').waitFor();
      await page.getByLabel('Principal').fill('vic');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByRole('cell', { name: 'platform.read' }).first().waitFor();
      await screenshot(page, 'audit');
      for (const tab of ['Error templates', 'Metrics', 'Traces', 'Service map', 'Logs']) {
        await page.goto(`${url}/#/telemetry`);
        await page
          .getByRole('navigation', { name: 'Telemetry views' })
          .getByRole('link', { name: tab })
          .click();
        await page.locator(`nav.tabs a[aria-current="page"]`, { hasText: tab }).waitFor();
      }
      await page.getByRole('button', { name: 'Search' }).waitFor();

      // Every form control on the way has an accessible name.
      const unnamed = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
        .filter((element) => !(
          element.getAttribute('aria-label') !== null ||
          (element.id !== '' && document.querySelector('label[for="' + element.id + '"]') !== null) ||
          element.closest('label') !== null ||
          (element.tagName === 'BUTTON' && (element.textContent ?? '').trim() !== '')
        ))
        .map((element) => element.outerHTML)`);
      expect(unnamed).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
