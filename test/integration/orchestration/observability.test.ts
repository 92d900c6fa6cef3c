import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetExecutionHistoryCommand, type HistoryEvent, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../../functions/core/model.ts';
import { eventually } from '../support.ts';
import { type Harness, startHarness, submit, tenantConfig, waitForPlan, waitForTask } from './harness.ts';

type Line = Record<string, unknown>;

let h: Harness;
let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'rollout-obs-'));
  h = await startHarness({ home });
});
afterAll(async () => {
  await h?.stop();
  await rm(home, { recursive: true, force: true });
});

/** Every line of every function log, each parsed as JSON (a line that is not JSON fails the test). */
async function functionLogLines(): Promise<Map<string, Line[]>> {
  const dir = join(home, 'logs');
  const byFunction = new Map<string, Line[]>();
  for (const file of await readdir(dir)) {
    const text = await readFile(join(dir, file), 'utf8');
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Line);
    byFunction.set(file.replace(/\.log$/, ''), lines);
  }
  return byFunction;
}

const emfMetrics = (line: Line): string[] => {
  const aws = line._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
  return aws?.CloudWatchMetrics?.flatMap((m) => m.Metrics.map((metric) => metric.Name)) ?? [];
};

describe('function logs on the local runtime', () => {
  it('writes JSON lines under ROLLOUT_HOME/logs carrying the plan, its tasks, tenants and stages, and EMF metrics', async () => {
    h.engine.setFaults({ tenantId: 'obs-bad', service: 'db', failBroadcast: 503 });
    const { plan } = await submit(h, {
      maxConcurrency: 2,
      configs: [tenantConfig(h.engine, 'obs-good', '2'), tenantConfig(h.engine, 'obs-bad', '2')],
    });
    const done: Plan = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('FAILED');
    const tasks = await h.deps.store.listTasks(plan.planId);
    const tenantOf = new Map(tasks.map((t) => [t.taskId, t.tenantId]));

    const logs = await eventually(async () => {
      const all = await functionLogLines();
      const lines = [...all.values()].flat();
      const finished = lines.some((l) => l.message === 'PlanFailed' && l.planId === plan.planId);
      return finished ? all : undefined;
    });

    const runStage = logs.get('run-stage') ?? [];
    for (const task of tasks) {
      const ofTask = runStage.filter((l) => l.taskId === task.taskId);
      expect(ofTask.length).toBeGreaterThan(0);
      expect(ofTask.every((l) => l.planId === plan.planId)).toBe(true);
      expect(ofTask.some((l) => l.message === 'TaskStageStarted' && l.stage === 'app')).toBe(true);
    }
    // Functions and tasks ran at once in one process: each line names its own function and task's tenant.
    for (const [fn, lines] of logs) {
      for (const line of lines.filter((l) => l.function_name !== undefined)) {
        expect(line.function_name).toBe(`tenant-rollout-${fn}`);
      }
    }
    for (const line of [...logs.values()].flat()) {
      if (typeof line.taskId === 'string' && line.tenantId !== undefined && tenantOf.has(line.taskId)) {
        expect(line.tenantId).toBe(tenantOf.get(line.taskId));
      }
    }
    const stageFailed = runStage.find((l) => l.message === 'TaskStageFailed' && l.tenantId === 'obs-bad');
    expect(stageFailed).toMatchObject({
      level: 'WARN',
      stage: 'db',
      function_name: 'tenant-rollout-run-stage',
    });
    expect((stageFailed?.failureInfo as { type?: string })?.type).toBe('BROADCAST');

    const metrics = runStage.filter((l) => emfMetrics(l).length > 0);
    expect(metrics.some((l) => emfMetrics(l).includes('StageSucceeded'))).toBe(true);
    const failedMetric = metrics.find((l) => emfMetrics(l).includes('StageFailed'));
    expect(failedMetric).toMatchObject({ step: 'broadcast', service: 'tenant-rollout', planId: plan.planId });
    const ended = [...logs.values()].flat().filter((l) => emfMetrics(l).includes('TaskEnded'));
    expect(ended.map((l) => l.status).sort()).toEqual(['COMPLETED', 'FAILED']);
  });
});

async function executionHistory(executionArn: string | undefined): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await h.deps.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const statesEntered = (events: HistoryEvent[]) =>
  events.filter((e) => e.type?.endsWith('StateEntered')).map((e) => e.stateEnteredEventDetails?.name);

