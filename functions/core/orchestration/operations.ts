/**
 * Operator actions on tasks and plans (pause, resume, cancel, retry, rollback).
 * Pause and cancel of a running task are flags the task machine honours at the
 * next stage boundary; everything else is a transition now.
 */
import { SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { executionName } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { IllegalTransition, NotFound } from '../errors.ts';
import { type FailureInfo, isTerminalPlan, type Plan, type Task } from '../model.ts';
import { logger } from '../observability.ts';
import type { OperationName, OperationOptions } from '../operations.ts';
import { executionArnFor } from '../resources.ts';
import type { StepInput } from '../steps.ts';
import { canTask, type PlanOperation } from '../transitions.ts';
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
  /** A large plan's action is applied to its tasks after the answer, by this execution. */
  appliedBy?: string;
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

/**
 * From this many tasks a plan-wide action is applied after the answer, by the plan-operation
 * machine: applying it to every task inside the request would pass API Gateway's 30 s.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const ASYNC_OPERATION_MIN_TASKS = 500;
/** Tasks the plan-operation machine reads and changes per invocation of its function. */
const OPERATION_PAGE = 200;
/** Task actions in flight at once while applying a plan-wide action. */
const OPERATIONS_IN_PARALLEL = 8;

const PLAN_OPERATION: Record<OperationName, PlanOperation> = {
  pause: 'pause',
  resume: 'resume',
  cancel: 'cancel',
  rollback: 'rollback',
  retry: 'reopen',
};

/**
 * Moves the plan for a plan-wide action. A retry moves only a finished plan with a task to
 * retry (`applicable`), and is refused when there is none.
 */
async function movePlan(deps: Deps, plan: Plan, operation: OperationName, applicable: number) {
  if (operation !== 'retry' || (isTerminalPlan(plan.status) && applicable)) {
    await deps.store.transitionPlan(plan.planId, PLAN_OPERATION[operation], {
      ...(operation === 'cancel' ? { set: { endedAt: deps.now().toISOString() } } : {}),
    });
  } else if (!applicable) {
    throw new IllegalTransition('PLAN', plan.planId, plan.status, operation, 'no failed task can be retried');
  }
}

/** Applies a task action to those of `tasks` it makes sense for; the refusals say why. */
async function applyToTasks(
  deps: Deps,
  tasks: readonly Task[],
  operation: OperationName,
  options: OperationOptions,
) {
  const applicable = tasks.filter((task) => APPLIES_TO[operation](task));
  const refused: string[] = [];
  for (let i = 0; i < applicable.length; i += OPERATIONS_IN_PARALLEL) {
    await Promise.all(
      applicable.slice(i, i + OPERATIONS_IN_PARALLEL).map(async (task) => {
        try {
          await TASK_OPERATIONS[operation](deps, task.taskId, options);
        } catch (error) {
          // NotFound: the plan was deleted (force) while its action was being applied.
          if (error instanceof NotFound) return;
          if (!(error instanceof IllegalTransition)) throw error;
          refused.push(`${task.taskId}: ${error.message}`);
        }
      }),
    );
  }
  return { applied: applicable.length - refused.length, refused };
}

/**
 * Applies a task operation to every task of a plan for which it makes sense, and moves the plan.
 * A plan of ASYNC_OPERATION_MIN_TASKS tasks or more is moved now and its tasks follow: the
 * result names the execution that applies the action to them (`appliedBy`).
 */
export async function operatePlan(
  deps: Deps,
  planId: string,
  operation: OperationName,
  options: OperationOptions = {},
): Promise<TaskOperationResult> {
  const plan = await deps.store.requirePlan(planId);
  if (plan.totalTasks >= ASYNC_OPERATION_MIN_TASKS) return operateLargePlan(deps, plan, operation, options);
  const tasks = await deps.store.listTasks(planId);
  await movePlan(deps, plan, operation, tasks.filter((task) => APPLIES_TO[operation](task)).length);
  const { applied, refused } = await applyToTasks(deps, tasks, operation, options);
  if (operation === 'rollback') await finalizePlanIfDone(deps, planId);
  // A wave waiting for approval goes on, finds the plan cancelled and ends the plan machine.
  if (operation === 'cancel' && plan.waveCount) await releaseApprovalGate(deps, planId);
  const after = await deps.store.requirePlan(planId);
  return {
    targetType: 'PLAN',
    targetId: planId,
    success: refused.length === 0,
    finalStatus: after.status,
    ...(after.failureInfo ? { failureInfo: after.failureInfo } : {}),
    message: `${operation} applied to ${applied} of ${tasks.length} task(s)${refused.length ? `; refused: ${refused.join('; ')}` : ''}`,
  };
}

async function operateLargePlan(
  deps: Deps,
  plan: Plan,
  operation: OperationName,
  options: OperationOptions,
): Promise<TaskOperationResult> {
  // Only FAILED tasks can be retried (the counters say whether there is one); the retry limit
  // of each is checked as it is retried.
  const retriable = operation === 'retry' ? ((await deps.store.withCounts(plan)).counts.FAILED ?? 0) : 1;
  await movePlan(deps, plan, operation, retriable);
  const stateMachineArn = resource(deps, 'planOperationStateMachineArn');
  const name = `${plan.planId}-${operation}-${deps.store.ctx.newId()}`;
  const input: StepInput<'operatePlan'> = {
    planId: plan.planId,
    operation,
    ...(options.fromCheckpoint !== undefined ? { fromCheckpoint: options.fromCheckpoint } : {}),
  };
  const { executionArn } = await deps.sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
  );
  if (operation === 'cancel' && plan.waveCount) await releaseApprovalGate(deps, plan.planId);
  const after = await deps.store.requirePlan(plan.planId);
  return {
    targetType: 'PLAN',
    targetId: plan.planId,
    success: true,
    finalStatus: after.status,
    ...(after.failureInfo ? { failureInfo: after.failureInfo } : {}),
    appliedBy: executionArn ?? executionArnFor(stateMachineArn, name),
    message: `${operation} accepted for the plan's ${plan.totalTasks} tasks: applied to each after this answer (by execution ${name}); each task's change shows in its status and events`,
  };
}

/**
 * Plan-operation machine, "Apply to tasks": applies the action to one page of the plan's tasks
 * and hands on the cursor of the next. A rollback closes the plan once every task is done.
 */
export async function operatePlanPage(deps: Deps, input: StepInput<'operatePlan'>) {
  const page = await deps.store.listTaskPage(input.planId, {
    limit: OPERATION_PAGE,
    ...(input.cursor ? { cursor: input.cursor } : {}),
  });
  const options = input.fromCheckpoint !== undefined ? { fromCheckpoint: input.fromCheckpoint } : {};
  const { applied, refused } = await applyToTasks(deps, page.tasks, input.operation, options);
  if (refused.length) {
    logger.warn({ message: 'plan-wide action refused by tasks', operation: input.operation, refused });
  }
  if (!page.cursor && input.operation === 'rollback') await finalizePlanIfDone(deps, input.planId);
  const { cursor: _done, ...rest } = input;
  return {
    ...rest,
    applied: (input.applied ?? 0) + applied,
    refused: (input.refused ?? 0) + refused.length,
    ...(page.cursor ? { cursor: page.cursor } : {}),
  };
}
