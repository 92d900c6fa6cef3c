/** Creating and starting plans, the plan machine's steps, and closing a plan once its tasks are done. */
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { countStatuses, executionName, planCounters, planEnd } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { IllegalTransition } from '../errors.ts';
import { isTerminalPlan, type Plan, type Task } from '../model.ts';
import { logger } from '../observability.ts';
import { buildPlan, requestHash } from '../plans.ts';
import { type PlanRequest, parseOrThrow, planRequestSchema } from '../schemas.ts';
import type { StepInput } from '../steps.ts';
import { failureFromStateError } from './errors.ts';

export async function startPlanExecution(
  deps: Deps,
  plan: Pick<Plan, 'planId' | 'attempt'>,
): Promise<string> {
  const input = JSON.stringify({ planId: plan.planId, attempt: plan.attempt });
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: resource(deps, 'planStateMachineArn'),
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
  plan: Plan;
  tasks: Task[];
  created: boolean;
  /** Why the plan machine did not start; the plan is stored (CREATED) and the supervisor starts it. */
  startError?: string;
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
  try {
    const executionArn = await startPlanExecution(deps, plan);
    return { plan: { ...plan, executionArn }, tasks: built.tasks, created };
  } catch (error) {
    // The plan is stored: it stays CREATED and the supervisor's next sweep starts it.
    const startError = `${(error as Error).name}: ${(error as Error).message}`;
    return { plan, tasks: built.tasks, created, startError };
  }
}

/** Plan machine, first state: RUNNING, and the task positions the Map fans out over. */
export async function startPlan(deps: Deps, input: StepInput<'startPlan'>) {
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
export async function finishPlan(deps: Deps, input: StepInput<'finishPlan'>) {
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
  const counts = countStatuses(await deps.store.listTasks(planId));
  const end = planEnd(plan, counts);
  if (!end) return plan.status;
  const counters = planCounters(counts);
  // The closing event carries the final counts: the supervisor must not follow it with a PlanProgress for the same ones.
  const reportedProgress =
    counters.completedTasks + counters.failedTasks + counters.cancelledTasks + counters.rolledBackTasks;
  const set = { endedAt: deps.now().toISOString(), ...counters, reportedProgress };
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
