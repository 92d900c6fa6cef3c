import { describe, expect, it } from 'vitest';
import { IllegalTransition } from '../../../functions/core/errors.ts';
import {
  isTerminalPlan,
  isTerminalTask,
  PLAN_STATUSES,
  type PlanStatus,
  TASK_STATUSES,
  type TaskStatus,
} from '../../../functions/core/model.ts';
import {
  canTask,
  decidePlan,
  decideTask,
  PLAN_RULES,
  type PlanOperation,
  TASK_RULES,
  type TaskGuardView,
  type TaskOperation,
  taskRefusal,
} from '../../../functions/core/transitions.ts';

/** A task view that passes every guard: no retries used, one stage already changed, no pause asked. */
const permissive: TaskGuardView = {
  retryCount: 0,
  completedStages: ['app'],
  currentStage: undefined,
  paused: false,
};
const TASK_OPS = Object.keys(TASK_RULES) as TaskOperation[];
const PLAN_OPS = Object.keys(PLAN_RULES) as PlanOperation[];

/** Every (status, operation, next status) the table allows for a task that passes the guards. */
function taskMoves() {
  return [permissive, { ...permissive, paused: true }].flatMap((view) =>
    TASK_STATUSES.flatMap((status) =>
      TASK_OPS.filter((op) => canTask(op, { ...view, status })).map((op) => ({
        status,
        op,
        ...decideTask('t', op, { ...view, status }),
      })),
    ),
  );
}

function reachable<S extends string>(start: S, moves: readonly { from: S; to: S }[]): Set<S> {
  const seen = new Set<S>([start]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const move of moves) {
      if (seen.has(move.from) && !seen.has(move.to)) {
        seen.add(move.to);
        grew = true;
      }
    }
  }
  return seen;
}

function thrownBy(action: () => unknown): IllegalTransition {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(IllegalTransition);
    return error as IllegalTransition;
  }
  throw new Error('expected an IllegalTransition');
}

describe('task lifecycle', () => {
  it('a new task can reach every status, and nothing ever returns to CREATED', () => {
    const moves = taskMoves();

    expect([...reachable<TaskStatus>('CREATED', moves)].sort()).toEqual([...TASK_STATUSES].sort());
    expect(moves.filter((m) => m.to === 'CREATED' && m.from !== 'CREATED')).toEqual([]);
  });

  it('runs forward through validate, start, its stages and complete', () => {
    let status: TaskStatus = 'CREATED';
    for (const op of ['validate', 'start', 'stageStarted', 'stageSucceeded', 'complete'] as const) {
      status = decideTask('t', op, { ...permissive, status }).to;
    }

    expect(status).toBe('COMPLETED');
  });

  it('a finished task moves again only when an operator retries or rolls it back', () => {
    const leaving = taskMoves().filter((m) => isTerminalTask(m.status) && m.to !== m.status);

    expect(new Set(leaving.map((m) => m.op))).toEqual(new Set(['retry', 'rollback']));
  });

  it('only a failed task is retried', () => {
    const retryFrom = TASK_STATUSES.filter((status) => canTask('retry', { ...permissive, status }));

    expect(retryFrom).toEqual(['FAILED']);
  });

  it('every status change emits an event; only requests that set a flag and PENDING waits emit none', () => {
    const silent = taskMoves().filter((m) => m.event === null);

    expect(silent.every((m) => m.op === 'wait' || m.to === m.status)).toBe(true);
    expect(new Set(silent.filter((m) => m.to === m.status).map((m) => m.op))).toEqual(
      new Set(['wait', 'requestPause', 'withdrawPause', 'requestCancel']),
    );
  });

  it('stage events happen only while RUNNING, rollback stage events only while ROLLING_BACK', () => {
    const stageOps = TASK_OPS.filter((op) => op.startsWith('stage'));
    for (const op of stageOps) {
      const from = TASK_STATUSES.filter((status) => canTask(op, { ...permissive, status }));
      expect(from).toEqual(op.includes('Roll') ? ['ROLLING_BACK'] : ['RUNNING']);
    }
  });
});

