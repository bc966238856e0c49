// The dashboard's weight and first load, on a real `opspilot up` and real Chromium (Debian `chromium` driven by
// playwright-core): JavaScript and CSS gzipped as served, and the time from navigation to the signed-in
// overview being shown (a new browser context per run, so nothing is cached). RUNS (default 7); medians.
// Prints JSON.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium } from '../test/helpers/browser.js';
import { freshServer, machine, median, print, round } from './lib/harness.js';

const runs = Number(process.env.RUNS ?? 7);
const assets = join(process.cwd(), 'dist', 'web', 'assets');
const sizes = { js: 0, jsGzip: 0, css: 0, cssGzip: 0 };
for (const name of readdirSync(assets)) {
  const bytes = readFileSync(join(assets, name));
  if (name.endsWith('.js')) {
    sizes.js += bytes.length;
    sizes.jsGzip += gzipSync(bytes).length;
  } else if (name.endsWith('.css')) {
    sizes.css += bytes.length;
    sizes.cssGzip += gzipSync(bytes).length;
  }
}

const { server, stop } = await freshServer();
const browser = await launchChromium();
const loads: number[] = [];
const domContentLoaded: number[] = [];
try {
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext();
    // Signed in already (the token in session storage), as an engineer opening a link from an alert.
    await context.addInitScript(`sessionStorage.setItem('opspilot.token', ${JSON.stringify(server.token)})`);
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: /^Overview of / }).waitFor();
    loads.push(performance.now() - started);
    domContentLoaded.push(
      Number(await page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")),
    );
    await context.close();
  }
} finally {
  await browser.close();
  await stop();
}

print({
  benchmark: 'dashboard: first load on localhost and bundle size',
  machine: machine(),
  runs,
  bundle: {
    javascriptBytes: sizes.js,
    javascriptGzipBytes: sizes.jsGzip,
    cssBytes: sizes.css,
    cssGzipBytes: sizes.cssGzip,
  },
  firstLoad: {
    toSignedInOverviewMsMedian: round(median(loads)),
    domContentLoadedMsMedian: round(median(domContentLoaded)),
    runsMs: loads.map((value) => round(value)),
  },
  targets: { firstLoadMs: '< 1000', javascriptGzipBytes: '< 500000' },
});
