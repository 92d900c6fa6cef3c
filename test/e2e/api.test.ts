import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, ROUTES } from '../../functions/api/routes.ts';
import { waitForPlan, waitForTask } from '../integration/orchestration/harness.ts';
import { eventually } from '../integration/support.ts';
import { type ApiHarness, startApiHarness, tenant } from './harness.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(async () => {
  await api?.stop();
});

async function createPlan(tenants: string[], extra: Record<string, unknown> = {}) {
  const reply = await api.call('POST', '/v1/plans', { body: api.planBody(tenants, extra) });
  expect(reply.status).toBe(201);
  return reply.body as { planId: string; taskIds: string[] };
}

const taskStatus = async (taskId: string) => (await api.call('GET', `/v1/tasks/${taskId}`)).body.status;
const waitForTaskStatus = (taskId: string, status: string) =>
  eventually(async () => (await taskStatus(taskId)) === status, 30_000, 50);

describe('system routes', () => {
  it('reports every component healthy without a token', async () => {
    const reply = await api.call('GET', '/v1/health', { token: null });

    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('healthy');
    expect(reply.body.components.store.status).toBe('up');
    expect(reply.body.components.orchestrator.status).toBe('up');
    expect(reply.body.components.eventBus.status).toBe('up');
    expect(reply.body.components.staleTasks).toEqual({ status: 'ok', count: 0, tenants: [] });
    expect(reply.body.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('serves an OpenAPI 3.1 document naming every route of the table', async () => {
    const reply = await api.call('GET', '/openapi.json', { token: null });

    expect(reply.status).toBe(200);
    expect(reply.body.openapi).toBe('3.1.0');
    const operations = Object.entries(
      reply.body.paths as Record<string, Record<string, { operationId: string }>>,
    )
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([m, op]) => `${m.toUpperCase()} ${path} ${op.operationId}`),
      )
      .sort();
    expect(operations).toEqual(ROUTES.map((r) => `${r.method} ${r.path} ${r.operationId}`).sort());
  });

  it('answers 404 for an unknown route and 405 for a known path with another method', async () => {
    const missing = await api.call('GET', '/v1/nope');
    const wrongMethod = await api.call('POST', '/v1/engines', { body: {} });

    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('ROUTE_NOT_FOUND');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });
});

describe('creating plans', () => {
  it('creates a plan (201) that runs to COMPLETED, with counts, progress and task status', async () => {
    const [a, b] = [tenant('create-a'), tenant('create-b')];
    const created = await api.call('POST', '/v1/plans', {
      body: api.planBody([a, b], { name: 'two', maxConcurrency: 2 }),
    });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ validatedCount: 2, status: 'CREATED' });
    expect(created.body.taskIds).toHaveLength(2);
    await waitForPlan(api.h, created.body.planId, ['COMPLETED']);

    const plan = await api.call('GET', `/v1/plans/${created.body.planId}`);
    expect(plan.body).toMatchObject({
      name: 'two',
      status: 'COMPLETED',
      totalTasks: 2,
      completedTasks: 2,
      progressPercent: 100,
      counts: { COMPLETED: 2 },
    });
    // Locally the web console of this server is the console; the AWS console knows nothing of local runs.
    expect(plan.body.consoleUrl).toBe(`${api.url}/console/plans/${created.body.planId}`);
    expect(plan.body.awsConsoleUrl).toBeUndefined();

    const tasks = await api.call('GET', `/v1/plans/${created.body.planId}/tasks`);
    expect(tasks.body.tasks.map((t: { tenantId: string }) => t.tenantId)).toEqual([a, b]);
    expect(tasks.body.tasks[0]).toMatchObject({
      status: 'COMPLETED',
      completedStages: 2,
      totalStages: 2,
      progressPercent: 100,
      stages: ['app', 'db'],
      paused: false,
      cancelled: false,
      retryCount: 0,
    });
    expect(tasks.body.tasks[0].consoleUrl).toBe(`${api.url}/console/tasks/${created.body.taskIds[0]}`);

    const task = await api.call('GET', `/v1/tasks/${created.body.taskIds[1]}`);
    expect(task.body).toMatchObject({ taskId: created.body.taskIds[1], tenantId: b, status: 'COMPLETED' });
    const byTenant = await api.call('GET', `/v1/tenants/${b}/task`);
    expect(byTenant.body.taskId).toBe(created.body.taskIds[1]);
  });

  it('returns the first plan (200, same body) when an Idempotency-Key repeats, and 422 for another body', async () => {
    const key = `key-${tenant('idem')}`;
    const body = api.planBody([tenant('idem')]);

    const first = await api.call('POST', '/v1/plans', { body, headers: { 'idempotency-key': key } });
    const again = await api.call('POST', '/v1/plans', { body, headers: { 'idempotency-key': key } });
    const other = await api.call('POST', '/v1/plans', {
      body: api.planBody([tenant('idem-other')]),
      headers: { 'idempotency-key': key },
    });

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.planId).toBe(first.body.planId);
    expect(again.body.taskIds).toEqual(first.body.taskIds);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(other.body.details.planId).toBe(first.body.planId);
  });

  it('previews a dryRun plan with stages and lock conflicts, storing and starting nothing', async () => {
    const held = tenant('held');
    const free = tenant('free');
    const holder = await createPlan([held]);
    // A paused task keeps its tenant lock while it waits.
    await api.call('POST', `/v1/tenants/${held}/pause`);
    await waitForTaskStatus(holder.taskIds[0]!, 'PAUSED');
    const before = await api.call('GET', '/v1/plans', { headers: {} });

    const preview = await api.call('POST', '/v1/plans', {
      body: { ...api.planBody([free, held]), dryRun: true, maxConcurrency: 3 },
    });

    expect(preview.status).toBe(200);
    expect(preview.body.dryRun).toBe(true);
    expect(preview.body.settings.maxConcurrency).toBe(3);
    expect(
      preview.body.tasks.map((t: { tenantId: string; stages: string[] }) => [t.tenantId, t.stages]),
    ).toEqual([
      [free, ['app', 'db']],
      [held, ['app', 'db']],
    ]);
    expect(preview.body.lockConflicts).toEqual([
      expect.objectContaining({
        tenantId: held,
        heldByTaskId: holder.taskIds[0],
        heldByPlanId: holder.planId,
      }),
    ]);
    // Nothing stored, nothing started (the held task keeps heartbeating, so the table itself is not still).
    expect((await api.call('GET', '/v1/plans')).body.plans[0].planId).toBe(before.body.plans[0].planId);
    expect((await api.call('GET', `/v1/tenants/${free}/task`)).status).toBe(404);
    expect(await api.h.deps.store.getLock(free)).toBeUndefined();

    await api.call('POST', `/v1/plans/${holder.planId}/cancel`);
    await waitForPlan(api.h, holder.planId, ['CANCELLED']);
  });
});

