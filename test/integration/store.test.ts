import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { recoveryChange } from '../../functions/core/decisions.ts';
import { IllegalTransition } from '../../functions/core/errors.ts';
import { EVENT_SK_PREFIX, planPk, taskIdsOf } from '../../functions/core/keys.ts';
import { buildPlan, requestHash } from '../../functions/core/plans.ts';
import { type PlanRequest, planRequestSchema } from '../../functions/core/schemas.ts';
import { deploymentSettings } from '../../functions/core/settings.ts';
import { inPartition } from '../../functions/core/store/context.ts';
import { createStore, type Store } from '../../functions/core/store/index.ts';
import { freshTable } from './support.ts';

let store: Store;
let clock = Date.parse('2026-01-01T00:00:00Z');

beforeAll(async () => {
  const { client, tableName } = await freshTable();
  store = createStore({ client, tableName, now: () => new Date(clock) });
});

function request(tenants: string[], extra: Partial<PlanRequest> = {}): PlanRequest {
  return planRequestSchema.parse({
    configs: tenants.map((tenantId) => ({
      tenantId,
      deployUnitVersion: '2',
      serviceNames: ['app', 'media'],
    })),
    ...extra,
  });
}

let planCounter = 0;
async function newPlan(tenants: string[], idempotencyKey?: string) {
  clock += 1000;
  const planId = `01K${String(++planCounter).padStart(23, '0')}`;
  const built = buildPlan(request(tenants), deploymentSettings({}), {
    planId,
    now: new Date(clock),
    idempotencyKey,
  });
  const result = await store.createPlan(built.plan, built.tasks, { idempotencyKey });
  return { ...built, plan: { ...built.plan, taskIds: taskIdsOf(built.plan) }, result };
}

describe('plans', () => {
  it('creates a plan with one task per tenant, in request order, each with a TaskCreated event', async () => {
    const { plan } = await newPlan(['acme', 'globex', 'initech']);

    const tasks = await store.listTasks(plan.planId);
    const { events } = await store.listEvents(plan.planId);

    expect(tasks.map((t) => t.tenantId)).toEqual(['acme', 'globex', 'initech']);
    expect(tasks.every((t) => t.status === 'CREATED' && t.stages.join() === 'app,media')).toBe(true);
    expect(events.map((e) => [e.type, e.sequenceId, e.tenantId])).toEqual([
      ['TaskCreated', 1, 'acme'],
      ['TaskCreated', 1, 'globex'],
      ['TaskCreated', 1, 'initech'],
    ]);
  });

  it('writes a 120-tenant plan across several transactions and only then lists it', async () => {
    const tenants = Array.from({ length: 120 }, (_, i) => `bulk-${i}`);
    const { plan } = await newPlan(tenants);

    expect((await store.listTasks(plan.planId)).length).toBe(120);
    expect((await store.listPlans({ limit: 50 })).plans.map((p) => p.planId)).toContain(plan.planId);
  });

  it('never shows a plan whose creation failed, and removes what was written', async () => {
    clock += 1000;
    const planId = '01KFAILEDPLAN0000000000000';
    const built = buildPlan(
      request(Array.from({ length: 60 }, (_, i) => `fail-${i}`)),
      deploymentSettings({}),
      {
        planId,
        now: new Date(clock),
      },
    );
    // The 55th task is over DynamoDB's 400 KB item limit, so the second transaction fails.
    built.tasks[55]!.config = { ...built.tasks[55]!.config, calledNumberRules: 'x'.repeat(420_000) };

    await expect(store.createPlan(built.plan, built.tasks)).rejects.toThrow();

    expect(await store.getPlan(planId)).toBeUndefined();
    expect(await store.countPlanItems(planId)).toBe(0);
    expect((await store.listPlans({ limit: 100 })).plans.map((p) => p.planId)).not.toContain(planId);
  });

  it('returns the first plan when the same idempotency key is used twice in parallel', async () => {
    clock += 1000;
    const now = new Date(clock);
    const attempts = ['01KIDEMPOTENT0000000000001', '01KIDEMPOTENT0000000000002'].map((planId) => {
      const built = buildPlan(request(['umbrella']), deploymentSettings({}), {
        planId,
        now,
        idempotencyKey: 'key-1',
      });
      return store.createPlan(built.plan, built.tasks, {
        idempotencyKey: 'key-1',
        requestHash: requestHash({ a: 1 }),
      });
    });

    const results = await Promise.all(attempts);

    expect(results.filter((r) => r.created).length).toBe(1);
    expect(results[0]!.plan.planId).toBe(results[1]!.plan.planId);
    const loser = results.find((r) => !r.created)!;
    const other =
      loser.plan.planId === '01KIDEMPOTENT0000000000001'
        ? '01KIDEMPOTENT0000000000002'
        : '01KIDEMPOTENT0000000000001';
    expect(await store.getPlan(other)).toBeUndefined();
  });

  it('refuses an idempotency key reused with a different request', async () => {
    clock += 1000;
    const built = buildPlan(request(['reuse']), deploymentSettings({}), {
      planId: '01KREUSE000000000000000001',
      now: new Date(clock),
    });
    await store.createPlan(built.plan, built.tasks, { idempotencyKey: 'key-2', requestHash: 'one' });
    const again = buildPlan(request(['reuse']), deploymentSettings({}), {
      planId: '01KREUSE000000000000000002',
      now: new Date(clock),
    });

    await expect(
      store.createPlan(again.plan, again.tasks, { idempotencyKey: 'key-2', requestHash: 'two' }),
    ).rejects.toThrow(/different request/);
  });

  it('lists plans newest first, page by page with a cursor, and filters by status', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await newPlan([`page-${i}`])).plan.planId);

    const first = await store.listPlans({ limit: 3 });
    const second = await store.listPlans({ limit: 3, cursor: first.cursor });
    const seen = [...first.plans, ...second.plans].map((p) => p.planId);

    expect(seen.slice(0, 5)).toEqual([...created].reverse());
    await store.transitionPlan(created[0]!, 'start');
    const running = await store.listPlans({ status: 'RUNNING', limit: 100 });
    expect(running.plans.map((p) => p.planId)).toEqual([created[0]]);
  });

  it('deletes a plan with everything under it and frees its idempotency key', async () => {
    const { plan } = await newPlan(['gone-1', 'gone-2'], 'key-delete');
    await store.transitionTask(plan.taskIds[0]!, 'validate');

    await store.deletePlan(plan.planId);

    expect(await store.getPlan(plan.planId)).toBeUndefined();
    expect(await store.countPlanItems(plan.planId)).toBe(0);
    const again = await newPlan(['gone-1'], 'key-delete');
    expect(again.result.created).toBe(true);
  });
});

