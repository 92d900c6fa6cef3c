/**
 * Operator actions on tasks and plans (pause, resume, cancel, retry, rollback).
 * Pause and cancel of a running task are flags the task machine honours at the
 * next stage boundary; everything else is a transition now.
 */
import { SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { IllegalTransition } from '../errors.ts';
import { type FailureInfo, isTerminalPlan, isTerminalTask, type Task } from '../model.ts';
import { executionArnFor } from '../resources.ts';
import { canTask } from '../transitions.ts';
import { finalizePlanIfDone } from './plan-flow.ts';

export type Operation = 'pause' | 'resume' | 'cancel' | 'retry' | 'rollback';

export interface TaskOperationResult {
  targetType: 'TASK' | 'PLAN';
  targetId: string;
  success: boolean;
  finalStatus: string;
  failureInfo?: FailureInfo;
  message: string;
}

const NOT_STARTED: readonly Task['status'][] = ['CREATED', 'VALIDATED', 'PENDING'];

const taskResult = (task: Task, message: string, success = true): TaskOperationResult => ({
  targetType: 'TASK',
  targetId: task.taskId,
  success,
  finalStatus: task.status,
  ...(task.failureInfo ? { failureInfo: task.failureInfo } : {}),
  message,
});

/** Sends a parked pause token back, if one is parked (exactly one caller gets it). */
async function wakeParked(deps: Deps, taskId: string, output: Record<string, unknown>) {
  const token = await deps.store.takePauseToken(taskId);
  if (token)
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
}

/** Starts the task or rollback machine for a task; the task records the execution before it starts. */
export async function startTaskExecution(
  deps: Deps,
  machine: 'taskStateMachineArn' | 'rollbackStateMachineArn',
  task: Task,
  name: string,
) {
  const stateMachineArn = resource(deps, machine);
  await deps.store.patchTask(task.taskId, { executionArn: executionArnFor(stateMachineArn, name) });
  await deps.sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      name,
      input: JSON.stringify({ planId: task.planId, index: task.index }),
    }),
  );
}

export async function pauseTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  if (task.status === 'PAUSED') return taskResult(task, 'already paused');
  if (isTerminalTask(task.status) || task.status === 'ROLLING_BACK') {
    throw new IllegalTransition('TASK', taskId, task.status, 'pause');
  }
  await deps.store.patchTask(taskId, { paused: true });
  return taskResult({ ...task, paused: true }, 'will pause at the next stage boundary');
}

export async function resumeTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  if (task.status === 'PAUSED') {
    const resumed = await deps.store.transitionTask(taskId, 'resume', { set: { paused: false } });
    await wakeParked(deps, taskId, { resumed: true });
    return taskResult(resumed.item, 'resumed');
  }
  if (task.paused && !isTerminalTask(task.status)) {
    await deps.store.patchTask(taskId, { paused: false });
    return taskResult(
      { ...task, paused: false },
      'pause request withdrawn before the task reached a stage boundary',
    );
  }
  throw new IllegalTransition('TASK', taskId, task.status, 'resume', 'it is not paused');
}

export async function cancelTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  if (isTerminalTask(task.status) || task.status === 'ROLLING_BACK') {
    throw new IllegalTransition('TASK', taskId, task.status, 'cancel');
  }
  if (task.status === 'RUNNING') {
    await deps.store.patchTask(taskId, { cancelled: true });
    return taskResult({ ...task, cancelled: true }, 'will cancel at the next stage boundary');
  }
  // Not started, or parked: cancel now; a waiting execution sees CANCELLED and ends.
  const cancelled = await deps.store.transitionTask(taskId, 'cancel', {
    set: { cancelled: true, endedAt: deps.now().toISOString() },
    planCounters: { cancelledTasks: 1 },
  });
  if (task.status === 'PAUSED') {
    await deps.store.releaseLock(task.tenantId, taskId);
    await wakeParked(deps, taskId, { cancelled: true });
  }
  await finalizePlanIfDone(deps, task.planId);
  return taskResult(
    cancelled.item,
    NOT_STARTED.includes(task.status) ? 'cancelled before it started' : 'cancelled',
  );
}

