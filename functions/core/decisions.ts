/**
 * The orchestration's decisions, next to the transition table they apply: what
 * the lock step and a stage boundary do, when a plan is finished, and how a
 * task attempt's execution is named. Pure: the flows in orchestration/ read
 * the facts, ask here, and write what the answer says.
 */
import {
  type FailureInfo,
  isTerminalTask,
  type Plan,
  type Task,
  type TaskStatus,
  TERMINAL_TASK_STATUSES,
} from './model.ts';
import { thresholdExceeded } from './settings.ts';
import { remainingStages } from './stages.ts';

/** Tasks of a plan per status; statuses no task has may be absent. */
export type StatusCounts = Partial<Record<TaskStatus, number>>;

export const countOf = (counts: StatusCounts, ...statuses: TaskStatus[]) =>
  statuses.reduce((sum, status) => sum + (counts[status] ?? 0), 0);

/** What the plan shows as its outcome counters. */
export function planCounters(counts: StatusCounts) {
  return {
    completedTasks: countOf(counts, 'COMPLETED'),
    failedTasks: countOf(counts, 'FAILED', 'ROLLBACK_FAILED'),
    cancelledTasks: countOf(counts, 'CANCELLED'),
    rolledBackTasks: countOf(counts, 'ROLLED_BACK'),
  };
}

export const countStatuses = (tasks: readonly Pick<Task, 'status'>[]): StatusCounts => {
  const counts: StatusCounts = {};
  for (const task of tasks) counts[task.status] = (counts[task.status] ?? 0) + 1;
  return counts;
};

// ---------------------------------------------------------------------------
// Execution names

/**
 * Names of a task's executions. Each attempt has its own name, so a repeated
 * start of the same attempt is idempotent. The plan machine's Map names first
 * runs `{planId}-{index}-p{attempt}` itself (States.Format in plan.asl.json).
 */
export const executionName = {
  plan: (planId: string, attempt: number) => `${planId}-a${attempt}`,
  /** An operator's retry: `attempt` is the task's retry count after it. */
  retry: (taskId: string, attempt: number) => `${taskId}-r${attempt}`,
  /** The supervisor's recovery of a lost execution: `recovery` is the task's recovery count after it. */
  recovery: (taskId: string, recovery: number) => `${taskId}-x${recovery}`,
  rollback: (taskId: string, attempt: number) => `${taskId}-rb${attempt}`,
};

// ---------------------------------------------------------------------------
// Whether a task's execution is lost

/** What Step Functions says of the execution a task records (`MISSING`: none recorded, or not started). */
export type ExecutionState = 'RUNNING' | 'ENDED' | 'MISSING';

/**
 * A task's execution is lost once it ended, or once it is missing, unless the
 * task was handed to it less than `graceMs` ago: a retry, rollback or recovery
 * records the new execution in its transition and starts it just after, and a
 * sweep between the two must not take the task for lost and start a second one.
 */
export function executionLost(
  execution: ExecutionState,
  task: Pick<Task, 'handedOverAt'>,
  now: Date,
  graceMs: number,
): boolean {
  if (execution === 'RUNNING') return false;
  if (execution === 'ENDED' || !task.handedOverAt) return true;
  return now.getTime() - Date.parse(task.handedOverAt) >= graceMs;
}

// ---------------------------------------------------------------------------
// Recovering a lost execution

/**
 * A task whose execution is gone (a crash, a stopped runtime, a supervisor restart) resumes from
 * its checkpoint as often as that happens: recoveries have their own counter and never spend the
 * operator's retries. Each recovery after the first waits longer (1 s, 2 s, 4 s … at most 30 s,
 * counted from the previous one), so an execution that keeps dying at once is not restarted in a
 * loop; the cap stays well below the lock lease, which the supervisor renews while a recovery waits.
 */
export const RECOVERY_BACKOFF = { firstMs: 1_000, maxMs: 30_000 } as const;

export type RecoveryFacts = Pick<Task, 'recoveryCount' | 'recoveredAt'>;

/** Milliseconds until the task may be recovered again (0: now). */
export function recoveryWaitMs(task: RecoveryFacts, now: Date): number {
  const done = task.recoveryCount ?? 0;
  if (!done || !task.recoveredAt) return 0;
  const backoff = Math.min(RECOVERY_BACKOFF.firstMs * 2 ** (done - 1), RECOVERY_BACKOFF.maxMs);
  return Math.max(0, Date.parse(task.recoveredAt) + backoff - now.getTime());
}

/**
 * What a recovery writes, the same whichever path found the lost execution; `handover` names the
 * execution that takes the task on (the supervisor's new one, or the restarted plan's own). It
 * applies only to the task as read when its execution was found lost (`ifSeq`): the supervisor and
 * a restarted plan can find the same loss at once, and only the first may take the task on.
 */