describe('pause and cancel requests are rules of the table', () => {
  it('a pause can be asked of any task that has not paused, finished or started rolling back', () => {
    const askable = TASK_STATUSES.filter((status) => canTask('requestPause', { ...permissive, status }));

    expect(askable).toEqual(['CREATED', 'VALIDATED', 'PENDING', 'RUNNING']);
  });

  it('a pause request is withdrawn only while it is pending', () => {
    expect(canTask('withdrawPause', { ...permissive, paused: true, status: 'RUNNING' })).toBe(true);

    const error = thrownBy(() => decideTask('t', 'withdrawPause', { ...permissive, status: 'RUNNING' }));

    expect(error.message).toBe('cannot resume task t: it is RUNNING (it is not paused)');
  });

  it('a running task is cancelled at its boundary; every other active task is cancelled at once', () => {
    const active = TASK_STATUSES.filter((status) => !isTerminalTask(status) && status !== 'ROLLING_BACK');
    for (const status of active) {
      const requested = canTask('requestCancel', { ...permissive, status });
      expect(requested).toBe(status === 'RUNNING');
      expect(canTask('cancel', { ...permissive, status })).toBe(true);
    }
  });

  it('refusals use the operator word, naming the current status', () => {
    const error = thrownBy(() => decideTask('t', 'requestPause', { ...permissive, status: 'COMPLETED' }));

    expect(error.statusCode).toBe(409);
    expect(error.currentStatus).toBe('COMPLETED');
    expect(error.message).toBe('cannot pause task t: it is COMPLETED');
  });
});

describe('guards', () => {
  it.each([0, 1, 2])('retry from FAILED is allowed after %i earlier retries', (retryCount) => {
    expect(decideTask('t', 'retry', { ...permissive, retryCount, status: 'FAILED' }).to).toBe('PENDING');
  });

  it.each([3, 4])('retry is refused once %i retries were used, naming the reason', (retryCount) => {
    const error = thrownBy(() => decideTask('t', 'retry', { ...permissive, retryCount, status: 'FAILED' }));

    expect(error.message).toBe('cannot retry task t: it is FAILED (retry limit (3) reached)');
  });

  it('recovering a lost execution is allowed whatever retries were used, and only for an active task', () => {
    for (const status of ['VALIDATED', 'PENDING', 'RUNNING', 'PAUSED'] as const) {
      expect(taskRefusal('recover', { ...permissive, retryCount: 3, status })).toBeUndefined();
    }
    expect(taskRefusal('recover', { ...permissive, status: 'FAILED' })).toBe('it is FAILED');
    expect(taskRefusal('recover', { ...permissive, status: 'CREATED' })).toBe('it is CREATED');
  });

  it('rollback is refused for a task that changed nothing, allowed for one that failed mid-stage', () => {
    const untouched = { ...permissive, completedStages: [], status: 'FAILED' as const };

    expect(thrownBy(() => decideTask('t', 'rollback', untouched)).message).toBe(
      'cannot rollback task t: it is FAILED (nothing was changed)',
    );
    expect(decideTask('t', 'rollback', { ...untouched, currentStage: 'app' }).to).toBe('ROLLING_BACK');
  });
});

describe('plan lifecycle', () => {
  const planMoves = PLAN_STATUSES.flatMap((status) =>
    PLAN_OPS.flatMap((op) => {
      try {
        return [{ op, ...decidePlan('p', op, { status }) }];
      } catch {
        return [];
      }
    }),
  );

  it('a plan being created can reach every status, and nothing returns to CREATING', () => {
    const seen = reachable<PlanStatus>('CREATING', planMoves);

    expect([...seen].sort()).toEqual([...PLAN_STATUSES].sort());
    expect(planMoves.filter((m) => m.to === 'CREATING')).toEqual([]);
  });

  it('a finished plan moves again only by a retry (reopen) or a rollback', () => {
    const leaving = planMoves.filter((m) => isTerminalPlan(m.from) && m.to !== m.from);

    expect(new Set(leaving.map((m) => m.op))).toEqual(new Set(['reopen', 'rollback']));
  });

  it('progress never changes the status, and is refused before the plan started', () => {
    expect(planMoves.filter((m) => m.op === 'progress').every((m) => m.to === m.from)).toBe(true);
    expect(thrownBy(() => decidePlan('p', 'progress', { status: 'CREATED' })).message).toBe(
      'cannot progress plan p: it is CREATED',
    );
  });
});
