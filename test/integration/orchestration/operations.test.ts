import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IllegalTransition } from '../../../functions/core/errors.ts';
import {
  cancelTask,
  operatePlan,
  pauseTask,
  resumeTask,
  retryTask,
  rollbackTask,
} from '../../../functions/core/orchestration/operations.ts';
import { submitPlan } from '../../../functions/core/orchestration/plan-flow.ts';
import { sweep } from '../../../functions/core/orchestration/supervisor.ts';
import { eventually } from '../support.ts';
import {
  allEvents,
  gapless,
  type Harness,
  startHarness,
  submit,
  tenantConfig,
  waitForPlan,
  waitForTask,
} from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});
afterEach(() => {
  h.engine.clearFaults();
});

/** A stage that takes a while: the endpoint reports healthy only after a number of polls. */
const slowStage = (tenantId: string, service = 'app') =>
  h.engine.setFaults({ tenantId, service, healthyAfterPolls: 15 });

const requestsTo = (tenantId: string, service: string, kind: 'config' | 'health') =>
  h.engine
    .requests()
    .filter((r) => r.tenantId === tenantId && r.service === service && r.kind === kind && !r.selfCheck);

describe('pause, resume and cancel at stage boundaries', () => {
  it('pauses a running task at the next stage boundary and finishes it after resume', async () => {
    slowStage('pausable');
    const { plan } = await submitPlan(h.deps, {
      healthCheck: { intervalSeconds: 0.05, maxAttempts: 40 },
      configs: [tenantConfig(h.engine, 'pausable', '2')],
    });
    const taskId = plan.taskIds[0]!;
    await waitForTask(h, taskId, (t) => t.status === 'RUNNING' && t.currentStage === 'app');

    const pause = await pauseTask(h.deps, taskId);

    expect(pause).toMatchObject({ success: true, finalStatus: 'RUNNING' });
    const paused = await waitForTask(h, taskId, (t) => t.status === 'PAUSED');
    expect(paused.completedStages).toEqual(['app']);
    await eventually(async () => (await h.deps.store.getTask(taskId))?.pauseToken);
    expect(requestsTo('pausable', 'db', 'config')).toEqual([]);

    const resumed = await resumeTask(h.deps, taskId);

    expect(resumed).toMatchObject({ success: true, finalStatus: 'RUNNING' });
    await waitForPlan(h, plan.planId, ['COMPLETED']);
    const types = (await allEvents(h, plan.planId)).filter((e) => e.taskId === taskId).map((e) => e.type);
    expect(types.indexOf('TaskPaused')).toBeGreaterThan(types.indexOf('TaskStageSucceeded'));
    expect(types.indexOf('TaskResumed')).toBeGreaterThan(types.indexOf('TaskPaused'));
    expect(types.lastIndexOf('TaskStageStarted')).toBeGreaterThan(types.indexOf('TaskResumed'));
    expect(gapless(await allEvents(h, plan.planId))).toBe(true);
  });

  it('resumes a task whose resume arrived before its pause token was stored', async () => {
    slowStage('racer');
    const { plan } = await submitPlan(h.deps, {
      healthCheck: { intervalSeconds: 0.05, maxAttempts: 40 },
      configs: [tenantConfig(h.engine, 'racer', '2')],
    });
    const taskId = plan.taskIds[0]!;
    await waitForTask(h, taskId, (t) => t.status === 'RUNNING' && t.currentStage === 'app');
    await pauseTask(h.deps, taskId);
    await waitForTask(h, taskId, (t) => t.status === 'PAUSED');

    // Resume immediately, without waiting for the token: whichever side comes second sends it.
    await resumeTask(h.deps, taskId);

    await waitForPlan(h, plan.planId, ['COMPLETED']);
  });

  it('refuses to resume a completed task, naming its status', async () => {
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'finished', '2')] });
    await waitForPlan(h, plan.planId, ['COMPLETED']);

    const error = await resumeTask(h.deps, plan.taskIds[0]!).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(IllegalTransition);
    expect((error as Error).message).toContain('COMPLETED');
  });

  it('cancels a running task at the next stage boundary and frees the tenant', async () => {
    slowStage('cancellable');
    const { plan } = await submitPlan(h.deps, {
      healthCheck: { intervalSeconds: 0.05, maxAttempts: 40 },
      configs: [tenantConfig(h.engine, 'cancellable', '2'), tenantConfig(h.engine, 'after-cancel', '2')],
    });
    const taskId = plan.taskIds[0]!;
    await waitForTask(h, taskId, (t) => t.status === 'RUNNING' && t.currentStage === 'app');

    await cancelTask(h.deps, taskId);

    const cancelled = await waitForTask(h, taskId, (t) => t.status === 'CANCELLED');
    expect(cancelled.completedStages).toEqual(['app']);
    expect(requestsTo('cancellable', 'db', 'config')).toEqual([]);
    // The terminal transition released the lock in the same transaction.
    expect(await h.deps.store.getLock('cancellable')).toBeUndefined();
    const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);
    expect(done).toMatchObject({ status: 'COMPLETED', cancelledTasks: 1, completedTasks: 1 });
  });

  it('pauses and resumes every task of a plan', async () => {
    for (const t of ['pp-1', 'pp-2']) slowStage(t);
    const { plan } = await submitPlan(h.deps, {
      maxConcurrency: 2,
      healthCheck: { intervalSeconds: 0.05, maxAttempts: 40 },
      configs: ['pp-1', 'pp-2'].map((t) => tenantConfig(h.engine, t, '2')),
    });
    await waitForPlan(h, plan.planId, ['RUNNING']);

    const paused = await operatePlan(h.deps, plan.planId, 'pause');

    expect(paused).toMatchObject({ targetType: 'PLAN', success: true, finalStatus: 'PAUSED' });
    for (const taskId of plan.taskIds) await waitForTask(h, taskId, (t) => t.status === 'PAUSED');
    await operatePlan(h.deps, plan.planId, 'resume');
    await waitForPlan(h, plan.planId, ['COMPLETED']);
  });
});

