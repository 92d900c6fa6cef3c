/**
 * Operator actions on tasks and plans (pause, resume, cancel, retry, rollback).
 * Pause and cancel of a running task are flags the task machine honours at the
 * next stage boundary; everything else is a transition now.
 */
import { SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { executionName } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { IllegalTransition } from '../errors.ts';
import { type FailureInfo, isTerminalPlan, type Task } from '../model.ts';
import type { OperationName, OperationOptions } from '../operations.ts';
import { executionArnFor } from '../resources.ts';
import { canTask } from '../transitions.ts';
import { endTask } from './end-task.ts';
import { finalizePlanIfDone } from './plan-flow.ts';
import { releaseApprovalGate } from './wave-flow.ts';

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

/** The execution that will drive a task: recorded on the task (`handover`) in the write that hands it over, then started. */
export interface NextExecution {
  stateMachineArn: string;
  name: string;
  handover: Pick<Task, 'executionArn' | 'handedOverAt'>;
}

export function nextExecution(
  deps: Deps,
  machine: 'taskStateMachineArn' | 'rollbackStateMachineArn',
  name: string,
): NextExecution {
  const stateMachineArn = resource(deps, machine);
  return {
    stateMachineArn,
    name,
    handover: {
      executionArn: executionArnFor(stateMachineArn, name),
      handedOverAt: deps.now().toISOString(),
    },
  };
}

export async function startTaskExecution(deps: Deps, execution: NextExecution, task: Task) {
  await deps.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      input: JSON.stringify({ planId: task.planId, index: task.index }),
    }),
  );
}

export async function pauseTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  if (task.status === 'PAUSED') return taskResult(task, 'already paused');
  const asked = await deps.store.transitionTask(taskId, 'requestPause', { set: { paused: true } }, task);
  return taskResult(asked.item, 'will pause at the next stage boundary');
}

export async function resumeTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  if (task.status === 'PAUSED') {
    const resumed = await deps.store.transitionTask(taskId, 'resume', { set: { paused: false } }, task);
    await wakeParked(deps, taskId, { resumed: true });
    return taskResult(resumed.item, 'resumed');
  }
  const withdrawn = await deps.store.transitionTask(
    taskId,
    'withdrawPause',
    { set: { paused: false } },
    task,
  );
  return taskResult(withdrawn.item, 'pause request withdrawn before the task reached a stage boundary');
}

export async function cancelTask(deps: Deps, taskId: string): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  if (canTask('requestCancel', task)) {
    const asked = await deps.store.transitionTask(
      taskId,
      'requestCancel',
      { set: { cancelled: true } },
      task,
    );
    return taskResult(asked.item, 'will cancel at the next stage boundary');
  }
  // Not started, or parked: cancel now; a waiting execution sees CANCELLED and ends.
  const cancelled = await endTask(deps, taskId, 'cancel', { set: { cancelled: true } }, task);
  if (task.status === 'PAUSED') await wakeParked(deps, taskId, { cancelled: true });
  return taskResult(
    cancelled,
    NOT_STARTED.includes(task.status) ? 'cancelled before it started' : 'cancelled',
  );
}

export async function retryTask(
  deps: Deps,
  taskId: string,
  fromCheckpoint: boolean,
): Promise<TaskOperationResult> {
  const task = await deps.store.requireTask(taskId);
  const retryCount = task.retryCount + 1;
  const execution = nextExecution(deps, 'taskStateMachineArn', executionName.retry(taskId, retryCount));
  const retried = await deps.store.transitionTask(taskId, 'retry', {
    set: {
      retryCount,
      cancelled: false,
      paused: false,
      ...execution.handover,
      ...(fromCheckpoint ? {} : { completedStages: [] }),
    },
    remove: ['failureInfo', 'endedAt', 'currentStage', 'stageStartedBy'],
    detail: { fromCheckpoint },
  });
  const plan = await deps.store.requirePlan(task.planId);
  if (isTerminalPlan(plan.status) && plan.status !== 'CANCELLED') {
    await deps.store.transitionPlan(task.planId, 'reopen', {
      remove: ['failureInfo', 'endedAt'],
      detail: { retry: taskId },
    });
  }
  await startTaskExecution(deps, execution, task);
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
  const execution = nextExecution(deps, 'rollbackStateMachineArn', executionName.rollback(taskId, count));
  const rolling = await deps.store.transitionTask(taskId, 'rollback', {
    set: { rollbackCount: count, rolledBackStages: [], ...execution.handover },
    remove: ['failureInfo', 'endedAt'],
  });
  await startTaskExecution(deps, execution, task);
  return taskResult(rolling.item, 'rolling back to the previous good config');
}

export const TASK_OPERATIONS: Record<
  OperationName,
  (deps: Deps, taskId: string, options?: OperationOptions) => Promise<TaskOperationResult>
> = {
  pause: pauseTask,
  resume: resumeTask,
  cancel: cancelTask,
  retry: (deps, taskId, options) => retryTask(deps, taskId, options?.fromCheckpoint ?? true),
  rollback: rollbackTask,
};

/** Which tasks of a plan an operation applies to, asked of the transition table. */
const APPLIES_TO: Record<OperationName, (task: Task) => boolean> = {
  pause: (task) => canTask('requestPause', task),
  resume: (task) => canTask('resume', task) || canTask('withdrawPause', task),
  cancel: (task) => canTask('requestCancel', task) || canTask('cancel', task),
  retry: (task) => canTask('retry', task),
  rollback: (task) => canTask('rollback', task),
};

/** Applies a task operation to every task of a plan for which it makes sense, and moves the plan. */
export async function operatePlan(
  deps: Deps,
  planId: string,
  operation: OperationName,
  options: OperationOptions = {},
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
      await TASK_OPERATIONS[operation](deps, task.taskId, options);
    } catch (error) {
      if (!(error instanceof IllegalTransition)) throw error;
      failures.push(`${task.taskId}: ${error.message}`);
    }
  }
  if (operation === 'rollback') await finalizePlanIfDone(deps, planId);
  // A wave waiting for approval goes on, finds the plan cancelled and ends the plan machine.
  if (operation === 'cancel' && plan.waveCount) await releaseApprovalGate(deps, planId);
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
