import { describe, expect, it } from 'vitest';
import {
  type BoundaryFacts,
  decideBoundary,
  decideLockStep,
  executionLost,
  executionName,
  type LockFacts,
  planEnd,
  recoveryChange,
  recoveryWaitMs,
  servingServices,
} from '../../../functions/core/decisions.ts';
import { executionArnFor } from '../../../functions/core/resources.ts';

const ME = 'arn:aws:states:us-east-1:1:execution:task:me';
const OTHER = 'arn:aws:states:us-east-1:1:execution:task:other';
const plan = { status: 'RUNNING' as const, totalTasks: 10 };

const NOW = new Date('2026-12-01T23:00:00.000Z');
const secondsBefore = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const lockFacts = (task: Partial<LockFacts['task']>, more: Partial<LockFacts> = {}): LockFacts => ({
  task: { status: 'CREATED', cancelled: false, retryCount: 0, ...task },
  executionArn: ME,
  now: NOW,
  ...more,
});

describe('the lock step', () => {
  it('validates a new task and takes the tenant once it has read the plan', () => {
    expect(decideLockStep(lockFacts({}))).toEqual({ do: 'read-plan' });
    expect(decideLockStep(lockFacts({}, { plan }))).toEqual({ do: 'take', validate: true });
  });

  it('re-entered by the execution that runs the task, it runs on', () => {
    expect(decideLockStep(lockFacts({ status: 'RUNNING', executionArn: ME }))).toEqual({ do: 'run' });
  });

  it('skips a finished task, whoever asks', () => {
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLED_BACK', 'ROLLBACK_FAILED'] as const) {
      expect(decideLockStep(lockFacts({ status, executionArn: OTHER }))).toEqual({ do: 'skip' });
    }
  });

  it('asks whether another recorded execution runs; leaves the task to it if so, adopts it if not', () => {
    const running = lockFacts({ status: 'RUNNING', executionArn: OTHER });

    expect(decideLockStep(running)).toEqual({ do: 'check-execution' });
    expect(decideLockStep({ ...running, recordedExecutionRunning: true })).toEqual({ do: 'skip' });
    expect(decideLockStep({ ...running, recordedExecutionRunning: false })).toEqual({ do: 'recover' });
  });

  it('adopts a task as often as its execution is lost, whatever retries were used, once its backoff passed', () => {
    const lost = { status: 'RUNNING' as const, executionArn: OTHER, retryCount: 3 };
    const facts = (recoveryCount: number, secondsAgo: number) =>
      lockFacts(
        { ...lost, recoveryCount, recoveredAt: secondsBefore(secondsAgo) },
        { recordedExecutionRunning: false },
      );

    expect(decideLockStep(facts(7, 31))).toEqual({ do: 'recover' });
    expect(decideLockStep(facts(7, 29))).toEqual({ do: 'await-recovery', waitMs: 1_000 });
    expect(decideLockStep(facts(1, 0.5))).toEqual({ do: 'await-recovery', waitMs: 500 });
  });

  it('lets a recovered task that had started finish over the failure threshold; one never started is held back', () => {
    const over = { plan: { ...plan, failureThreshold: { count: 1 } }, failedTasks: 2 };
    const started = lockFacts({ status: 'PENDING', recoveryCount: 1, startedAt: secondsBefore(60) }, over);
    const waiting = lockFacts({ status: 'PENDING', recoveryCount: 1 }, over);

    expect(decideLockStep(started)).toEqual({ do: 'take', validate: false });
    expect(decideLockStep(waiting)).toMatchObject({
      do: 'cancel',
      failureInfo: { type: 'FAILURE_THRESHOLD' },
    });
  });

  it('a VALIDATED task whose execution died is taken over without a recovery', () => {
    const facts = lockFacts(
      { status: 'VALIDATED', executionArn: OTHER },
      { recordedExecutionRunning: false, plan },
    );

    expect(decideLockStep(facts)).toEqual({ do: 'take', validate: false });
  });

  it('cancels instead of starting a task that was cancelled or whose plan was', () => {
    expect(decideLockStep(lockFacts({ cancelled: true }, { plan }))).toEqual({ do: 'cancel' });
    expect(decideLockStep(lockFacts({}, { plan: { ...plan, status: 'CANCELLED' } }))).toEqual({
      do: 'cancel',
    });
  });

  it('does not start a first attempt once the plan is over its failure threshold; a retry still runs', () => {
    const over = { plan: { ...plan, failureThreshold: { count: 1 } }, failedTasks: 2 };

    const first = decideLockStep(lockFacts({}, over));
    const retried = decideLockStep(lockFacts({ status: 'PENDING', retryCount: 1 }, over));

    expect(first).toMatchObject({ do: 'cancel', failureInfo: { type: 'FAILURE_THRESHOLD' } });
    expect(retried).toEqual({ do: 'take', validate: false });
  });

  it('for a rollback, takes the tenant only while the task is rolling back', () => {
    expect(decideLockStep(lockFacts({ status: 'ROLLING_BACK' }, { purpose: 'ROLLBACK' }))).toEqual({
      do: 'take',
      validate: false,
    });
    expect(decideLockStep(lockFacts({ status: 'ROLLED_BACK' }, { purpose: 'ROLLBACK' }))).toEqual({
      do: 'skip',
    });
  });
});

