import { describe, expect, it } from 'vitest';
import { IllegalTransition } from '../../../functions/core/errors.ts';
import {
  PLAN_STATUSES,
  type PlanEventType,
  type PlanStatus,
  TASK_STATUSES,
  type TaskEventType,
  type TaskStatus,
} from '../../../functions/core/model.ts';
import {
  canTask,
  decidePlan,
  decideTask,
  type PlanOperation,
  type TaskGuardView,
  type TaskOperation,
} from '../../../functions/core/transitions.ts';

/**
 * The expected transition table, written out independently of TASK_RULES / PLAN_RULES
 * so that a change to the rules shows up here as a failing case. `to: undefined` keeps the status.
 */
const EXPECTED_TASK: Record<
  TaskOperation,
  { from: TaskStatus[]; to: TaskStatus | undefined; event: TaskEventType | null }
> = {
  validate: { from: ['CREATED'], to: 'VALIDATED', event: 'TaskValidated' },
  wait: { from: ['VALIDATED', 'PENDING'], to: 'PENDING', event: null },
  start: { from: ['VALIDATED', 'PENDING'], to: 'RUNNING', event: 'TaskStarted' },
  pause: { from: ['RUNNING'], to: 'PAUSED', event: 'TaskPaused' },
  resume: { from: ['PAUSED'], to: 'RUNNING', event: 'TaskResumed' },
  complete: { from: ['RUNNING'], to: 'COMPLETED', event: 'TaskCompleted' },
  fail: { from: ['CREATED', 'VALIDATED', 'PENDING', 'RUNNING', 'PAUSED'], to: 'FAILED', event: 'TaskFailed' },
  cancel: {
    from: ['CREATED', 'VALIDATED', 'PENDING', 'RUNNING', 'PAUSED'],
    to: 'CANCELLED',
    event: 'TaskCancelled',
  },
  retry: { from: ['FAILED'], to: 'PENDING', event: 'TaskRetryStarted' },
  recover: { from: ['PENDING', 'RUNNING', 'PAUSED'], to: 'PENDING', event: 'TaskRetryStarted' },
  retryCompleted: { from: ['COMPLETED', 'FAILED'], to: undefined, event: 'TaskRetryCompleted' },
  stageStarted: { from: ['RUNNING'], to: undefined, event: 'TaskStageStarted' },
  stageSucceeded: { from: ['RUNNING'], to: undefined, event: 'TaskStageSucceeded' },
  stageFailed: { from: ['RUNNING'], to: undefined, event: 'TaskStageFailed' },
  heartbeat: { from: ['RUNNING', 'PAUSED'], to: undefined, event: 'TaskHeartbeat' },
  rollback: {
    from: ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLBACK_FAILED'],
    to: 'ROLLING_BACK',
    event: 'TaskRollingBack',
  },
  stageRollingBack: { from: ['ROLLING_BACK'], to: undefined, event: 'TaskStageRollingBack' },
  stageRolledBack: { from: ['ROLLING_BACK'], to: undefined, event: 'TaskStageRolledBack' },
  stageRollbackFailed: { from: ['ROLLING_BACK'], to: undefined, event: 'TaskStageRollbackFailed' },
  rolledBack: { from: ['ROLLING_BACK'], to: 'ROLLED_BACK', event: 'TaskRolledBack' },
  rollbackFailed: { from: ['ROLLING_BACK'], to: 'ROLLBACK_FAILED', event: 'TaskRollbackFailed' },
};

const EXPECTED_PLAN: Record<
  PlanOperation,
  { from: PlanStatus[]; to: PlanStatus | undefined; event: PlanEventType }
> = {
  start: { from: ['CREATED'], to: 'RUNNING', event: 'PlanStarted' },
  pause: { from: ['RUNNING'], to: 'PAUSED', event: 'PlanPaused' },
  resume: { from: ['PAUSED'], to: 'RUNNING', event: 'PlanResumed' },
  progress: {
    from: [
      'RUNNING',
      'PAUSED',
      'ROLLING_BACK',
      'FAILED',
      'CANCELLED',
      'COMPLETED',
      'ROLLED_BACK',
      'ROLLBACK_FAILED',
    ],
    to: undefined,
    event: 'PlanProgress',
  },
  complete: { from: ['RUNNING', 'PAUSED'], to: 'COMPLETED', event: 'PlanCompleted' },
  fail: { from: ['CREATED', 'RUNNING', 'PAUSED'], to: 'FAILED', event: 'PlanFailed' },
  cancel: { from: ['CREATED', 'RUNNING', 'PAUSED'], to: 'CANCELLED', event: 'PlanCancelled' },
  reopen: {
    from: ['FAILED', 'CANCELLED', 'COMPLETED', 'ROLLBACK_FAILED'],
    to: 'RUNNING',
    event: 'PlanStarted',
  },
  rollback: {
    from: ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLBACK_FAILED'],
    to: 'ROLLING_BACK',
    event: 'PlanRollingBack',
  },
  rolledBack: { from: ['ROLLING_BACK'], to: 'ROLLED_BACK', event: 'PlanRolledBack' },
  rollbackFailed: { from: ['ROLLING_BACK'], to: 'ROLLBACK_FAILED', event: 'PlanRollbackFailed' },
};