describe('transitions', () => {
  it('gives 100 events on one task the sequence ids 1..100 even when 97 are written concurrently', async () => {
    const { plan } = await newPlan(['busy']);
    const taskId = plan.taskIds[0]!;
    await store.transitionTask(taskId, 'validate');
    await store.transitionTask(taskId, 'start');

    await Promise.all(Array.from({ length: 97 }, () => store.transitionTask(taskId, 'heartbeat')));

    const events = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listEvents(plan.planId, { afterEventId: after, limit: 40 });
      if (!page.events.length) break;
      events.push(...page.events);
      after = page.last;
    }
    const sequences = events.filter((e) => e.taskId === taskId).map((e) => e.sequenceId);
    expect([...sequences].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect((await store.getTask(taskId))!.seq).toBe(100);
  }, 120_000);

  it('refuses a transition from the wrong status, naming the current status, and writes nothing', async () => {
    const { plan } = await newPlan(['strict']);
    const taskId = plan.taskIds[0]!;

    const error = await store.transitionTask(taskId, 'complete').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(IllegalTransition);
    expect((error as IllegalTransition).message).toContain('CREATED');
    expect((await store.getTask(taskId))!.seq).toBe(1);
    expect((await store.listEvents(plan.planId)).events.length).toBe(1);
  });

  it('lets exactly one of two racing callers complete a task', async () => {
    const { plan } = await newPlan(['race']);
    const taskId = plan.taskIds[0]!;
    await store.transitionTask(taskId, 'validate');
    await store.transitionTask(taskId, 'start');

    const outcomes = await Promise.allSettled([
      store.transitionTask(taskId, 'complete'),
      store.transitionTask(taskId, 'fail', { failureInfo: { type: 'INTERNAL', message: 'x' } }),
    ]);

    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBe(1);
    expect(
      outcomes.filter((o) => o.status === 'rejected').every((o) => o.reason instanceof IllegalTransition),
    ).toBe(true);
  });

  it('frees the tenant in the same transaction that ends the task, and counts the outcome', async () => {
    const { plan } = await newPlan(['ending']);
    await store.transitionPlan(plan.planId, 'start');
    const taskId = plan.taskIds[0]!;
    await store.transitionTask(taskId, 'validate');
    const lock = await store.acquireLock('ending', { taskId, planId: plan.planId }, 60_000);
    await store.transitionTask(taskId, 'start');

    await store.transitionTask(taskId, 'complete');

    expect(lock.acquired).toBe(true);
    expect((await store.getLock('ending'))?.ownerTaskId).toBeUndefined();
    expect((await store.getPlanWithCounts(plan.planId))!.completedTasks).toBe(1);
  });

  it('ends a task without touching a lock another task took over', async () => {
    const { plan } = await newPlan(['taken-over']);
    const taskId = plan.taskIds[0]!;
    await store.transitionTask(taskId, 'validate');
    await store.acquireLock('taken-over', { taskId, planId: plan.planId }, 1_000);
    await store.transitionTask(taskId, 'start');
    clock += 2_000;
    await store.acquireLock('taken-over', { taskId: 'someone-else', planId: 'other' }, 60_000);

    await store.transitionTask(taskId, 'fail', { failureInfo: { type: 'LOCK', message: 'lost it' } });

    expect((await store.getLock('taken-over'))?.ownerTaskId).toBe('someone-else');
    expect((await store.getTask(taskId))!.status).toBe('FAILED');
  });

  it('reports plan progress once per change, on the plan sequence', async () => {
    const { plan } = await newPlan(['progress-a', 'progress-b']);
    await store.transitionPlan(plan.planId, 'start');
    for (const taskId of plan.taskIds) {
      await store.transitionTask(taskId, 'validate');
      await store.transitionTask(taskId, 'start');
    }
    await store.transitionTask(plan.taskIds[0]!, 'complete');

    const first = await store.reportPlanProgress(plan.planId);
    const unchanged = await store.reportPlanProgress(plan.planId);
    await store.transitionTask(plan.taskIds[1]!, 'fail');
    const second = await store.reportPlanProgress(plan.planId);

    expect(first?.detail).toMatchObject({ completedTasks: 1, failedTasks: 0, totalTasks: 2 });
    expect(unchanged).toBeUndefined();
    expect(second?.detail).toMatchObject({ completedTasks: 1, failedTasks: 1 });
    const planEvents = (await store.listEvents(plan.planId)).events.filter((e) => e.sequenceType === 'PLAN');
    expect(planEvents.map((e) => [e.type, e.sequenceId])).toEqual([
      ['PlanStarted', 1],
      ['PlanProgress', 2],
      ['PlanProgress', 3],
    ]);
    expect(await store.planEventIdAtSequence(plan.planId, 2)).toBe(planEvents[1]!.eventId);
  });

  it('drops a plan transition asked for at an older plan sequence (a progress counted before the verdict)', async () => {
    const { plan } = await newPlan(['late-progress']);
    await store.transitionPlan(plan.planId, 'start');
    const taskId = plan.taskIds[0]!;
    await store.transitionTask(taskId, 'validate');
    await store.transitionTask(taskId, 'start');
    await store.transitionTask(taskId, 'complete');
    const counted = await store.requirePlan(plan.planId);
    await store.transitionPlan(plan.planId, 'complete');

    const late = await store.transitionPlan(plan.planId, 'progress', {
      set: { reportedProgress: 1 },
      ifSeq: counted.seq,
    });

    expect(late.event).toBeUndefined();
    const planEvents = (await store.listEvents(plan.planId)).events.filter((e) => e.sequenceType === 'PLAN');
    expect(planEvents.at(-1)?.type).toBe('PlanCompleted');
  });

  it('lets only one of two paths that found the same execution lost recover the task', async () => {
    const { plan } = await newPlan(['lost-twice']);
    const taskId = plan.taskIds[0]!;
    await store.transitionTask(taskId, 'validate', { set: { executionArn: 'arn:lost' } });
    await store.transitionTask(taskId, 'start');
    const found = await store.requireTask(taskId);

    // The supervisor (starting a new execution) and a restarted plan (adopting the task) at once.
    const [supervisor, plan2] = await Promise.all([
      store.transitionTask(
        taskId,
        'recover',
        recoveryChange(found, new Date(clock), { executionArn: 'arn:supervisor' }),
        found,
      ),
      store.transitionTask(
        taskId,
        'recover',
        recoveryChange(found, new Date(clock), { executionArn: 'arn:plan' }),
        found,
      ),
    ]);

    expect([supervisor.event, plan2.event].filter(Boolean)).toHaveLength(1);
    const task = await store.requireTask(taskId);
    expect(task).toMatchObject({ status: 'PENDING', recoveryCount: 1, seq: found.seq + 1 });
    expect(task.executionArn).toBe((supervisor.event ? supervisor : plan2).item.executionArn);
    const events = (await store.listEvents(plan.planId)).events.filter((e) => e.taskId === taskId);
    expect(events.filter((e) => e.type === 'TaskRetryStarted')).toHaveLength(1);
  });

  it('counts every task in exactly one status, exactly, while many change at once', async () => {
    const tenants = Array.from({ length: 40 }, (_, i) => `counted-${i}`);
    const { plan } = await newPlan(tenants);
    await store.transitionPlan(plan.planId, 'start');

    await Promise.all(
      plan.taskIds.map(async (taskId, i) => {
        await store.transitionTask(taskId, 'validate');
        if (i % 4 === 0) return;
        await store.transitionTask(taskId, 'start');
        if (i % 4 === 1) return;
        await store.transitionTask(taskId, 'stageSucceeded', { set: { completedStages: ['app'] } });
        await store.transitionTask(taskId, i % 4 === 2 ? 'complete' : 'fail');
      }),
    );

    const counted = await store.getPlanWithCounts(plan.planId);
    expect(counted!.counts).toEqual({ VALIDATED: 10, RUNNING: 10, COMPLETED: 10, FAILED: 10 });
    expect(counted).toMatchObject({ completedTasks: 10, failedTasks: 10, stagesDone: 20 });
  });

  it("pages through a plan's tasks in request order, by status and by tenant prefix", async () => {
    const tenants = [...Array.from({ length: 7 }, (_, i) => `page-a${i}`), 'page-b0', 'page-b1'];
    const { plan } = await newPlan(tenants);
    for (const taskId of plan.taskIds.slice(0, 3)) await store.transitionTask(taskId, 'validate');

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listTaskPage(plan.planId, { limit: 4, ...(cursor ? { cursor } : {}) });
      pages.push(page.tasks.map((t) => t.tenantId));
      cursor = page.cursor;
    } while (cursor);
    const validated = await store.listTaskPage(plan.planId, { limit: 2, status: 'VALIDATED' });
    const bees = await store.listTaskPage(plan.planId, { limit: 10, tenant: 'page-b' });

    expect(pages.flat()).toEqual(tenants);
    expect(pages[0]).toHaveLength(4);
    expect(validated.tasks.map((t) => t.tenantId)).toEqual(['page-a0', 'page-a1']);
    expect(validated.cursor).toBeDefined();
    expect(bees).toEqual({
      tasks: [
        expect.objectContaining({ tenantId: 'page-b0' }),
        expect.objectContaining({ tenantId: 'page-b1' }),
      ],
    });
  });

  it('stages the tasks of a CREATING plan, and writes each exactly once even when two runs race', async () => {
    clock += 1000;
    const tenants = Array.from({ length: 100 }, (_, i) => `staged-${i}`);
    const built = buildPlan(request(tenants), deploymentSettings({}), {
      planId: `01K${'9'.repeat(23)}`,
      now: new Date(clock),
    });

    await store.createPlan({ ...built.plan, status: 'CREATING' }, built.tasks);
    const listed = await store.getPlan(built.plan.planId);
    const before = await store.listTasks(built.plan.planId);
    await Promise.all([store.writeStagedTasks(built.plan.planId), store.writeStagedTasks(built.plan.planId)]);

    expect(listed).toMatchObject({ status: 'CREATING', totalTasks: 100 });
    expect(before).toEqual([]);
    expect((await store.listTasks(built.plan.planId)).map((t) => t.tenantId)).toEqual(tenants);
    const created = (await store.listEvents(built.plan.planId, { limit: 500 })).events;
    expect(created.filter((e) => e.type === 'TaskCreated')).toHaveLength(100);
  });

  it('finds a tenant task through the tenant index, newest first', async () => {
    const first = await newPlan(['shared-tenant']);
    const second = await newPlan(['shared-tenant']);

    const tasks = await store.tasksByTenant('shared-tenant');

    expect(tasks.map((t) => t.planId)).toEqual([second.plan.planId, first.plan.planId]);
  });
});