describe('waves', () => {
  it('previews each wave with its tenants, and per tenant and service what changes against the current config', async () => {
    const deployed = tenant('wave-deployed');
    const fresh = tenant('wave-fresh');
    const first = await createPlan([deployed]);
    await waitForPlan(api.h, first.planId, ['COMPLETED']);
    const body = api.planBody([deployed, fresh], {
      dryRun: true,
      maxConcurrency: 2,
      strategy: {
        waves: [{ name: 'canary', tenants: [deployed], bakeSeconds: 1.5, approval: true }, { name: 'rest' }],
        alarms: ['errors-high'],
      },
    });
    const configs = (body.configs as Record<string, unknown>[]).map((c) => ({
      ...c,
      deployUnitVersion: '3',
    }));

    const preview = await api.call('POST', '/v1/plans', { body: { ...body, configs } });

    expect(preview.status).toBe(200);
    expect(preview.body.waves).toEqual([
      expect.objectContaining({
        name: 'canary',
        tenants: [deployed],
        bakeSeconds: 1.5,
        approval: true,
        maxConcurrency: 2,
      }),
      expect.objectContaining({
        name: 'rest',
        tenants: [fresh],
        failureThreshold: { count: 0 },
        approval: false,
      }),
    ]);
    expect(preview.body.strategy).toEqual({ onFailure: 'HALT', alarms: ['errors-high'] });
    const [deployedTask, freshTask] = preview.body.tasks;
    expect(deployedTask.wave).toBe('canary');
    expect(deployedTask.changes).toEqual([
      { service: 'app', currentVersion: '2', changes: [{ field: 'deployUnitVersion', from: '2', to: '3' }] },
      { service: 'db', currentVersion: '2', changes: [{ field: 'deployUnitVersion', from: '2', to: '3' }] },
    ]);
    expect(freshTask.wave).toBe('rest');
    expect(freshTask.changes[0].currentVersion).toBeUndefined();
    expect(freshTask.changes[0].changes).toContainEqual({ field: 'deployUnitVersion', to: '3' });
    expect((await api.call('GET', `/v1/tenants/${fresh}/task`)).status).toBe(404);
  });

  it('answers 400 naming the wave field when a tenant is left in no wave, and stores nothing', async () => {
    const left = tenant('wave-left');
    const reply = await api.call('POST', '/v1/plans', {
      body: api.planBody([tenant('wave-first'), left], {
        strategy: { waves: [{ name: 'canary', count: 1 }] },
      }),
    });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields).toEqual([
      { path: 'strategy.waves', message: expect.stringContaining(`tenant(s) ${left} in no wave`) },
    ]);
    expect((await api.call('GET', `/v1/tenants/${left}/task`)).status).toBe(404);
  });

  it('shows the waves in the plan view, holds a gated wave until POST /approve, and answers 409 when nothing waits', async () => {
    const [first, second] = [tenant('wave-gate-0'), tenant('wave-gate-1')];
    const created = await api.call('POST', '/v1/plans', {
      body: api.planBody([first, second], {
        strategy: {
          waves: [
            { name: 'canary', count: 1 },
            { name: 'rest', approval: true },
          ],
        },
      }),
    });
    expect(created.status).toBe(201);
    const planId = created.body.planId as string;
    const waiting = await eventually(
      async () => {
        const view = await api.call('GET', `/v1/plans/${planId}`);
        // The wave and the plan's currentWave are read one after the other: wait for both.
        return view.body.waves?.[1]?.status === 'AWAITING_APPROVAL' && view.body.currentWave === 'rest'
          ? view.body
          : undefined;
      },
      30_000,
      50,
    );
    expect(waiting.currentWave).toBe('rest');
    expect(waiting.waves[0]).toMatchObject({
      name: 'canary',
      status: 'COMPLETED',
      tenantCount: 1,
      completed: 1,
      failed: 0,
    });
    expect((await api.call('GET', `/v1/tenants/${second}/task`)).body.status).toBe('CREATED');

    const approved = await api.call('POST', `/v1/plans/${planId}/approve`);

    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ targetType: 'PLAN', targetId: planId, success: true });
    await waitForPlan(api.h, planId, ['COMPLETED']);
    const again = await api.call('POST', `/v1/plans/${planId}/approve`);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('no wave waiting for approval');
    const done = await api.call('GET', `/v1/plans/${planId}`);
    expect(done.body.waves.map((w: { status: string }) => w.status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it('lists the strategy in the plan request schema of /openapi.json', async () => {
    const reply = await api.call('GET', '/openapi.json', { token: null });

    const request = reply.body.paths['/v1/plans'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(request.properties.strategy.properties).sort()).toEqual([
      'alarms',
      'onFailure',
      'waves',
    ]);
  });
});

describe('listing plans', () => {
  it('lists newest first, filters by status and pages with a cursor', async () => {
    const older = await createPlan([tenant('list-1')]);
    const newer = await createPlan([tenant('list-2')]);
    await waitForPlan(api.h, newer.planId, ['COMPLETED']);
    await waitForPlan(api.h, older.planId, ['COMPLETED']);

    const firstPage = await api.call('GET', '/v1/plans?limit=1');
    const secondPage = await api.call('GET', `/v1/plans?limit=1&cursor=${firstPage.body.cursor}`);
    const completed = await api.call('GET', '/v1/plans?status=COMPLETED&limit=100');
    const cancelled = await api.call('GET', '/v1/plans?status=CANCELLED&limit=100');

    expect(firstPage.body.plans.map((p: { planId: string }) => p.planId)).toEqual([newer.planId]);
    expect(secondPage.body.plans.map((p: { planId: string }) => p.planId)).toEqual([older.planId]);
    expect(completed.body.plans.every((p: { status: string }) => p.status === 'COMPLETED')).toBe(true);
    expect(completed.body.plans.map((p: { planId: string }) => p.planId)).toContain(newer.planId);
    expect(cancelled.body.plans.map((p: { planId: string }) => p.planId)).not.toContain(newer.planId);
  });

  it('rejects a cursor it never issued and bad query values, naming each', async () => {
    const badCursor = await api.call('GET', '/v1/plans?cursor=not-a-cursor');
    const badQuery = await api.call('GET', '/v1/plans?limit=abc&status=NOPE&extra=1');

    expect(badCursor.status).toBe(400);
    expect(badCursor.body.details.fields[0].path).toBe('cursor');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.details.fields.map((f: { path: string }) => f.path).sort()).toEqual([
      'query.extra',
      'query.limit',
      'query.status',
    ]);
  });
});