export function recoveryChange(
  task: RecoveryFacts & Pick<Task, 'seq'>,
  now: Date,
  handover: Pick<Task, 'executionArn' | 'handedOverAt'>,
) {
  const recoveryCount = (task.recoveryCount ?? 0) + 1;
  return {
    set: { recoveryCount, recoveredAt: now.toISOString(), ...handover },
    detail: { fromCheckpoint: true, reason: 'EXECUTION_LOST' as const, recovery: recoveryCount },
    ifSeq: task.seq,
  };
}

// ---------------------------------------------------------------------------
// The lock step (the task machine's first "Run stage", the rollback machine's "Take tenant lock for rollback")

export interface LockFacts {
  task: Pick<
    Task,
    'status' | 'executionArn' | 'cancelled' | 'retryCount' | 'startedAt' | 'recoveryCount' | 'recoveredAt'
  >;
  /** The execution asking. */
  executionArn: string;
  now: Date;
  purpose?: 'ROLLBACK';
  /** Whether the other execution recorded on the task still runs or is about to start (asked for with `check-execution`). */
  recordedExecutionRunning?: boolean;
  /** The plan and its counts (asked for with `read-plan`). */
  plan?: { status: Plan['status']; failureThreshold?: Plan['failureThreshold']; totalTasks: number };
  failedTasks?: number;
}

export type LockStep =
  /** Nothing for this execution to do: the task is finished, or another execution drives it. */
  | { do: 'skip' }
  /** This execution already holds the tenant and runs the task. */
  | { do: 'run' }
  /** Another execution is recorded on the task: ask whether it still runs, then ask again. */
  | { do: 'check-execution' }
  /** The execution that drove the task is gone: adopt the task (a recovery from its checkpoint), then ask again. */
  | { do: 'recover' }
  /** The execution that drove the task is gone, and the recovery backoff has not passed yet: ask again later. */
  | { do: 'await-recovery'; waitMs: number }
  | { do: 'read-plan' }
  /** The task will not run: end it CANCELLED (with the reason, when there is one). */
  | { do: 'cancel'; failureInfo?: FailureInfo }
  /** Take the tenant lock (validating a CREATED task first); PENDING while another task holds it. */
  | { do: 'take'; validate: boolean };

const ADOPTABLE: readonly TaskStatus[] = ['PENDING', 'RUNNING', 'PAUSED'];

export function decideLockStep(facts: LockFacts): LockStep {
  const { task } = facts;
  if (facts.purpose === 'ROLLBACK')
    return task.status === 'ROLLING_BACK' ? { do: 'take', validate: false } : { do: 'skip' };
  if (isTerminalTask(task.status)) return { do: 'skip' };
  const ownExecution = task.executionArn === facts.executionArn;
  if (task.status === 'RUNNING' && ownExecution) return { do: 'run' };
  if (task.executionArn && !ownExecution && task.status !== 'CREATED') {
    if (facts.recordedExecutionRunning === undefined) return { do: 'check-execution' };
    if (facts.recordedExecutionRunning) return { do: 'skip' };
    if (ADOPTABLE.includes(task.status)) {
      const waitMs = recoveryWaitMs(task, facts.now);
      return waitMs ? { do: 'await-recovery', waitMs } : { do: 'recover' };
    }
  }
  if (!facts.plan) return { do: 'read-plan' };
  if (task.cancelled || facts.plan.status === 'CANCELLED') return { do: 'cancel' };
  const failed = facts.failedTasks ?? 0;
  // Only a task that never started is held back: a retried or recovered one finishes what it began.
  if (
    task.retryCount === 0 &&
    !task.startedAt &&
    thresholdExceeded(facts.plan.failureThreshold, failed, facts.plan.totalTasks)
  ) {
    return {
      do: 'cancel',
      failureInfo: {
        type: 'FAILURE_THRESHOLD',
        message: `not started: ${failed} of ${facts.plan.totalTasks} tasks failed, over the plan's failure threshold`,
      },
    };
  }
  return { do: 'take', validate: task.status === 'CREATED' };
}

// ---------------------------------------------------------------------------
// A stage boundary ("Run stage", before each stage)

export interface BoundaryFacts {
  task: Pick<
    Task,
    | 'status'
    | 'executionArn'
    | 'paused'
    | 'cancelled'
    | 'stages'
    | 'completedStages'
    | 'fencingToken'
    | 'tenantId'
  >;
  executionArn: string;
  /** Whether the lease on the tenant was renewed with the task's fencing token (asked for with `renew-lease`). */
  leaseRenewed?: boolean;
}