describe('tenant locks', () => {
  const owner = (n: number) => ({ taskId: `task-${n}`, planId: 'plan' });

  it('gives the lock to exactly one of 50 concurrent acquirers', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.acquireLock('contended', owner(i), 60_000)),
    );

    const winners = results.filter((r) => r.acquired);
    expect(winners.length).toBe(1);
    const holder = await store.getLock('contended');
    expect(holder!.ownerTaskId).toBe(winners[0]!.acquired ? winners[0]!.lock.ownerTaskId : undefined);
    expect(
      results
        .filter((r) => !r.acquired)
        .every((r) => !r.acquired && r.holder?.ownerTaskId === holder!.ownerTaskId),
    ).toBe(true);
  });

  it('lets another owner take over an expired lease with a larger fencing token', async () => {
    const first = await store.acquireLock('expiring', owner(1), 1_000);
    clock += 2_000;

    const second = await store.acquireLock('expiring', owner(2), 60_000);

    expect(first.acquired && second.acquired).toBe(true);
    if (first.acquired && second.acquired)
      expect(second.lock.fencingToken).toBeGreaterThan(first.lock.fencingToken);
  });

  it('refuses renew and release from a stale owner after a takeover', async () => {
    const stale = await store.acquireLock('stale', owner(1), 1_000);
    clock += 2_000;
    const fresh = await store.acquireLock('stale', owner(2), 60_000);
    if (!stale.acquired || !fresh.acquired) throw new Error('both acquisitions should have succeeded');

    expect(await store.renewLock('stale', 'task-1', stale.lock.fencingToken, 60_000)).toBe(false);
    expect(await store.releaseLock('stale', 'task-1', stale.lock.fencingToken)).toBe(false);
    expect((await store.getLock('stale'))!.ownerTaskId).toBe('task-2');
    expect(await store.renewLock('stale', 'task-2', fresh.lock.fencingToken, 60_000)).toBe(true);
  });

  it('keeps a held lease from being taken, and hands the lock over once it is released', async () => {
    const held = await store.acquireLock('handover', owner(1), 60_000);
    expect((await store.acquireLock('handover', owner(2), 60_000)).acquired).toBe(false);

    expect(await store.releaseLock('handover', 'task-1')).toBe(true);
    const next = await store.acquireLock('handover', owner(2), 60_000);

    expect(next.acquired).toBe(true);
    if (held.acquired && next.acquired) expect(next.lock.fencingToken).toBe(held.lock.fencingToken + 1);
  });
});

