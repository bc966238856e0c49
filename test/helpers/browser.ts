// Real Chromium for the dashboard's end-to-end tests: Debian's `chromium` driven by playwright-core (nothing is
// downloaded). Screenshots go to test-output/dashboard/, to be looked at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const screenshotDir = join(process.cwd(), 'test-output', 'dashboard');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Signs in on the sign-in form with the keyboard only: focus the token field, type, tab to the button, enter. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  const field = page.getByLabel('Access token');
  await field.focus();
  await page.keyboard.insertText(token);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