const boundary = (
  task: Partial<BoundaryFacts['task']>,
  more: Partial<BoundaryFacts> = {},
): BoundaryFacts => ({
  task: {
    status: 'RUNNING',
    executionArn: ME,
    paused: false,
    cancelled: false,
    stages: ['app', 'db'],
    completedStages: [],
    fencingToken: 4,
    tenantId: 'acme',
    ...task,
  },
  executionArn: ME,
  ...more,
});

describe('a stage boundary', () => {
  it('renews the lease, then runs the first stage not yet completed', () => {
    const facts = boundary({ completedStages: ['app'] });

    expect(decideBoundary(facts)).toEqual({ do: 'renew-lease', stage: 'db' });
    expect(decideBoundary({ ...facts, leaseRenewed: true })).toEqual({ do: 'run', stage: 'db' });
  });

  it('never starts a stage once the lease is lost, naming tenant and stage', () => {
    expect(decideBoundary(boundary({}, { leaseRenewed: false }))).toEqual({
      do: 'lost-lease',
      stage: 'app',
      failureInfo: { type: 'LOCK', stage: 'app', message: 'lost the lock on tenant acme before stage app' },
    });
    expect(decideBoundary(boundary({ fencingToken: undefined }))).toMatchObject({ do: 'lost-lease' });
  });

  it('is done when every stage completed', () => {
    expect(decideBoundary(boundary({ completedStages: ['app', 'db'] }))).toEqual({ do: 'done' });
  });

  it('honours a cancel before a pause, and both before the next stage', () => {
    expect(decideBoundary(boundary({ paused: true, cancelled: true }))).toEqual({ do: 'cancel' });
    expect(decideBoundary(boundary({ paused: true }))).toEqual({ do: 'pause' });
  });

  it('a parked task stays parked while paused, resumes once the pause is withdrawn, ends when cancelled', () => {
    expect(decideBoundary(boundary({ status: 'PAUSED', paused: true }))).toEqual({ do: 'park' });
    expect(decideBoundary(boundary({ status: 'PAUSED' }))).toEqual({ do: 'resume' });
    expect(decideBoundary(boundary({ status: 'PAUSED', paused: true, cancelled: true }))).toEqual({
      do: 'cancel',
    });
  });

  it('leaves a task another execution drives alone, and a cancelled one ended', () => {
    expect(decideBoundary(boundary({ executionArn: OTHER }))).toEqual({ do: 'skip' });
    expect(decideBoundary(boundary({ status: 'CANCELLED' }))).toEqual({ do: 'cancelled' });
  });
});

describe('when a plan is finished', () => {
  const running = { status: 'RUNNING' as const, mapFinished: true, totalTasks: 3 };

  it('goes on while a task is not finished, or the plan machine has not started every task', () => {
    expect(planEnd(running, { COMPLETED: 2, RUNNING: 1 })).toBeUndefined();
    expect(planEnd({ ...running, mapFinished: false }, { COMPLETED: 3 })).toBeUndefined();
  });

  it('completes when no task failed, cancelled tasks included', () => {
    expect(planEnd(running, { COMPLETED: 2, CANCELLED: 1 })).toEqual({ operation: 'complete' });
  });

  it('fails naming how many tasks failed, as FAILURE_THRESHOLD when over the threshold', () => {
    expect(planEnd(running, { COMPLETED: 2, FAILED: 1 })).toEqual({
      operation: 'fail',
      failureInfo: { type: 'TASKS_FAILED', message: '1 of 3 tasks failed' },
    });
    expect(planEnd({ ...running, failureThreshold: { percent: 10 } }, { COMPLETED: 2, FAILED: 1 })).toEqual({
      operation: 'fail',
      failureInfo: { type: 'FAILURE_THRESHOLD', message: '1 of 3 tasks failed, over the failure threshold' },
    });
  });

  it('ends a rollback once no task is rolling back', () => {
    const rolling = { ...running, status: 'ROLLING_BACK' as const };

    expect(planEnd(rolling, { ROLLED_BACK: 2, ROLLING_BACK: 1 })).toBeUndefined();
    expect(planEnd(rolling, { ROLLED_BACK: 2, CANCELLED: 1 })).toEqual({ operation: 'rolledBack' });
    expect(planEnd(rolling, { ROLLED_BACK: 2, ROLLBACK_FAILED: 1 })).toMatchObject({
      operation: 'rollbackFailed',
      failureInfo: { type: 'ROLLBACK', message: '1 of 3 tasks could not be rolled back' },
    });
  });

  it('leaves a plan that already ended alone', () => {
    expect(planEnd({ ...running, status: 'CANCELLED' }, { CANCELLED: 3 })).toBeUndefined();
  });
});