describe('bad input', () => {
  it('lists every bad field of a plan request with its path', async () => {
    const reply = await api.call('POST', '/v1/plans', {
      body: {
        maxConcurrency: 0,
        configs: [{ deployUnitVersion: '2' }, { tenantId: 'ok-tenant', serviceNames: [] }],
        surprise: true,
      },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('VALIDATION_FAILED');
    expect(reply.body.details.fields).toEqual(
      expect.arrayContaining([
        { path: 'maxConcurrency', message: 'at least 1' },
        { path: 'configs[0].tenantId', message: 'required' },
        { path: 'configs[1].deployUnitVersion', message: 'required' },
        { path: 'configs[1].serviceNames', message: 'must name at least one service' },
        { path: 'surprise', message: 'unknown field (surprise)' },
      ]),
    );
  });

  it('answers malformed JSON with 400 naming the body, and a missing body as required', async () => {
    const malformed = await api.call('POST', '/v1/plans', { rawBody: '{"configs": [' });
    const missing = await api.call('POST', '/v1/plans');
    const notAnObject = await api.call('POST', '/v1/plans', { body: ['configs'] });

    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('MALFORMED_JSON');
    expect(malformed.body.details.fields[0].path).toBe('body');
    expect(missing.status).toBe(400);
    expect(missing.body.details.fields).toEqual([{ path: 'body', message: 'required (a JSON object)' }]);
    expect(notAnObject.status).toBe(400);
  });

  it('refuses a body over the limit at the edge (413) and a Lambda event over 6 MB as API Gateway does (500), storing nothing', async () => {
    const before = await api.countItems();
    const overLimit = JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES), configs: [] });
    // Under the limit, but every `\"` is escaped again inside the Lambda event, which passes 6 MB.
    const overLambda = `{"name":"${'\\"'.repeat(MAX_BODY_BYTES / 2 - 100)}","configs":[]}`;

    const edge = await api.call('POST', '/v1/plans', { rawBody: overLimit });
    const lambda = await api.call('POST', '/v1/plans', { rawBody: overLambda });

    expect(edge.status).toBe(413);
    expect(edge.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: MAX_BODY_BYTES } });
    expect(Buffer.byteLength(overLambda)).toBeLessThan(MAX_BODY_BYTES);
    expect(lambda).toMatchObject({ status: 500, body: { message: 'Internal Server Error' } });
    expect(await api.countItems()).toBe(before);
  });

  it('rejects a malformed Idempotency-Key and options an operation does not take', async () => {
    const key = await api.call('POST', '/v1/plans', {
      body: api.planBody([tenant('key')]),
      headers: { 'idempotency-key': 'has spaces in it' },
    });
    const option = await api.call('POST', '/v1/plans/01ARZ3NDEKTSV4RRFFQ69G5FAV/pause', {
      body: { fromCheckpoint: true },
    });

    expect(key.status).toBe(400);
    expect(key.body.details.fields[0].path).toBe('headers.Idempotency-Key');
    expect(option.status).toBe(400);
    expect(option.body.details.fields[0]).toEqual({
      path: 'fromCheckpoint',
      message: 'unknown field (fromCheckpoint)',
    });
  });

  it('answers 404 for unknown plan, task and tenant ids on every kind of route', async () => {
    const unknownPlan = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const replies = await Promise.all([
      api.call('GET', `/v1/plans/${unknownPlan}`),
      api.call('GET', `/v1/plans/${unknownPlan}/tasks`),
      api.call('GET', `/v1/plans/${unknownPlan}/events`),
      api.call('DELETE', `/v1/plans/${unknownPlan}`),
      api.call('POST', `/v1/plans/${unknownPlan}/pause`),
      api.call('GET', `/v1/tasks/${unknownPlan}-00000`),
      api.call('GET', '/v1/tasks/not-a-task'),
      api.call('POST', `/v1/tasks/${unknownPlan}-00000/resume`),
      api.call('GET', '/v1/tenants/nobody-here/task'),
      api.call('POST', '/v1/tenants/nobody-here/cancel'),
    ]);

    expect(replies.map((r) => r.status)).toEqual(Array(replies.length).fill(404));
    expect(replies.map((r) => r.body.code)).toEqual(Array(replies.length).fill('NOT_FOUND'));
    expect(replies[0]!.body.message).toBe(`plan ${unknownPlan} not found`);
    expect(replies[8]!.body.message).toBe('task for tenant nobody-here not found');
  });
});