describe('stages in the Step Functions history', () => {
  it("shows one 'Run stage' state execution per stage of a task, each naming its stage in the output", async () => {
    const { plan } = await submit(h, {
      configs: [tenantConfig(h.engine, 'obs-visible', '3', ['app', 'db', 'cache'])],
    });
    await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);
    const task = await h.deps.store.requireTask(plan.taskIds[0]!);

    const events = await executionHistory(task.executionArn);
    const runStageOutputs = events
      .filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Run stage')
      .map((e) => JSON.parse(e.stateExitedEventDetails?.output ?? '{}') as { step?: { stage?: string } });

    expect(task.status).toBe('COMPLETED');
    expect(runStageOutputs.map((o) => o.step?.stage)).toEqual(['app', 'db', 'cache']);
    // The first stage takes the tenant lock and the last completes the task: every state entered is billed,
    // and none is spent on the lock or the completion alone.
    expect(statesEntered(events)).toEqual([
      'Run stage',
      'What next?',
      'Run stage',
      'What next?',
      'Run stage',
      'What next?',
      'Task completed',
    ]);
  });

  it("completes in 'Complete task' a task whose execution was lost after its last stage was recorded", async () => {
    // The stage stays unhealthy, so the first execution is still in it when it is stopped.
    h.engine.setFaults({ tenantId: 'obs-done', neverHealthy: true });
    const { plan } = await submit(h, {
      configs: [tenantConfig(h.engine, 'obs-done', '2', ['app'])],
      healthCheck: { intervalSeconds: 0.5, maxAttempts: 100, timeoutSeconds: 2 },
    });
    const taskId = plan.taskIds[0]!;
    const running = await waitForTask(h, taskId, (t) => t.status === 'RUNNING' && t.currentStage === 'app');
    // What an execution lost between recording its last stage and completing the task leaves behind.
    await h.deps.store.patchTask(taskId, { completedStages: ['app'] });
    await h.deps.sfn.send(new StopExecutionCommand({ executionArn: running.executionArn }));

    const done = await waitForTask(h, taskId, (t) => t.status === 'COMPLETED');
    h.engine.clearFaults({ tenantId: 'obs-done' });

    expect(done.recoveryCount).toBe(1);
    expect(statesEntered(await executionHistory(done.executionArn))).toEqual([
      'Run stage',
      'What next?',
      'Complete task',
    ]);
    expect(await h.deps.store.getGoodConfig('obs-done', 'app')).toMatchObject({ version: '2', taskId });
    expect(await h.deps.store.getLock('obs-done')).toBeUndefined();
  });

  it("shows a wait for the tenant lock as TenantLocked retries of the first 'Run stage', naming the holder", async () => {
    h.engine.setFaults({ tenantId: 'obs-held', neverHealthy: true });
    const holder = await submit(h, {
      configs: [tenantConfig(h.engine, 'obs-held', '2', ['app'])],
      healthCheck: { intervalSeconds: 0.3, maxAttempts: 100, timeoutSeconds: 2 },
    });
    const waiting = await submit(h, { configs: [tenantConfig(h.engine, 'obs-held', '3', ['app'])] });
    await waitForTask(h, waiting.plan.taskIds[0]!, (t) => t.status === 'PENDING');
    h.engine.clearFaults({ tenantId: 'obs-held' });
    await waitForPlan(h, holder.plan.planId, ['COMPLETED']);
    await waitForPlan(h, waiting.plan.planId, ['COMPLETED']);

    const task = await h.deps.store.requireTask(waiting.plan.taskIds[0]!);
    const events = await executionHistory(task.executionArn);
    const firstExit = events.findIndex((e) => e.type === 'TaskStateExited');
    const locked = events
      .slice(0, firstExit)
      .filter((e) => e.type === 'TaskFailed' && e.taskFailedEventDetails?.error === 'TenantLocked');

    expect(events[firstExit]?.stateExitedEventDetails?.name).toBe('Run stage');
    expect(locked.length).toBeGreaterThan(0);
    expect(locked[0]?.taskFailedEventDetails?.cause).toContain(holder.plan.taskIds[0]!);
    expect(statesEntered(events)).toEqual(['Run stage', 'What next?', 'Task completed']);
  });
});