describe('retry', () => {
  it('retries from the checkpoint without re-running completed stages', async () => {
    h.engine.setFaults({ tenantId: 'flaky', service: 'db', failBroadcast: 500 });
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'flaky', '2')] });
    const taskId = plan.taskIds[0]!;
    await waitForPlan(h, plan.planId, ['FAILED']);
    h.engine.clearFaults();

    const retry = await retryTask(h.deps, taskId, true);

    expect(retry).toMatchObject({ success: true, finalStatus: 'PENDING' });
    const done = await waitForPlan(h, plan.planId, ['COMPLETED']);
    expect(done.failedTasks).toBe(0);
    expect(requestsTo('flaky', 'app', 'config').length).toBe(1);
    expect(requestsTo('flaky', 'db', 'config').length).toBe(2);
    const events = (await allEvents(h, plan.planId)).filter((e) => e.taskId === taskId);
    expect(events.find((e) => e.type === 'TaskRetryStarted')?.detail).toMatchObject({ fromCheckpoint: true });
    expect(events.find((e) => e.type === 'TaskRetryCompleted')?.detail).toMatchObject({ success: true });
    expect(events.filter((e) => e.type === 'TaskStageSucceeded').map((e) => e.currentStage)).toEqual([
      'app',
      'db',
    ]);
  });

  it('retries from scratch when asked, re-running every stage', async () => {
    h.engine.setFaults({ tenantId: 'scratch', service: 'db', failBroadcast: 500 });
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'scratch', '2')] });
    await waitForPlan(h, plan.planId, ['FAILED']);
    h.engine.clearFaults();

    await retryTask(h.deps, plan.taskIds[0]!, false);

    await waitForPlan(h, plan.planId, ['COMPLETED']);
    expect(requestsTo('scratch', 'app', 'config').length).toBe(2);
  });

  it('is not taken for lost by a supervisor sweep between handing the task to the new execution and starting it', async () => {
    h.engine.setFaults({ tenantId: 'handover', service: 'db', failBroadcast: 500 });
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'handover', '2')] });
    const taskId = plan.taskIds[0]!;
    await waitForPlan(h, plan.planId, ['FAILED']);
    h.engine.clearFaults();
    // The real Step Functions client, except that a whole sweep runs just before the retry's execution starts.
    const send = h.deps.sfn.send.bind(h.deps.sfn) as (command: unknown) => Promise<unknown>;
    const sweepFirst = {
      send: async (command: unknown) => {
        if (command instanceof StartExecutionCommand) await sweep(h.deps);
        return send(command);
      },
    } as unknown as SFNClient;

    await retryTask({ ...h.deps, sfn: sweepFirst }, taskId, true);

    await waitForPlan(h, plan.planId, ['COMPLETED']);
    const task = await h.deps.store.requireTask(taskId);
    expect(task.retryCount).toBe(1);
    const events = (await allEvents(h, plan.planId)).filter((e) => e.taskId === taskId);
    expect(events.filter((e) => e.type === 'TaskRetryStarted')).toHaveLength(1);
  });

  it('refuses a fourth retry', async () => {
    h.engine.setFaults({ tenantId: 'hopeless', service: 'app', failBroadcast: 500 });
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'hopeless', '2')] });
    const taskId = plan.taskIds[0]!;
    await waitForPlan(h, plan.planId, ['FAILED']);
    for (let i = 1; i <= 3; i++) {
      await retryTask(h.deps, taskId, true);
      await waitForTask(h, taskId, (t) => t.status === 'FAILED' && t.retryCount === i);
    }

    const error = await retryTask(h.deps, taskId, true).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(IllegalTransition);
    expect((error as Error).message).toContain('retry limit (3) reached');
  });
});

