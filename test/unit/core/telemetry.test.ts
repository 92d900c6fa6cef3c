import { describe, expect, it } from 'vitest';
import { logKeysOf } from '../../../functions/core/handler.ts';
import type { Plan, RolloutEvent, Task } from '../../../functions/core/model.ts';
import { failedStep, metricsForTransition } from '../../../functions/core/telemetry.ts';

const PLAN_ID = '01M8SKTMQKCBJAZ14E06H1JAWN';
const TASK_ID = `${PLAN_ID}-00001`;

const task = (fields: Partial<Task> = {}): Task =>
  ({ taskId: TASK_ID, planId: PLAN_ID, tenantId: 'acme', status: 'RUNNING', ...fields }) as Task;

const event = (type: RolloutEvent['type'], fields: Partial<RolloutEvent> = {}): RolloutEvent => ({
  eventId: 'e',
  type,
  planId: PLAN_ID,
  taskId: TASK_ID,
  tenantId: 'acme',
  sequenceType: 'TASK',
  sequenceId: 5,
  timestamp: '2026-12-01T10:00:10.000Z',
  status: 'RUNNING',
  ...fields,
});

describe('metrics of a committed transition', () => {
  it('counts a succeeded stage with its duration since the stage started and the health rounds it used', () => {
    const after = task({ stageStartedAt: '2026-12-01T10:00:07.500Z' });

    const points = metricsForTransition(
      event('TaskStageSucceeded', { detail: { rounds: 4 } }),
      task(),
      after,
    );

    expect(points).toEqual([
      { metric: 'stageSucceeded', value: 1 },
      { metric: 'stageDuration', value: 2500 },
      { metric: 'healthRounds', value: 4 },
    ]);
  });

  it('names the step a failed stage failed in', () => {
    const failureInfo = { type: 'BROADCAST' as const, message: 'refused', stage: 'db' };

    const points = metricsForTransition(event('TaskStageFailed', { failureInfo }), task(), task());

    expect(points).toEqual([{ metric: 'stageFailed', value: 1, dimension: 'broadcast' }]);
    expect(failedStep({ type: 'HEALTH_CHECK', message: '' })).toBe('health-check');
    expect(failedStep({ type: 'INTERNAL', message: '' })).toBe('other');
  });

  it('measures the lock wait from the moment the task started waiting to the moment it took the lock', () => {
    const before = task({ status: 'PENDING', updatedAt: '2026-12-01T10:00:04.000Z' });

    const points = metricsForTransition(event('TaskStarted'), before, task());

    expect(points).toEqual([{ metric: 'lockWait', value: 6000 }]);
  });

  it('counts every task end and plan end once, by its final status', () => {
    const ended = metricsForTransition(event('TaskRolledBack', { status: 'ROLLED_BACK' }), task(), task());
    const plan = { planId: PLAN_ID, status: 'RUNNING' } as Plan;
    const finished = metricsForTransition(
      event('PlanFailed', { sequenceType: 'PLAN', status: 'FAILED', taskId: undefined }),
      plan,
      plan,
    );

    expect(ended).toEqual([{ metric: 'taskEnded', value: 1, dimension: 'ROLLED_BACK' }]);
    expect(finished).toEqual([{ metric: 'planFinished', value: 1, dimension: 'FAILED' }]);
  });

  it('stands for no metric when nothing an operator counts happened', () => {
    expect(metricsForTransition(event('TaskHeartbeat'), task(), task())).toEqual([]);
    expect(metricsForTransition(event('TaskStarted'), task({ status: 'PAUSED' }), task())).toEqual([]);
  });
});

describe('log keys of a step input', () => {
  it('derives the task id from plan and position, and the plan id from a task id', () => {
    expect(logKeysOf({ planId: PLAN_ID, index: 1, executionArn: 'arn:x' })).toEqual({
      planId: PLAN_ID,
      taskId: TASK_ID,
      executionArn: 'arn:x',
    });
    expect(logKeysOf({ taskId: TASK_ID })).toEqual({
      planId: PLAN_ID,
      taskId: TASK_ID,
      executionArn: undefined,
    });
    expect(logKeysOf('not an object')).toEqual({
      planId: undefined,
      taskId: undefined,
      executionArn: undefined,
    });
  });
});
