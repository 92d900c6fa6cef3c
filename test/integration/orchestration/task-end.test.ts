/**
 * A task's terminal status and the release of its tenant lock are one write:
 * whatever ends tasks at the same time (completions, failures, cancels of
 * running, paused and waiting tasks), no reader ever sees a finished task that
 * still holds its tenant.
 */
import { TransactGetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalTransition } from '../../../functions/core/errors.ts';
import { lockKey, taskKey } from '../../../functions/core/keys.ts';
import { isTerminalTask, type Task, type TaskStatus } from '../../../functions/core/model.ts';
import { cancelTask, pauseTask } from '../../../functions/core/orchestration/operations.ts';
import { submitPlan } from '../../../functions/core/orchestration/plan-flow.ts';
import {
  FAST_HEALTH,
  type Harness,
  startHarness,
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

/** The task and its tenant's lock read in one serializable snapshot. */
async function snapshot(task: Pick<Task, 'planId' | 'taskId' | 'tenantId'>) {
  const { Responses } = await h.deps.store.ctx.doc.send(
    new TransactGetCommand({
      TransactItems: [
        { Get: { TableName: h.deps.store.ctx.tableName, Key: taskKey(task.planId, task.taskId) } },
        { Get: { TableName: h.deps.store.ctx.tableName, Key: lockKey(task.tenantId) } },
      ],
    }),
  );
  const status = Responses?.[0]?.Item?.status as TaskStatus;
  const owner = Responses?.[1]?.Item?.ownerTaskId as string | undefined;
  return { status, holdsLock: owner === task.taskId };
}

const inFirstStage = (t: Task) => t.status === 'RUNNING' && t.currentStage === 'app';

/** Cancels the task; one that already ended on its own (it raced the cancel and won) is left as it is. */
async function cancelUnlessEnded(taskId: string) {
  await cancelTask(h.deps, taskId).catch((error: unknown) => {
    if (!(error instanceof IllegalTransition)) throw error;
  });
}

describe('ending a task', () => {
  it('never shows a finished task holding its tenant lock, under concurrent completions, failures and cancels', async () => {
    const tenants = Array.from({ length: 16 }, (_, i) => `end-${i}`);
    const fate = (i: number) => (['complete', 'fail', 'cancel-running', 'cancel-paused'] as const)[i % 4];
    tenants.forEach((tenantId, i) => {
      if (fate(i) === 'fail') h.engine.setFaults({ tenantId, service: 'db', failBroadcast: 500 });
      else h.engine.setFaults({ tenantId, service: 'app', healthyAfterPolls: 15 });
    });
    const first = await submitPlan(h.deps, {
      maxConcurrency: tenants.length,
      healthCheck: { ...FAST_HEALTH, maxAttempts: 40 },
      configs: tenants.map((t) => tenantConfig(h.engine, t, '2')),
    });
    // A second plan on the same tenants waits for their locks; half of its tasks are cancelled, most while waiting.
    const second = await submitPlan(h.deps, {
      maxConcurrency: tenants.length,
      healthCheck: { ...FAST_HEALTH, maxAttempts: 40 },
      configs: tenants.map((t) => tenantConfig(h.engine, t, '3')),
    });
    const firstTasks = await h.deps.store.listTasks(first.plan.planId);
    const secondTasks = await h.deps.store.listTasks(second.plan.planId);
    const tasks = [...firstTasks, ...secondTasks];

    const violations: string[] = [];
    const seen = new Set<TaskStatus>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const views = await Promise.all(tasks.map(async (task) => ({ task, ...(await snapshot(task)) })));
        for (const view of views) {
          seen.add(view.status);
          if (isTerminalTask(view.status) && view.holdsLock)
            violations.push(`${view.task.taskId} ${view.status} holds ${view.task.tenantId}`);
        }
      }
    })();

    await Promise.all([
      ...firstTasks.map(async (task, i) => {
        if (fate(i) === 'cancel-running') {
          await waitForTask(h, task.taskId, inFirstStage);
          await cancelUnlessEnded(task.taskId);
        } else if (fate(i) === 'cancel-paused') {
          await waitForTask(h, task.taskId, inFirstStage);
          await pauseTask(h.deps, task.taskId);
          await waitForTask(h, task.taskId, (t) => t.status === 'PAUSED' || isTerminalTask(t.status));
          await cancelUnlessEnded(task.taskId);
        }
      }),
      ...secondTasks
        .filter((_, i) => i % 2 === 0)
        .map(async (task) => {
          await waitForTask(h, task.taskId, (t) => !['CREATED', 'VALIDATED'].includes(t.status), 120_000);
          await cancelUnlessEnded(task.taskId);
        }),
    ]);
    await waitForPlan(h, first.plan.planId, ['COMPLETED', 'FAILED'], 120_000);
    await waitForPlan(h, second.plan.planId, ['COMPLETED', 'FAILED'], 120_000);
    watching = false;
    await watcher;
    h.engine.clearFaults();

    expect(violations).toEqual([]);
    expect([...seen].filter(isTerminalTask).sort()).toEqual(['CANCELLED', 'COMPLETED', 'FAILED']);
    for (const tenantId of tenants)
      expect((await h.deps.store.getLock(tenantId))?.ownerTaskId).toBeUndefined();
  }, 240_000);
});