describe('rollback', () => {
  it('restores the previous version stage by stage in reverse and confirms it by health check', async () => {
    const first = await submit(h, { configs: [tenantConfig(h.engine, 'undo', '2')] });
    await waitForPlan(h, first.plan.planId, ['COMPLETED']);
    const second = await submit(h, { configs: [tenantConfig(h.engine, 'undo', '3')] });
    await waitForPlan(h, second.plan.planId, ['COMPLETED']);
    const taskId = second.plan.taskIds[0]!;

    const result = await rollbackTask(h.deps, taskId);

    expect(result).toMatchObject({ success: true, finalStatus: 'ROLLING_BACK' });
    const task = await waitForTask(
      h,
      taskId,
      (t) => t.status === 'ROLLED_BACK' || t.status === 'ROLLBACK_FAILED',
    );
    expect(task.status).toBe('ROLLED_BACK');
    const versions = h.engine
      .state()
      .services.filter((s) => s.tenantId === 'undo')
      .map((s) => [s.service, s.version]);
    expect(versions.sort()).toEqual([
      ['app', '2'],
      ['db', '2'],
    ]);
    const events = (await allEvents(h, second.plan.planId)).filter((e) => e.taskId === taskId);
    expect(events.filter((e) => e.type === 'TaskStageRolledBack').map((e) => e.currentStage)).toEqual([
      'db',
      'app',
    ]);
    const lastRollbackPolls = requestsTo('undo', 'app', 'health').at(-1);
    expect(lastRollbackPolls?.reportedVersion).toBe('2');
    expect((await h.deps.store.getCurrentConfig('undo', 'app'))?.version).toBe('2');
    expect(gapless(events)).toBe(true);
  });

  it('rolls back to sourceTenantDeployConfig when the request names it', async () => {
    const source = tenantConfig(h.engine, 'sourced', '1');
    const { plan } = await submit(h, {
      configs: [tenantConfig(h.engine, 'sourced', '5', ['app', 'db'], { sourceTenantDeployConfig: source })],
    });
    await waitForPlan(h, plan.planId, ['COMPLETED']);

    await rollbackTask(h.deps, plan.taskIds[0]!);

    await waitForTask(h, plan.taskIds[0]!, (t) => t.status === 'ROLLED_BACK');
    expect(
      h.engine
        .state()
        .services.filter((s) => s.tenantId === 'sourced')
        .every((s) => s.version === '1'),
    ).toBe(true);
  });

  it('counts a rolled-back task as rolled back, no longer as completed', async () => {
    const tenants = ['counted-1', 'counted-2'];
    const first = await submit(h, { configs: tenants.map((t) => tenantConfig(h.engine, t, '1', ['app'])) });
    await waitForPlan(h, first.plan.planId, ['COMPLETED']);
    const { plan } = await submit(h, {
      configs: tenants.map((t) => tenantConfig(h.engine, t, '2', ['app'])),
    });
    await waitForPlan(h, plan.planId, ['COMPLETED']);

    await rollbackTask(h.deps, plan.taskIds[0]!);
    await waitForTask(h, plan.taskIds[0]!, (t) => t.status === 'ROLLED_BACK');

    const counted = await h.deps.store.getPlanWithCounts(plan.planId);
    expect(counted).toMatchObject({ status: 'COMPLETED', completedTasks: 1, rolledBackTasks: 1 });
    expect(counted!.counts).toEqual({ COMPLETED: 1, ROLLED_BACK: 1 });
  });

  it('marks the rollback failed when the previous version cannot be confirmed', async () => {
    const first = await submit(h, { configs: [tenantConfig(h.engine, 'stuck', '2')] });
    await waitForPlan(h, first.plan.planId, ['COMPLETED']);
    const second = await submit(h, { configs: [tenantConfig(h.engine, 'stuck', '3')] });
    await waitForPlan(h, second.plan.planId, ['COMPLETED']);
    h.engine.setFaults({ tenantId: 'stuck', service: 'db', wrongVersion: '3' });

    await rollbackTask(h.deps, second.plan.taskIds[0]!);

    const task = await waitForTask(h, second.plan.taskIds[0]!, (t) => t.status === 'ROLLBACK_FAILED');
    expect(task.failureInfo).toMatchObject({ type: 'ROLLBACK', stage: 'db' });
    expect(await h.deps.store.getLock('stuck')).toBeUndefined();
  });

  it('rolls a whole plan back: every task that changed something', async () => {
    const base = await submit(h, { configs: ['pr-1', 'pr-2'].map((t) => tenantConfig(h.engine, t, '2')) });
    await waitForPlan(h, base.plan.planId, ['COMPLETED']);
    const { plan } = await submit(h, {
      maxConcurrency: 2,
      configs: ['pr-1', 'pr-2'].map((t) => tenantConfig(h.engine, t, '3')),
    });
    await waitForPlan(h, plan.planId, ['COMPLETED']);

    const result = await operatePlan(h.deps, plan.planId, 'rollback');

    expect(result).toMatchObject({ targetType: 'PLAN', success: true });
    const done = await waitForPlan(h, plan.planId, ['ROLLED_BACK', 'ROLLBACK_FAILED']);
    expect(done.status).toBe('ROLLED_BACK');
    expect(
      h.engine
        .state()
        .services.filter((s) => s.tenantId?.startsWith('pr-'))
        .every((s) => s.version === '2'),
    ).toBe(true);
  });
});

describe('tenant locks across plans', () => {
  it('never lets two plans work on the same tenant at once', async () => {
    const shared = ['ov-1', 'ov-2', 'ov-3'];
    for (const t of shared) h.engine.setFaults({ tenantId: t, healthyAfterPolls: 4 });

    const [a, b] = await Promise.all([
      submit(h, {
        maxConcurrency: 3,
        configs: [...shared, 'ov-a'].map((t) => tenantConfig(h.engine, t, '2')),
      }),
      submit(h, {
        maxConcurrency: 3,
        configs: ['ov-b', ...shared].map((t) => tenantConfig(h.engine, t, '3')),
      }),
    ]);
    await waitForPlan(h, a.plan.planId, ['COMPLETED']);
    await waitForPlan(h, b.plan.planId, ['COMPLETED']);

    const overlaps = h.engine.overlaps().overlaps.filter((o) => shared.includes(o.tenantId));
    expect(overlaps).toEqual([]);
    const windows = h.engine.overlaps().windows;
    for (const tenant of shared) expect(windows[tenant]?.length).toBe(2);
  });
});