describe('tenant configs and engines', () => {
  it('keeps the replaced config as the rollback snapshot, and keeps it when the same task switches again', async () => {
    const v1 = { tenantId: 'cfg', deployUnitVersion: '1', networkEndpoints: [] };
    const v2 = { tenantId: 'cfg', deployUnitVersion: '2', networkEndpoints: [] };
    const first = await store.switchCurrentConfig('cfg', 'app', v1, 'task-a');
    expect(first.previous).toBeUndefined();
    expect(await store.getCurrentConfig('cfg', 'app')).not.toHaveProperty('previous');

    const switched = await store.switchCurrentConfig('cfg', 'app', v2, 'task-b');
    expect(switched).toMatchObject({ version: '2', taskId: 'task-b', previous: v1 });
    const retried = await store.switchCurrentConfig('cfg', 'app', v2, 'task-b');

    expect(retried.previous?.deployUnitVersion).toBe('1');
    expect((await store.getCurrentConfig('cfg', 'app'))!.version).toBe('2');
    await store.putGoodConfigs('cfg', ['app'], v2, 'task-b');
    expect((await store.getGoodConfig('cfg', 'app'))!.version).toBe('2');
  });

  it('records engines in the registry and moves them through their states', async () => {
    const at = new Date(clock).toISOString();
    const engine = {
      tenantId: 'eng',
      service: 'app',
      engineId: 'e1',
      state: 'provisioning' as const,
      createdAt: at,
      updatedAt: at,
    };
    await store.putEngine(engine);

    expect(
      await store.updateEngine(engine, 'ready', { endpoint: 'http://127.0.0.1:1' }, ['provisioning']),
    ).toBe(true);
    expect(await store.updateEngine(engine, 'ready', {}, ['provisioning'])).toBe(false);

    expect((await store.listEngines('eng')).map((e) => [e.engineId, e.state, e.endpoint])).toEqual([
      ['e1', 'ready', 'http://127.0.0.1:1'],
    ]);
    expect((await store.listEngines()).some((e) => e.tenantId === 'eng')).toBe(true);
  });
});

describe('events', () => {
  it('expires events after the configured retention through the TTL attribute', async () => {
    const { plan } = await newPlan(['ttl']);
    const raw = await store.ctx.doc.send(
      new QueryCommand({
        TableName: store.ctx.tableName,
        ...inPartition(planPk(plan.planId), EVENT_SK_PREFIX),
      }),
    );
    const expiresAt = raw.Items![0]!.expiresAt as number;
    expect(expiresAt - Math.floor(clock / 1000)).toBe(30 * 86_400);
  });
});
