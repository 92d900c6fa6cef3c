/**
 * A real headless Chromium (Debian's package, never a downloaded browser) driven by playwright-core,
 * with every console error, page error and failed request of a page collected for the test to check.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });

export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught page errors and failed or 4xx/5xx requests, in order. */
  problems: string[];
  close(): Promise<void>;
}

/** `prepare` runs before the page loads, e.g. to route its requests. */
export async function openPage(
  browser: Browser,
  url: string,
  prepare?: (page: Page) => Promise<unknown>,
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1180, height: 820 } });
  const page = await context.newPage();
  await prepare?.(page);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Leaving a page aborts its long poll on purpose.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') {
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(url);
  return { page, problems, close: () => context.close() };
}

/**
 * `npm run screenshots` sets ROLLOUT_SCREENSHOTS to a directory: the console test then saves each
 * page it has just checked there (the README shows them from docs/).
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.ROLLOUT_SCREENSHOTS;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `console-${name}.png`), fullPage: true });
}
