/** Creating and starting plans, the plan machine's steps, and closing a plan once its tasks are done. */
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { IllegalTransition } from '../errors.ts';
import { isTerminalPlan, isTerminalTask, type Plan, type Task } from '../model.ts';
import { buildPlan, requestHash } from '../plans.ts';
import { type PlanRequest, parseOrThrow, planRequestSchema } from '../schemas.ts';
import { thresholdExceeded } from '../settings.ts';
import { failureFromStateError } from './errors.ts';

/** Execution names are derived from ids and attempts, so repeating a start is idempotent. */
export const planExecutionName = (planId: string, attempt: number) => `${planId}-a${attempt}`;

export async function startPlanExecution(
  deps: Deps,
  plan: Pick<Plan, 'planId' | 'attempt'>,
): Promise<string> {
  const input = JSON.stringify({ planId: plan.planId, attempt: plan.attempt });
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: resource(deps, 'planStateMachineArn'),
        name: planExecutionName(plan.planId, plan.attempt),
        input,
      }),
    );
    await deps.store.patchPlan(plan.planId, { executionArn: started.executionArn });
    return started.executionArn!;
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    const existing = await deps.store.requirePlan(plan.planId);
    return existing.executionArn ?? '';
  }
}

export interface SubmitResult {
  plan: Plan;
  tasks: Task[];
  created: boolean;
}

/** Validates, stores and starts a plan (the API and the EventBridge rule both come here). */
export async function submitPlan(deps: Deps, body: unknown, idempotencyKey?: string): Promise<SubmitResult> {
  const request: PlanRequest = parseOrThrow(planRequestSchema, body);
  const now = deps.now();
  const built = buildPlan(request, deps.settings, {
    planId: deps.store.ctx.newId(),
    now,
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  const { plan, created } = await deps.store.createPlan(built.plan, built.tasks, {
    ...(idempotencyKey ? { idempotencyKey, requestHash: requestHash(request) } : {}),
  });
  if (!created) return { plan, tasks: await deps.store.listTasks(plan.planId), created };
  // A plan whose start fails here stays CREATED; the supervisor starts it.
  const executionArn = await startPlanExecution(deps, plan).catch(() => undefined);
  return { plan: { ...plan, ...(executionArn ? { executionArn } : {}) }, tasks: built.tasks, created };
}

/** Plan machine, first state: RUNNING, and the task positions the Map fans out over. */
export async function startPlan(deps: Deps, input: { planId: string; executionArn: string }) {
  let plan = await deps.store.requirePlan(input.planId);
  if (plan.status === 'CREATED') {
    plan = (
      await deps.store.transitionPlan(plan.planId, 'start', {
        set: { executionArn: input.executionArn, startedAt: deps.now().toISOString() },
      })
    ).item;
  } else if (plan.executionArn !== input.executionArn) {
    await deps.store.patchPlan(plan.planId, { executionArn: input.executionArn });
  }
  return {
    planId: plan.planId,
    attempt: plan.attempt,
    maxConcurrency: plan.maxConcurrency,
    indexes: plan.taskIds.map((_, i) => i),
  };
}

/** Plan machine, last state (and its Catch): the Map is done, so the plan closes once its tasks are. */
export async function finishPlan(
  deps: Deps,
  input: { planId: string; error?: { Error?: string; Cause?: string } },
) {
  const plan = await deps.store.requirePlan(input.planId);
  if (input.error) {
    if (isTerminalPlan(plan.status)) return { status: plan.status };
    const failureInfo = failureFromStateError(input.error);
    const failed = await deps.store.transitionPlan(plan.planId, 'fail', {
      set: { failureInfo, endedAt: deps.now().toISOString() },
      failureInfo,
    });
    return { status: failed.item.status };
  }
  await deps.store.patchPlan(plan.planId, { mapFinished: true });
  return { status: await finalizePlanIfDone(deps, plan.planId) };
}

/**
 * Closes a RUNNING/PAUSED plan once the plan machine has started every task and
 * every task is finished. Several finishing tasks may race here; the plan's
 * expected-status check lets exactly one of them close it.
 */
export async function finalizePlanIfDone(deps: Deps, planId: string): Promise<string> {
  const plan = await deps.store.requirePlan(planId);
  if (plan.status === 'ROLLING_BACK') return finalizeRollbackIfDone(deps, plan);
  if (!plan.mapFinished || (plan.status !== 'RUNNING' && plan.status !== 'PAUSED')) return plan.status;
  const tasks = await deps.store.listTasks(planId);
  if (tasks.some((t) => !isTerminalTask(t.status))) return plan.status;
  const counters = countOutcomes(tasks);
  const failed = counters.failedTasks;
  const endedAt = deps.now().toISOString();
  try {
    if (failed === 0) {
      return (await deps.store.transitionPlan(planId, 'complete', { set: { endedAt, ...counters } })).item
        .status;
    }
    const failureInfo = thresholdExceeded(plan.failureThreshold, failed, plan.totalTasks)
      ? {
          type: 'FAILURE_THRESHOLD' as const,
          message: `${failed} of ${plan.totalTasks} tasks failed, over the failure threshold`,
        }
      : { type: 'TASKS_FAILED' as const, message: `${failed} of ${plan.totalTasks} tasks failed` };
    return (
      await deps.store.transitionPlan(planId, 'fail', {
        set: { endedAt, failureInfo, ...counters },
        failureInfo,
      })
    ).item.status;
  } catch (error) {
    if (error instanceof IllegalTransition) return (await deps.store.requirePlan(planId)).status;
    throw error;
  }
}

/** The plan's counters recounted from its tasks' statuses (the running counters are best-effort). */
export function countOutcomes(tasks: readonly Pick<Task, 'status'>[]) {
  const count = (...statuses: Task['status'][]) => tasks.filter((t) => statuses.includes(t.status)).length;
  return {
    completedTasks: count('COMPLETED'),
    failedTasks: count('FAILED', 'ROLLBACK_FAILED'),
    cancelledTasks: count('CANCELLED'),
    rolledBackTasks: count('ROLLED_BACK'),
  };
}

/** A plan rollback ends when none of its tasks is still rolling back. */
export async function finalizeRollbackIfDone(deps: Deps, plan: Plan): Promise<string> {
  const tasks = await deps.store.listTasks(plan.planId);
  if (tasks.some((t) => t.status === 'ROLLING_BACK')) return plan.status;
  const failed = tasks.filter((t) => t.status === 'ROLLBACK_FAILED').length;
  try {
    if (failed === 0)
      return (
        await deps.store.transitionPlan(plan.planId, 'rolledBack', {
          set: { endedAt: deps.now().toISOString(), ...countOutcomes(tasks) },
        })
      ).item.status;
    const failureInfo = {
      type: 'ROLLBACK' as const,
      message: `${failed} of ${tasks.length} tasks could not be rolled back`,
    };
    return (
      await deps.store.transitionPlan(plan.planId, 'rollbackFailed', {
        set: { failureInfo, ...countOutcomes(tasks) },
        failureInfo,
      })
    ).item.status;
  } catch (error) {
    if (error instanceof IllegalTransition) return (await deps.store.requirePlan(plan.planId)).status;
    throw error;
  }
}