/** A task view that passes every guard: no retries used, one stage already changed. */
const permissive: TaskGuardView = { retryCount: 0, completedStages: ['app'], currentStage: undefined };

const taskCases = (Object.keys(EXPECTED_TASK) as TaskOperation[]).flatMap((operation) =>
  TASK_STATUSES.map((status) => ({
    operation,
    status,
    allowed: EXPECTED_TASK[operation].from.includes(status),
  })),
);

const planCases = (Object.keys(EXPECTED_PLAN) as PlanOperation[]).flatMap((operation) =>
  PLAN_STATUSES.map((status) => ({
    operation,
    status,
    allowed: EXPECTED_PLAN[operation].from.includes(status),
  })),
);

function thrownBy(action: () => unknown): IllegalTransition {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(IllegalTransition);
    return error as IllegalTransition;
  }
  throw new Error('expected an IllegalTransition');
}

describe('task transitions', () => {
  it.each(taskCases.filter((c) => c.allowed).map((c) => [c.operation, c.status] as const))(
    '%s from %s moves to the expected status and emits its event',
    (operation, status) => {
      const expected = EXPECTED_TASK[operation];

      const decision = decideTask('task-1', operation, { ...permissive, status });

      expect(decision).toEqual({ from: status, to: expected.to ?? status, event: expected.event });
    },
  );

  it.each(taskCases.filter((c) => !c.allowed).map((c) => [c.operation, c.status] as const))(
    '%s from %s is an IllegalTransition naming the current status',
    (operation, status) => {
      const error = thrownBy(() => decideTask('task-1', operation, { ...permissive, status }));

      expect(error.statusCode).toBe(409);
      expect(error.currentStatus).toBe(status);
      expect(error.message).toBe(`cannot ${operation} task task-1: it is ${status}`);
    },
  );

  it.each([0, 1, 2])('retry from FAILED is allowed after %i earlier retries', (retryCount) => {
    const decision = decideTask('task-1', 'retry', { ...permissive, retryCount, status: 'FAILED' });

    expect(decision).toEqual({ from: 'FAILED', to: 'PENDING', event: 'TaskRetryStarted' });
  });

  it.each([3, 4])(
    'retry is refused once %i retries were used, naming the status and the reason',
    (retryCount) => {
      const error = thrownBy(() =>
        decideTask('task-1', 'retry', { ...permissive, retryCount, status: 'FAILED' }),
      );

      expect(error.currentStatus).toBe('FAILED');
      expect(error.message).toBe('cannot retry task task-1: it is FAILED (retry limit (3) reached)');
    },
  );

  it('supervisor recovery counts against the same retry limit', () => {
    expect(decideTask('t', 'recover', { ...permissive, retryCount: 2, status: 'RUNNING' }).to).toBe(
      'PENDING',
    );

    const error = thrownBy(() =>
      decideTask('t', 'recover', { ...permissive, retryCount: 3, status: 'RUNNING' }),
    );

    expect(error.message).toContain('retry limit (3) reached');
  });

  it('rollback is refused for a task that changed nothing', () => {
    const untouched = {
      retryCount: 0,
      completedStages: [],
      currentStage: undefined,
      status: 'FAILED' as const,
    };

    const error = thrownBy(() => decideTask('task-1', 'rollback', untouched));

    expect(error.message).toBe('cannot rollback task task-1: it is FAILED (nothing was changed)');
  });

  it('rollback is allowed for a task that failed inside its first stage', () => {
    const failedMidStage = {
      retryCount: 0,
      completedStages: [],
      currentStage: 'app',
      status: 'FAILED' as const,
    };

    expect(decideTask('task-1', 'rollback', failedMidStage).to).toBe('ROLLING_BACK');
  });

  it('canTask answers without throwing', () => {
    expect(canTask('retry', { ...permissive, status: 'FAILED' })).toBe(true);
    expect(canTask('retry', { ...permissive, status: 'CANCELLED' })).toBe(false);
    expect(canTask('retry', { ...permissive, retryCount: 3, status: 'FAILED' })).toBe(false);
  });
});

describe('plan transitions', () => {
  it.each(planCases.filter((c) => c.allowed).map((c) => [c.operation, c.status] as const))(
    '%s from %s moves to the expected status and emits its event',
    (operation, status) => {
      const expected = EXPECTED_PLAN[operation];

      const decision = decidePlan('plan-1', operation, { status });

      expect(decision).toEqual({ from: status, to: expected.to ?? status, event: expected.event });
    },
  );

  it.each(planCases.filter((c) => !c.allowed).map((c) => [c.operation, c.status] as const))(
    '%s from %s is an IllegalTransition naming the current status',
    (operation, status) => {
      const error = thrownBy(() => decidePlan('plan-1', operation, { status }));

      expect(error.currentStatus).toBe(status);
      expect(error.message).toBe(`cannot ${operation} plan plan-1: it is ${status}`);
    },
  );
});
