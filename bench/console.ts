/**
 * `node bench/console.ts [--tenants N] [--loads N]`: how long the web console takes to open a
 * large plan. A plan of N tenants (default 10,000) is submitted through the API at maxConcurrency
 * 1, so its tasks exist while almost none runs; then its page is opened in a fresh headless
 * Chromium context `--loads` times (default 5), each timed from navigation to the first rows of
 * the tasks table, with the API calls the page made. The plan is cancelled afterwards.
 * Writes bench/results/<date>-console.json and prints it on stderr (stdout carries the functions'
 * logs); needs the console bundle (`npm run build:console`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startApiServer } from '../local/api-server.ts';
import { startDynamoDbLocal } from '../local/dynamodb.ts';
import { launchChromium } from '../test/e2e/browser.ts';
import { planBody, startSystem } from './system.ts';

const { values } = parseArgs({
  options: { tenants: { type: 'string', default: '10000' }, loads: { type: 'string', default: '5' } },
});
const tenants = Number(values.tenants);
const loads = Number(values.loads);

const db = await startDynamoDbLocal();
const system = await startSystem(db.endpoint);
const token = 'bench-console';
const api = await startApiServer({ deps: system.deps, token, log: () => undefined });
const browser = await launchChromium();
const call = async (method: string, path: string, body?: unknown) => {
  const reply = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status >= 300) throw new Error(`${method} ${path}: HTTP ${reply.status} ${await reply.text()}`);
  return (await reply.json()) as Record<string, unknown>;
};
try {
  const submittedAt = performance.now();
  const accepted = await call(
    'POST',
    '/v1/plans',
    planBody(system, { tenants, stages: 2, maxConcurrency: 1 }),
  );
  const acceptMs = performance.now() - submittedAt;
  const planId = accepted.planId as string;
  // A large plan may be accepted while its tasks are still being written: wait until it lists them all.
  for (;;) {
    const plan = (await call('GET', `/v1/plans/${planId}`)) as { status: string; totalTasks: number };
    if (plan.status !== 'CREATING' && plan.totalTasks === tenants) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const loadsMs: number[] = [];
  const apiCalls: { path: string; ms: number }[][] = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ viewport: { width: 1180, height: 820 } });
    const page = await context.newPage();
    const calls: { path: string; ms: number }[] = [];
    page.on('requestfinished', (request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith('/v1/')) return;
      const timing = request.timing();
      calls.push({ path: `${url.pathname}${url.search}`, ms: Math.round(timing.responseEnd) });
    });
    const started = performance.now();
    await page.goto(`${api.url}/console/plans/${planId}#token=${token}`);
    await page.waitForSelector('table.tasks tbody tr');
    loadsMs.push(performance.now() - started);
    apiCalls.push(calls);
    await context.close();
  }
  const sorted = [...loadsMs].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms);
  const results = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10) },
    tenants,
    acceptMs: round(acceptMs),
    openMs: { median: round(sorted[Math.floor(sorted.length / 2)]!), max: round(sorted.at(-1)!) },
    loadsMs: loadsMs.map(round),
    apiCallsOfLastLoad: apiCalls.at(-1),
  };
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${results.date.slice(0, 10)}-console.json`, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`${JSON.stringify(results)}\n`);
  // Clean-up, after the results are written (the cancel answers 202; the plan's tasks follow).
  await call('POST', `/v1/plans/${planId}/cancel`);
} finally {
  await browser.close();
  await api.close();
  await system.stop();
  await db.stop();
}