export type Boundary =
  /** Another execution drives the task. */
  | { do: 'skip' }
  /** Cancelled while parked: the task already ended. */
  | { do: 'cancelled' }
  /** Paused and still asked to be: park on a task token. */
  | { do: 'park' }
  /** Parked, and the pause was withdrawn: resume, then ask again. */
  | { do: 'resume' }
  /** Cancel requested: end the task CANCELLED. */
  | { do: 'cancel' }
  /** Pause requested: move to PAUSED and park. */
  | { do: 'pause' }
  | { do: 'done' }
  /** Renew the tenant lease before the stage, then ask again. */
  | { do: 'renew-lease'; stage: string }
  /** The lease lapsed and may be another task's now: the stage must not start. */
  | { do: 'lost-lease'; stage: string; failureInfo: FailureInfo }
  | { do: 'run'; stage: string };

export function decideBoundary(facts: BoundaryFacts): Boundary {
  const { task } = facts;
  if (task.executionArn && task.executionArn !== facts.executionArn) return { do: 'skip' };
  if (task.status === 'CANCELLED') return { do: 'cancelled' };
  if (task.status === 'PAUSED') {
    if (task.cancelled) return { do: 'cancel' };
    return task.paused ? { do: 'park' } : { do: 'resume' };
  }
  if (task.cancelled) return { do: 'cancel' };
  if (task.paused) return { do: 'pause' };
  const stage = remainingStages(task.stages, task.completedStages)[0];
  if (!stage) return { do: 'done' };
  if (task.fencingToken !== undefined && facts.leaseRenewed === undefined)
    return { do: 'renew-lease', stage };
  if (task.fencingToken === undefined || !facts.leaseRenewed) {
    return {
      do: 'lost-lease',
      stage,
      failureInfo: {
        type: 'LOCK',
        stage,
        message: `lost the lock on tenant ${task.tenantId} before stage ${stage}`,
      },
    };
  }
  return { do: 'run', stage };
}

// ---------------------------------------------------------------------------
// Engines after a task ended

/**
 * The services whose engine, started by this task, serves the tenant once the task ended: those
 * of its completed stages, less the stages a rollback restored. Any other engine it started
 * (mid-stage, never handed off, rolled back) serves nobody and is stopped.
 */
export function servingServices(
  task: Pick<Task, 'status' | 'completedStages' | 'rolledBackStages'>,
): Set<string> {
  const restored = new Set(
    task.status === 'ROLLED_BACK' || task.status === 'ROLLBACK_FAILED' ? (task.rolledBackStages ?? []) : [],
  );
  return new Set(task.completedStages.filter((stage) => !restored.has(stage)));
}

// ---------------------------------------------------------------------------
// When a plan is finished

export type PlanEnd =
  | { operation: 'complete' }
  | { operation: 'fail'; failureInfo: FailureInfo }
  | { operation: 'rolledBack' }
  | { operation: 'rollbackFailed'; failureInfo: FailureInfo };

const finishedTasks = (counts: StatusCounts) => countOf(counts, ...TERMINAL_TASK_STATUSES);

/**
 * How a plan ends, or `undefined` while it goes on. A running (or paused) plan ends once
 * its plan machine started every task and every task is terminal; a rollback ends once
 * no task is rolling back.
 */
export function planEnd(
  plan: Pick<Plan, 'status' | 'mapFinished' | 'failureThreshold' | 'totalTasks'>,
  counts: StatusCounts,
): PlanEnd | undefined {
  if (finishedTasks(counts) < plan.totalTasks) return undefined;
  if (plan.status === 'ROLLING_BACK') {
    const failed = countOf(counts, 'ROLLBACK_FAILED');
    if (!failed) return { operation: 'rolledBack' };
    return {
      operation: 'rollbackFailed',
      failureInfo: {
        type: 'ROLLBACK',
        message: `${failed} of ${plan.totalTasks} tasks could not be rolled back`,
      },
    };
  }
  if (!plan.mapFinished || (plan.status !== 'RUNNING' && plan.status !== 'PAUSED')) return undefined;
  const failed = planCounters(counts).failedTasks;
  if (!failed) return { operation: 'complete' };
  return {
    operation: 'fail',
    failureInfo: thresholdExceeded(plan.failureThreshold, failed, plan.totalTasks)
      ? {
          type: 'FAILURE_THRESHOLD',
          message: `${failed} of ${plan.totalTasks} tasks failed, over the failure threshold`,
        }
      : { type: 'TASKS_FAILED', message: `${failed} of ${plan.totalTasks} tasks failed` },
  };
}
