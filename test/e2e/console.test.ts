/**
 * The web console in a real headless Chromium against the local runtime and API server: the token
 * prompt, the plans list, a plan page, a task page with its stages and the task machine's graph,
 * pause and resume from the UI, a live update, and pages free of browser console errors.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import taskMachine from '../../statemachines/task.asl.json' with { type: 'json' };
import { waitForPlan } from '../integration/orchestration/harness.ts';
import { launchChromium, openPage, screenshot, type WatchedPage } from './browser.ts';
import { type ApiHarness, startApiHarness, TOKEN, tenant } from './harness.ts';

let api: ApiHarness;
let browser: Browser;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  api = await startApiHarness();
  browser = await launchChromium();
});
afterAll(async () => {
  for (const page of pages) await page.close();
  await browser?.close();
  await api?.stop();
});

async function open(path: string, token: string | null = TOKEN, prepare?: (page: Page) => Promise<unknown>) {
  const watched = await openPage(browser, `${api.url}${path}${token ? `#token=${token}` : ''}`, prepare);
  pages.push(watched);
  return watched;
}

async function createPlan(tenants: string[], extra: Record<string, unknown> = {}) {
  const reply = await api.call('POST', '/v1/plans', { body: api.planBody(tenants, extra) });
  expect(reply.status).toBe(201);
  return reply.body as { planId: string; taskIds: string[] };
}

const TASK_STATES = Object.keys(taskMachine.States);

describe('the web console', () => {
  let done: { planId: string; taskIds: string[]; tenants: string[] };

  beforeAll(async () => {
    const tenants = [tenant('acme'), tenant('globex'), tenant('initech')];
    const plan = await createPlan(tenants, { name: 'console: three tenants', maxConcurrency: 2 });
    await waitForPlan(api.h, plan.planId, ['COMPLETED']);
    done = { ...plan, tenants };
  });

  it("answers a task's execution with the definition it runs and its history, paged", async () => {
    const reply = await api.call('GET', `/v1/tasks/${done.taskIds[0]}/execution`);

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ taskId: done.taskIds[0], status: 'SUCCEEDED' });
    expect(Object.keys(reply.body.definition.States).sort()).toEqual([...TASK_STATES].sort());
    const entered = reply.body.events
      .filter((e: { type: string }) => e.type.endsWith('StateEntered'))
      .map((e: { stateEnteredEventDetails: { name: string } }) => e.stateEnteredEventDetails.name);
    expect(entered[0]).toBe(taskMachine.StartAt);
    expect(entered).toContain('Task completed');
    expect(reply.body.nextToken).toBeUndefined();

    const badToken = await api.call('GET', `/v1/tasks/${done.taskIds[0]}/execution?nextToken=nope`);
    expect(badToken.status).toBe(400);
    expect(badToken.body.details.fields[0].path).toBe('query.nextToken');
    const unknown = await api.call('GET', '/v1/tasks/01ARZ3NDEKTSV4RRFFQ69G5FAV-00000/execution');
    expect(unknown.status).toBe(404);
  });

  it('is served at /console with its favicon, and never from another origin', async () => {
    const page = await fetch(`${api.url}/console`);
    const html = await page.text();
    const favicon = await fetch(`${api.url}/console/favicon.svg`);
    const script = await fetch(`${api.url}/console/console.js`);

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html).toContain('rel="icon"');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(favicon.headers.get('content-type')).toBe('image/svg+xml');
    expect(script.status).toBe(200);
    expect((await fetch(`${api.url}/console/nope.js`)).status).toBe(404);
    expect((await fetch(`${api.url}/console/..%2Fpackage.json`)).status).toBe(404);
  });

  it('asks for the token once, keeps it for the tab, and asks again when the API refuses it', async () => {
    const { page } = await open('/console', null);

    await expect.poll(() => page.getByLabel('API token').isVisible()).toBe(true);
    await screenshot(page, 'token');
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('refused this token');

    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Plans' }).isVisible()).toBe(true);
    await page.reload();
    await expect.poll(() => page.getByRole('heading', { name: 'Plans' }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('rollout.token'))).toBe(TOKEN);
  });

  it('lists plans newest first with their status and progress, and filters them by status', async () => {
    const { page } = await open('/console');
    const row = page.locator(`tr[data-plan="${done.planId}"]`);

    await expect.poll(() => row.textContent()).toContain('console: three tenants');
    expect(await row.textContent()).toContain('✓ COMPLETED');
    expect(await row.locator('progress').getAttribute('value')).toBe('100');
    expect(page.url()).not.toContain('token=');
    await screenshot(page, 'plans');

    await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
    await expect.poll(() => page.url()).toContain('status=FAILED');
    await expect.poll(() => page.locator(`tr[data-plan="${done.planId}"]`).count()).toBe(0);
  });

  it('shows a plan with its counts, every tenant, a tenant search, a status filter and its events', async () => {
    const { page } = await open(`/console/plans/${done.planId}`);

    await expect
      .poll(() => page.getByRole('heading', { name: 'console: three tenants' }).isVisible())
      .toBe(true);
    for (const t of done.tenants)
      await expect.poll(() => page.locator(`tr[data-tenant="${t}"]`).count()).toBe(1);
    expect(await page.getByRole('list', { name: 'Tasks per status' }).textContent()).toContain('COMPLETED 3');
    await expect
      .poll(() => page.getByRole('list', { name: 'Events' }).textContent())
      .toContain('PlanCompleted');
    await screenshot(page, 'plan');

    await page.getByLabel('Tenant', { exact: true }).fill(done.tenants[1]!);
    await expect.poll(() => page.locator('tbody tr[data-tenant]').count()).toBe(1);
    await page.getByLabel('Tenant', { exact: true }).fill('');
    await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
    await expect.poll(() => page.getByText('No task matches.').isVisible()).toBe(true);
  });

  it("shows a task's stages with each endpoint's health answer, and the task machine's graph from its ASL", async () => {
    const { page } = await open(`/console/plans/${done.planId}`);
    await page.locator(`tr[data-tenant="${done.tenants[0]}"] a`).click();

    await expect.poll(() => page.getByRole('heading', { name: /Tenant acme/ }).isVisible()).toBe(true);
    expect(page.url()).toBe(`${api.url}/console/tasks/${done.taskIds[0]}`);
    const app = page.locator('li.stage[data-stage="app"]');
    await expect.poll(() => app.locator('table.answers').textContent()).toContain('✓ healthy');
    expect(await app.locator('h3').textContent()).toContain('completed');
    expect(await app.getByRole('list', { name: 'Steps of app' }).textContent()).toContain(
      'health-check: done',
    );
    expect(await app.locator('table.answers').textContent()).toContain(`/t/${done.tenants[0]}/app`);

    const graph = page.getByRole('group', { name: 'State machine of this execution' });
    await expect.poll(() => graph.locator('g.state').count()).toBe(TASK_STATES.length);
    const names = await graph
      .locator('g.state')
      .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state')));
    expect(names.sort()).toEqual([...TASK_STATES].sort());
    for (const name of TASK_STATES.filter((n) => n.length <= 24)) {
      expect(await graph.locator('text.name', { hasText: name }).count()).toBeGreaterThan(0);
    }
    expect(await graph.locator('g.state[data-state="Task completed"]').getAttribute('data-mark')).toBe(
      'visited',
    );
    expect(await graph.locator('g.state[data-state="Task failed"]').getAttribute('data-mark')).toBe(
      'not-visited',
    );
    await screenshot(page, 'task');

    await graph.locator('g.state[data-state="Run stage"]').focus();
    await page.keyboard.press('Enter');
    const details = page.locator('#state-details');
    await expect.poll(() => details.textContent()).toContain('State "Run stage"');
    expect(await details.textContent()).toContain(done.planId);
    expect(await details.textContent()).toContain('"stage": "app"');
    expect(await details.locator('summary', { hasText: 'Output' }).count()).toBeGreaterThan(0);
  });

  it('pauses a tenant and resumes it from the UI, each after a confirmation saying what it will do', async () => {
    const holder = tenant('holder');
    const target = tenant('target');
    // The holder stays unhealthy until released, so the target has not started when it is paused.
    api.h.engine.setFaults({ tenantId: holder, neverHealthy: true });
    const plan = await createPlan([holder, target], {
      maxConcurrency: 1,
      healthCheck: { intervalSeconds: 0.3, maxAttempts: 100, timeoutSeconds: 2 },
    });
    const { page } = await open(`/console/tasks/${plan.taskIds[1]}`);
    await expect.poll(() => page.getByRole('heading', { name: /Tenant target/ }).isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('stops at its next stage boundary');
    await dialog.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Pause tenant');
    await expect.poll(() => page.locator('.summary').textContent()).toContain('pause requested');

    api.h.engine.clearFaults({ tenantId: holder });
    await expect
      .poll(() => page.locator('.summary .badge').first().textContent(), { timeout: 30_000 })
      .toContain('PAUSED');

    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    expect(await dialog.textContent()).toContain('continues from the stage where it stopped');
    await dialog.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect
      .poll(() => page.locator('.summary .badge').first().textContent(), { timeout: 30_000 })
      .toContain('COMPLETED');
    expect((await api.call('GET', `/v1/tasks/${plan.taskIds[1]}`)).body.status).toBe('COMPLETED');
  });

  it("shows a plan's waves and approves the waiting one after a confirmation, though the wait began while the page loaded", async () => {
    const [first, second] = [tenant('wave-ui-0'), tenant('wave-ui-1')];
    // The canary stays unhealthy until the page has rendered it running; the page's first read of
    // the events is held until the next wave waits, as on a busy machine where that read comes late.
    api.h.engine.setFaults({ tenantId: first, neverHealthy: true });
    const plan = await createPlan([first, second], {
      healthCheck: { intervalSeconds: 0.6, maxAttempts: 100, timeoutSeconds: 2 },
      strategy: {
        waves: [
          { name: 'canary', count: 1 },
          { name: 'rest', approval: true },
        ],
      },
    });
    const waveStatus = async (index: number) =>
      (await api.call('GET', `/v1/plans/${plan.planId}`)).body.waves[index].status;
    await expect.poll(() => waveStatus(0), { timeout: 30_000 }).toBe('RUNNING');
    let releaseEvents!: () => void;
    const eventsReleased = new Promise<void>((resolve) => {
      releaseEvents = resolve;
    });
    const { page } = await open(`/console/plans/${plan.planId}`, TOKEN, (page) =>
      page.route(
        /\/events\?/,
        async (route) => {
          await eventsReleased;
          await route.continue();
        },
        { times: 1 },
      ),
    );
    await expect.poll(() => page.locator('table.waves').textContent()).toContain('RUNNING');

    api.h.engine.clearFaults({ tenantId: first });
    await expect.poll(() => waveStatus(1), { timeout: 30_000 }).toBe('AWAITING_APPROVAL');
    releaseEvents();
    await expect
      .poll(() => page.getByRole('button', { name: 'Approve wave rest' }).isVisible(), { timeout: 30_000 })
      .toBe(true);
    expect(await page.locator('table.waves').textContent()).toContain('AWAITING_APPROVAL');

    await page.getByRole('button', { name: 'Approve wave rest' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Wave rest starts');
    await dialog.getByRole('button', { name: 'Approve wave rest' }).click();

    await waitForPlan(api.h, plan.planId, ['COMPLETED']);
    await expect
      .poll(() => page.locator('table.waves tbody tr').allTextContents(), { timeout: 30_000 })
      .toEqual([expect.stringContaining('COMPLETED'), expect.stringContaining('COMPLETED')]);
  });

  it('keeps an action undone when its confirmation is dismissed', async () => {
    const { page } = await open(`/console/tasks/${done.taskIds[2]}`);
    await expect
      .poll(() => page.getByRole('button', { name: 'Roll back', exact: true }).isVisible())
      .toBe(true);

    await page.getByRole('button', { name: 'Roll back', exact: true }).click();
    expect(await page.getByRole('dialog').textContent()).toContain('previous good config');
    await page.keyboard.press('Escape');

    expect(await page.getByRole('dialog').isVisible()).toBe(false);
    expect((await api.call('GET', `/v1/tasks/${done.taskIds[2]}`)).body.status).toBe('COMPLETED');
  });

  it('updates a plan page live as its tasks run', async () => {
    const slow = tenant('live');
    api.h.engine.setFaults({ tenantId: slow, neverHealthy: true });
    const plan = await createPlan([slow], {
      name: 'console: live',
      healthCheck: { intervalSeconds: 0.3, maxAttempts: 100, timeoutSeconds: 2 },
    });
    const { page } = await open(`/console/plans/${plan.planId}`);
    const row = page.locator(`tr[data-tenant="${slow}"]`);
    await expect.poll(() => row.textContent()).toMatch(/RUNNING|PENDING|CREATED/);

    api.h.engine.clearFaults({ tenantId: slow });

    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain('✓ COMPLETED');
    await expect
      .poll(() => page.getByRole('list', { name: 'Events' }).textContent())
      .toContain('TaskCompleted');
    await expect.poll(() => page.locator('.summary .badge').first().textContent()).toContain('COMPLETED');
  });

  it('loads every page without an error in the browser console or a failed request', async () => {
    for (const path of ['/console', `/console/plans/${done.planId}`, `/console/tasks/${done.taskIds[1]}`]) {
      const watched = await open(path);
      await expect.poll(() => watched.page.locator('main h1').count()).toBeGreaterThan(0);
      await expect.poll(() => watched.page.locator('table, .timeline li').count()).toBeGreaterThan(0);

      expect(watched.problems, path).toEqual([]);
      expect(await watched.page.locator('link[rel="icon"]').getAttribute('href')).toBe(
        '/console/favicon.svg',
      );
    }
    expect((await readFile('dist/console/console.js', 'utf8')).length).toBeLessThan(100_000);
  });
});
