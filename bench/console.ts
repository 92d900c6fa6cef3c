/**
 * `node bench/console.ts [--tenants N] [--loads N]`: how long the web console takes to open a
 * large plan. A plan of N tenants (default 10,000) is submitted through the API at maxConcurrency
 * 1, so its tasks exist while almost none runs; then its page is opened in a fresh headless
 * Chromium context `--loads` times (default 5), each timed from the navigation's start to the
 * paint of the first rows of the tasks table, with what the page waited for on the way. The plan
 * is cancelled afterwards.
 *
 * The time is taken inside the page, as the browser timed it: the navigation's time origin to the
 * Element Timing entry of the first row's tenant cell (its text painted). Waiting from outside with
 * Playwright's waitForSelector measured more than the user sees: it polls at growing intervals (up
 * to 500 ms) and evaluates its own large script on the page's main thread while the page loads.
 * `benchSideMs` is when this process heard of the paint (its event loop also serves the API).
 *
 * Writes bench/results/<date>-console.json and prints it on stderr (stdout carries the functions'
 * logs); needs the console bundle (`npm run build:console`).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startApiServer } from '../local/api-server.ts';
import { startDynamoDbLocal } from '../local/dynamodb.ts';
import { launchChromium } from '../test/e2e/browser.ts';
import { type LoadBreakdown, observeFirstRows } from './console-page.ts';
import { planBody, startSystem } from './system.ts';

const { values } = parseArgs({
  options: { tenants: { type: 'string', default: '10000' }, loads: { type: 'string', default: '5' } },
});
const tenants = Number(values.tenants);
const loads = Number(values.loads);
const loadAtStart = os.loadavg().map((l) => Math.round(l * 10) / 10);

const ROWS_PAINTED = '__benchRowsPainted';

/** CPU time (ms) used so far by the Chromium this process launched: its browser and every child. */
function chromiumCpuMs(): number {
  const processes = new Map<number, { parent: number; comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // the process ended since the listing
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    processes.set(Number(name), {
      parent: Number(fields[1]),
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      // utime + stime, in clock ticks of 10 ms (USER_HZ 100 on Linux)
      ticks: Number(fields[11]) + Number(fields[12]),
    });
  }
  const launchedHere = (pid: number) => {
    for (let p = processes.get(pid)?.parent; p !== undefined && p > 1; p = processes.get(p)?.parent) {
      if (p === process.pid) return true;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, p] of processes) if (p.comm === 'chromium' && launchedHere(pid)) ticks += p.ticks;
  return ticks * 10;
}

/**
 * A new context keeps working after newPage returns: on this machine 0.6–1 CPU-second, nearly 3 for
 * the browser's first, mostly building the new window's omnibox popup (a WebUI page with its own
 * renderer). A user's browser did that when its window opened, not when they navigate, and on 2 cores
 * it would take the CPU the page needs: wait until Chromium is quiet (under 10 % of a core over
 * 300 ms). Returns whether it got quiet within 15 s.
 */
async function chromiumQuiet(): Promise<boolean> {
  const deadline = performance.now() + 15_000;
  let before = chromiumCpuMs();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = chromiumCpuMs();
    if (now - before <= 30) return true;
    before = now;
  }
  return false;
}

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
  const benchSideMs: number[] = [];
  const breakdowns: LoadBreakdown[] = [];
  /** Per load: whether Chromium had finished starting the context before the navigation. */
  const quiet: boolean[] = [];
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext({ viewport: { width: 1180, height: 820 } });
    const page = await context.newPage();
    const painted = Promise.withResolvers<LoadBreakdown>();
    await page.exposeBinding(ROWS_PAINTED, (_source, breakdown: LoadBreakdown) => painted.resolve(breakdown));
    await page.addInitScript(observeFirstRows, ROWS_PAINTED);
    quiet.push(await chromiumQuiet());
    const started = performance.now();
    await page.goto(`${api.url}/console/plans/${planId}#token=${token}`, { waitUntil: 'commit' });
    const breakdown = await Promise.race([
      painted.promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no task rows painted within 30 s')), 30_000).unref(),
      ),
    ]);
    benchSideMs.push(performance.now() - started);
    loadsMs.push(breakdown.rowsPaintedMs);
    breakdowns.push(breakdown);
    await context.close();
  }
  const sorted = [...loadsMs].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms);
  const results = {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, loadAverage: loadAtStart },
    tenants,
    acceptMs: round(acceptMs),
    openMs: { median: round(sorted[Math.floor(sorted.length / 2)]!), max: round(sorted.at(-1)!) },
    loadsMs: loadsMs.map(round),
    benchSideMs: benchSideMs.map(round),
    chromiumQuietBeforeLoad: quiet,
    breakdowns,
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