describe('execution names', () => {
  it('differ per attempt and are valid Step Functions execution names', () => {
    const taskId = '01KAAAAAAAAAAAAAAAAAAAAAAA-00042';
    const names = [
      executionName.plan('01KAAAAAAAAAAAAAAAAAAAAAAA', 1),
      executionName.plan('01KAAAAAAAAAAAAAAAAAAAAAAA', 2),
      executionName.retry(taskId, 1),
      executionName.retry(taskId, 3),
      executionName.rollback(taskId, 1),
    ];

    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
      expect(() => executionArnFor('arn:aws:states:us-east-1:1:stateMachine:task', name)).not.toThrow();
    }
  });
});

describe('a lost execution', () => {
  const now = new Date('2026-12-01T12:00:00.000Z');
  const handedOverSecondsAgo = (seconds: number) => ({
    handedOverAt: new Date(now.getTime() - seconds * 1000).toISOString(),
  });

  it('is never a running one', () => {
    expect(executionLost('RUNNING', {}, now, 60_000)).toBe(false);
  });

  it('is one that ended, however recently the task was handed to it', () => {
    expect(executionLost('ENDED', handedOverSecondsAgo(0), now, 60_000)).toBe(true);
  });

  it('is a missing one the task was never handed to (its record vanished with a crashed runtime)', () => {
    expect(executionLost('MISSING', {}, now, 60_000)).toBe(true);
  });

  it('is not a missing one the task was just handed to (a retry records it, then starts it)', () => {
    expect(executionLost('MISSING', handedOverSecondsAgo(1), now, 60_000)).toBe(false);
  });

  it('is a missing one once the handover is older than the grace period', () => {
    expect(executionLost('MISSING', handedOverSecondsAgo(60), now, 60_000)).toBe(true);
  });
});

describe('recovering a lost execution', () => {
  it('backs off 1 s, 2 s, 4 s … after each recovery, never more than 30 s, counted from the last one', () => {
    const wait = (recoveryCount: number) =>
      recoveryWaitMs({ recoveryCount, recoveredAt: NOW.toISOString() }, NOW);

    expect([0, 1, 2, 3, 4, 5, 6, 20].map(wait)).toEqual([
      0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
    expect(recoveryWaitMs({ recoveryCount: 3, recoveredAt: secondsBefore(3) }, NOW)).toBe(1_000);
    expect(recoveryWaitMs({ recoveryCount: 3, recoveredAt: secondsBefore(10) }, NOW)).toBe(0);
  });

  it('counts recoveries apart from retries and names the reason EXECUTION_LOST, whichever path recovers', () => {
    const change = recoveryChange({ seq: 12, recoveryCount: 4, recoveredAt: secondsBefore(100) }, NOW, {
      executionArn: ME,
    });

    expect(change).toEqual({
      set: { recoveryCount: 5, recoveredAt: NOW.toISOString(), executionArn: ME },
      detail: { fromCheckpoint: true, reason: 'EXECUTION_LOST', recovery: 5 },
      // Only the task as it was when found lost: a second path finding the same loss changes nothing.
      ifSeq: 12,
    });
    expect(change.set).not.toHaveProperty('retryCount');
  });

  it('gives each recovery its own execution name, apart from retries and rollbacks', () => {
    const names = [
      executionName.recovery('T', 1),
      executionName.recovery('T', 2),
      executionName.retry('T', 1),
      executionName.rollback('T', 1),
    ];

    expect(new Set(names).size).toBe(names.length);
  });
});

describe('engines after a task ended', () => {
  const task = { completedStages: ['media-engine'], rolledBackStages: ['media-engine'] };

  it('keeps the engines of completed stages of a failed or cancelled task; any other serves nobody', () => {
    expect([...servingServices({ ...task, status: 'FAILED' })]).toEqual(['media-engine']);
    expect([...servingServices({ ...task, status: 'CANCELLED' })]).toEqual(['media-engine']);
    expect([...servingServices({ ...task, completedStages: [], status: 'FAILED' })]).toEqual([]);
  });

  it('keeps none whose stage a rollback restored', () => {
    expect([...servingServices({ ...task, status: 'ROLLED_BACK' })]).toEqual([]);
    expect([...servingServices({ ...task, rolledBackStages: [], status: 'ROLLBACK_FAILED' })]).toEqual([
      'media-engine',
    ]);
  });
});