describe('operations', () => {
  it('refuses resume of a completed task with 409 naming its status', async () => {
    const plan = await createPlan([tenant('done')]);
    await waitForPlan(api.h, plan.planId, ['COMPLETED']);

    const resume = await api.call('POST', `/v1/tasks/${plan.taskIds[0]}/resume`);
    const retryPlan = await api.call('POST', `/v1/plans/${plan.planId}/retry`, {
      body: { fromCheckpoint: true },
    });

    expect(resume.status).toBe(409);
    expect(resume.body.code).toBe('ILLEGAL_TRANSITION');
    expect(resume.body.message).toContain('it is COMPLETED');
    expect(resume.body.details.currentStatus).toBe('COMPLETED');
    expect(retryPlan.status).toBe(409);
    expect(retryPlan.body.details.currentStatus).toBe('COMPLETED');
  });

  it('pauses and resumes a tenant, then pauses and resumes the whole plan', async () => {
    const [first, second] = [tenant('pause-1'), tenant('pause-2')];
    const plan = await createPlan([first, second], { maxConcurrency: 1 });

    const paused = await api.call('POST', `/v1/tenants/${second}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ targetType: 'TASK', targetId: plan.taskIds[1], success: true });
    await waitForTaskStatus(plan.taskIds[1]!, 'PAUSED');
    expect(await taskStatus(plan.taskIds[0]!)).toBe('COMPLETED');

    const planPause = await api.call('POST', `/v1/plans/${plan.planId}/pause`);
    expect(planPause.body).toMatchObject({ targetType: 'PLAN', finalStatus: 'PAUSED' });
    const planResume = await api.call('POST', `/v1/plans/${plan.planId}/resume`);
    expect(planResume.body).toMatchObject({ targetType: 'PLAN', success: true });

    const done = await waitForPlan(api.h, plan.planId, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
  });

  it('rolls a completed tenant back, and retries a failed task from its checkpoint', async () => {
    const good = tenant('rollback');
    const flaky = tenant('retry');
    api.h.engine.setFaults({ tenantId: flaky, service: 'db', failBroadcast: 503 });
    const plan = await createPlan([good, flaky], { maxConcurrency: 2 });
    await waitForPlan(api.h, plan.planId, ['FAILED']);

    const failed = await api.call('GET', `/v1/tasks/${plan.taskIds[1]}`);
    expect(failed.body).toMatchObject({
      status: 'FAILED',
      completedStages: 1,
      failureInfo: { type: 'BROADCAST', stage: 'db' },
    });
    api.h.engine.clearFaults({ tenantId: flaky, service: 'db' });
    const retry = await api.call('POST', `/v1/tenants/${flaky}/retry`, { body: { fromCheckpoint: true } });
    expect(retry.body).toMatchObject({ success: true, finalStatus: 'PENDING' });
    await waitForTaskStatus(plan.taskIds[1]!, 'COMPLETED');
    expect((await api.call('GET', `/v1/tasks/${plan.taskIds[1]}`)).body.retryCount).toBe(1);

    const rollback = await api.call('POST', `/v1/tasks/${plan.taskIds[0]}/rollback`);
    expect(rollback.body).toMatchObject({ success: true, finalStatus: 'ROLLING_BACK' });
    await waitForTask(api.h, plan.taskIds[0]!, (t) => t.status === 'ROLLED_BACK');
    const slot = api.h.engine.state().services.find((s) => s.tenantId === good && s.service === 'app');
    expect(slot?.version).toBe('1');
  });

  it('cancels a paused task', async () => {
    const t = tenant('cancel');
    const plan = await createPlan([t]);
    await api.call('POST', `/v1/tasks/${plan.taskIds[0]}/pause`);
    await waitForTaskStatus(plan.taskIds[0]!, 'PAUSED');

    const cancel = await api.call('POST', `/v1/tasks/${plan.taskIds[0]}/cancel`);

    expect(cancel.body).toMatchObject({ success: true, finalStatus: 'CANCELLED' });
    await waitForPlan(api.h, plan.planId, ['CANCELLED', 'COMPLETED', 'FAILED']);
  });
});

describe('deleting plans', () => {
  it('refuses a live plan without force (409), lists with dryRun, and deletes with force', async () => {
    const t = tenant('delete-live');
    const plan = await createPlan([t]);
    await api.call('POST', `/v1/tasks/${plan.taskIds[0]}/pause`);
    await waitForTaskStatus(plan.taskIds[0]!, 'PAUSED');

    const refused = await api.call('DELETE', `/v1/plans/${plan.planId}`);
    const dryRun = await api.call('DELETE', `/v1/plans/${plan.planId}?force=true&dryRun=true`);

    expect(refused.status).toBe(409);
    expect(refused.body.details.currentStatus).toBe('RUNNING');
    expect(dryRun.body).toMatchObject({
      planId: plan.planId,
      dryRun: true,
      status: 'RUNNING',
      cancelled: true,
    });
    expect(dryRun.body.items).toBeGreaterThan(2);
    expect((await api.call('GET', `/v1/plans/${plan.planId}`)).body.status).toBe('RUNNING');
    expect(await taskStatus(plan.taskIds[0]!)).toBe('PAUSED');

    const forced = await api.call('DELETE', `/v1/plans/${plan.planId}?force=true`);
    expect(forced.body).toMatchObject({ dryRun: false, cancelled: true });
    expect((await api.call('GET', `/v1/plans/${plan.planId}`)).status).toBe(404);
    // The tenant is free again: a new plan on it completes.
    const next = await createPlan([t]);
    expect((await waitForPlan(api.h, next.planId, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
  });

  it('deletes a finished plan and everything under it', async () => {
    const plan = await createPlan([tenant('delete-done')]);
    await waitForPlan(api.h, plan.planId, ['COMPLETED']);

    const deleted = await api.call('DELETE', `/v1/plans/${plan.planId}`);

    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ dryRun: false, cancelled: false, status: 'COMPLETED' });
    expect((await api.call('GET', `/v1/tasks/${plan.taskIds[0]}`)).status).toBe(404);
  });
});

describe('engines', () => {
  it('lists the engine registry, for everyone or one tenant', async () => {
    const all = await api.call('GET', '/v1/engines');
    const one = await api.call('GET', '/v1/engines?tenantId=nobody');

    expect(all.status).toBe(200);
    expect(Array.isArray(all.body.engines)).toBe(true);
    expect(one.body).toEqual({ engines: [] });
  });
});
