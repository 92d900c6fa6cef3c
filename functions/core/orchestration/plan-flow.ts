/** Creating and starting plans, the plan machine's steps, and closing a plan once its tasks are done. */
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { executionName, planCounters, planEnd } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { IllegalTransition } from '../errors.ts';
import { taskIdsOf } from '../keys.ts';
import { isTerminalPlan, type Plan } from '../model.ts';
import { buildPlan, requestHash } from '../plans.ts';
import { type PlanRequest, parseOrThrow, planRequestSchema } from '../schemas.ts';
import type { StepInput } from '../steps.ts';
import { failureFromStateError } from './errors.ts';

export async function startPlanExecution(
  deps: Deps,
  plan: Pick<Plan, 'planId' | 'attempt' | 'waveCount'>,
): Promise<string> {
  const input = JSON.stringify({ planId: plan.planId, attempt: plan.attempt });
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        // A plan with a strategy runs on its own machine, so a plan without one costs no extra state transition.
        stateMachineArn: resource(deps, plan.waveCount ? 'wavesStateMachineArn' : 'planStateMachineArn'),
        name: executionName.plan(plan.planId, plan.attempt),
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
  /** The plan item, with its task ids (computed: the item keeps no list). */
  plan: Plan & { taskIds: string[] };
  created: boolean;
  /** Why the plan machine did not start; the plan is stored and the supervisor starts it. */
  startError?: string;
}

/**
 * From this many tasks a plan is created asynchronously: the request stages the
 * tasks in a few large items and answers CREATING; the plan machine writes them.
 * Below it, writing every task within the request stays well inside API Gateway's
 * 30 s integration timeout.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 */
export const ASYNC_CREATION_MIN_TASKS = 500;

/** Validates, stores and starts a plan (the API and the EventBridge rule both come here). */
export async function submitPlan(deps: Deps, body: unknown, idempotencyKey?: string): Promise<SubmitResult> {
  const request: PlanRequest = parseOrThrow(planRequestSchema, body);
  const now = deps.now();
  const built = buildPlan(request, deps.settings, {
    planId: deps.store.ctx.newId(),
    now,
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  const status = built.tasks.length >= ASYNC_CREATION_MIN_TASKS ? 'CREATING' : 'CREATED';
  const { plan, created } = await deps.store.createPlan({ ...built.plan, status }, built.tasks, {
    ...(idempotencyKey ? { idempotencyKey, requestHash: requestHash(request) } : {}),
    ...(built.strategy ? { strategy: built.strategy } : {}),
  });
  const withIds = { ...plan, taskIds: taskIdsOf(plan) };
  if (!created) return { plan: withIds, created };
  try {
    const executionArn = await startPlanExecution(deps, plan);
    return { plan: { ...withIds, executionArn }, created };
  } catch (error) {
    // The plan is stored: it stays as it is and the supervisor's next sweep starts it.
    const startError = `${(error as Error).name}: ${(error as Error).message}`;
    return { plan: withIds, created, startError };
  }
}

/**
 * Plan machine, first state: writes the tasks of a plan created asynchronously,
 * marks it RUNNING, and lists the task positions the Map fans out over.
 */
export async function startPlan(deps: Deps, input: StepInput<'startPlan'>) {
  let plan = await deps.store.requirePlan(input.planId);
  if (plan.status === 'CREATING') {
    await deps.store.writeStagedTasks(plan.planId);
    plan = (await deps.store.transitionPlan(plan.planId, 'created')).item;
  }
  if (plan.status === 'CREATED') {
    plan = (
      await deps.store.transitionPlan(plan.planId, 'start', {
        set: { executionArn: input.executionArn, startedAt: deps.now().toISOString() },
      })
    ).item;
  } else if (plan.executionArn !== input.executionArn) {
    await deps.store.patchPlan(plan.planId, { executionArn: input.executionArn });
  }
  // The waves machine opens the wave the plan is at; each wave lists its own tenants.
  if (plan.waveCount) return { planId: plan.planId, attempt: plan.attempt, wave: plan.currentWave ?? 0 };
  return {
    planId: plan.planId,
    attempt: plan.attempt,
    maxConcurrency: plan.maxConcurrency,
    indexes: Array.from({ length: plan.totalTasks }, (_, index) => index),
  };
}

/** Plan machine, last state (and its Catch): the Map is done, so the plan closes once its tasks are. */
export async function finishPlan(deps: Deps, input: StepInput<'finishPlan'>) {
  const plan = await deps.store.requirePlan(input.planId);
  if (input.error) {
    if (isTerminalPlan(plan.status)) return { status: plan.status };
    let failureInfo = failureFromStateError(input.error);
    const creating = plan.status === 'CREATING';
    // A creation that failed leaves no task behind, so none can ever run. Abandoned first: a
    // Start plan still writing (its invocation timed out) can then add nothing after the removal.
    // The plan then holds no task, and says how many it was asked for.
    if (creating) {
      failureInfo = {
        ...failureInfo,
        message: `${failureInfo.message} (while writing the plan's ${plan.totalTasks} tasks; none was kept)`,
      };
      await deps.store.abandonCreation(plan.planId, failureInfo);
      await deps.store.removeCreatedItems(plan.planId);
    }
    const failed = await deps.store.transitionPlan(plan.planId, 'fail', {
      set: { failureInfo, endedAt: deps.now().toISOString(), ...(creating ? { totalTasks: 0 } : {}) },
      failureInfo,
    });
    return { status: failed.item.status };
  }
  await deps.store.patchPlan(plan.planId, { mapFinished: true });
  return { status: await finalizePlanIfDone(deps, plan.planId) };
}

/**
 * Closes the plan once its tasks are done (see planEnd). Several finishing tasks
 * may race here; the plan's expected-status check lets exactly one of them close it.
 */
export async function finalizePlanIfDone(deps: Deps, planId: string): Promise<string> {
  const plan = await deps.store.requirePlan(planId);
  if (
    plan.status !== 'ROLLING_BACK' &&
    (!plan.mapFinished || (plan.status !== 'RUNNING' && plan.status !== 'PAUSED'))
  )
    return plan.status;
  const { counts } = await deps.store.withCounts(plan);
  const end = planEnd(plan, counts);
  if (!end) return plan.status;
  // The closing event carries the final counts: the supervisor must not follow it with a PlanProgress for the same ones.
  const counters = planCounters(counts);
  const reportedProgress =
    counters.completedTasks + counters.failedTasks + counters.cancelledTasks + counters.rolledBackTasks;
  const set = { endedAt: deps.now().toISOString(), reportedProgress };
  try {
    const change =
      'failureInfo' in end
        ? { set: { ...set, failureInfo: end.failureInfo }, failureInfo: end.failureInfo }
        : { set };
    return (await deps.store.transitionPlan(planId, end.operation, change)).item.status;
  } catch (error) {
    // Another finishing task closed it first.
    if (error instanceof IllegalTransition) return (await deps.store.requirePlan(planId)).status;
    throw error;
  }
}