export async function retryTask(
  deps: Deps,
  taskId: string,
  fromCheckpoint: boolean,
): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  const retried = await deps.store.transitionTask(taskId, 'retry', {
    set: {
      retryCount: task.retryCount + 1,
      cancelled: false,
      paused: false,
      ...(fromCheckpoint ? {} : { completedStages: [] }),
    },
    remove: ['failureInfo', 'endedAt', 'currentStage', 'stageStartedBy'],
    ...(fromCheckpoint ? {} : { checkpoint: 'clear' as const }),
    detail: { fromCheckpoint },
    planCounters: { failedTasks: -1 },
  });
  const plan = await deps.store.requirePlan(task.planId);
  if (isTerminalPlan(plan.status) && plan.status !== 'CANCELLED') {
    await deps.store.transitionPlan(task.planId, 'reopen', {
      remove: ['failureInfo', 'endedAt'],
      detail: { retry: taskId },
    });
  }
  await startTaskExecution(deps, 'taskStateMachineArn', task, `${taskId}-r${task.retryCount + 1}`);
  return taskResult(
    retried.item,
    fromCheckpoint
      ? `retrying after ${task.completedStages.length} completed stage(s)`
      : 'retrying from the first stage',
  );
}

export async function rollbackTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  const count = (task.rollbackCount ?? 0) + 1;
  const rolling = await deps.store.transitionTask(taskId, 'rollback', {
    set: { rollbackCount: count, rolledBackStages: [] },
    remove: ['failureInfo', 'endedAt'],
  });
  await startTaskExecution(deps, 'rollbackStateMachineArn', task, `${taskId}-rb${count}`);
  return taskResult(rolling.item, 'rolling back to the previous good config');
}

export const TASK_OPERATIONS = {
  pause: (deps: Deps, taskId: string) => pauseTask(deps, taskId),
  resume: (deps: Deps, taskId: string) => resumeTask(deps, taskId),
  cancel: (deps: Deps, taskId: string) => cancelTask(deps, taskId),
  retry: (deps: Deps, taskId: string, options?: { fromCheckpoint?: boolean }) =>
    retryTask(deps, taskId, options?.fromCheckpoint ?? true),
  rollback: (deps: Deps, taskId: string) => rollbackTask(deps, taskId),
} satisfies Record<Operation, unknown>;

const APPLIES_TO: Record<Operation, (task: Task) => boolean> = {
  pause: (task) => !isTerminalTask(task.status) && task.status !== 'PAUSED' && task.status !== 'ROLLING_BACK',
  resume: (task) => task.status === 'PAUSED' || (task.paused && !isTerminalTask(task.status)),
  cancel: (task) => !isTerminalTask(task.status) && task.status !== 'ROLLING_BACK',
  retry: (task) => canTask('retry', task),
  rollback: (task) => canTask('rollback', task),
};

/** Applies a task operation to every task of a plan for which it makes sense, and moves the plan. */
export async function operatePlan(
  deps: Deps,
  planId: string,
  operation: Operation,
  options: { fromCheckpoint?: boolean } = {},
): Promise<TaskOperationResult> {
  const plan = await deps.store.requirePlan(planId);
  const tasks = await deps.store.listTasks(planId);
  const applicable = tasks.filter((task) => APPLIES_TO[operation](task));

  const planOp = {
    pause: 'pause',
    resume: 'resume',
    cancel: 'cancel',
    rollback: 'rollback',
    retry: 'reopen',
  } as const;
  if (operation !== 'retry' || (isTerminalPlan(plan.status) && applicable.length)) {
    await deps.store.transitionPlan(planId, planOp[operation], {
      ...(operation === 'cancel' ? { set: { endedAt: deps.now().toISOString() } } : {}),
    });
  } else if (!applicable.length) {
    throw new IllegalTransition('PLAN', planId, plan.status, operation, 'no failed task can be retried');
  }

  const failures: string[] = [];
  for (const task of applicable) {
    try {
      if (operation === 'retry') await retryTask(deps, task.taskId, options.fromCheckpoint ?? true);
      else await TASK_OPERATIONS[operation](deps, task.taskId);
    } catch (error) {
      if (!(error instanceof IllegalTransition)) throw error;
      failures.push(`${task.taskId}: ${error.message}`);
    }
  }
  if (operation === 'rollback') await finalizePlanIfDone(deps, planId);
  const after = await deps.store.requirePlan(planId);
  return {
    targetType: 'PLAN',
    targetId: planId,
    success: failures.length === 0,
    finalStatus: after.status,
    ...(after.failureInfo ? { failureInfo: after.failureInfo } : {}),
    message: `${operation} applied to ${applicable.length - failures.length} of ${tasks.length} task(s)${failures.length ? `; refused: ${failures.join('; ')}` : ''}`,
  };
}
