/**
 * The steps of the task machine. Each is idempotent against a repeated
 * invocation, and every status change goes through the store's transition.
 */
import { DescribeExecutionCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { engineFor } from '../../../engines/catalog.ts';
import type { Deps } from '../deps.ts';
import { taskIdFor } from '../keys.ts';
import { type FailureInfo, isTerminalTask, type Plan, type Task } from '../model.ts';
import { thresholdExceeded } from '../settings.ts';
import { remainingStages } from '../stages.ts';
import { failureFromStateError, StageFailed, TenantLocked } from './errors.ts';
import { finalizePlanIfDone } from './plan-flow.ts';
import {
  applyStage,
  type EngineHandOff,
  engineLaunch,
  isOwnHandOff,
  recordHandOff,
  stopProvisioningEngines,
} from './stage.ts';

/** The task machine's state after the lock: `step.action` feeds "What next?" (NEXT runs the stages). */
export interface LockResult {
  planId: string;
  index: number;
  taskId: string;
  engine: null;
  step: { action: 'NEXT' | 'SKIP'; launch: null };
}

export async function isExecutionRunning(deps: Deps, executionArn: string | undefined): Promise<boolean> {
  if (!executionArn) return false;
  try {
    const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return described.status === 'RUNNING';
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return false;
    throw error;
  }
}

const leaseMs = (deps: Deps) => deps.settings.lockLeaseSeconds * 1000;

/** Ends a task that will not run: cancelled by an operator, a cancelled plan, or the plan's failure threshold. */
async function cancelBeforeStart(deps: Deps, task: Task, failureInfo?: FailureInfo) {
  await deps.store.transitionTask(task.taskId, 'cancel', {
    set: { endedAt: deps.now().toISOString(), cancelled: true, ...(failureInfo ? { failureInfo } : {}) },
    failureInfo,
    planCounters: { cancelledTasks: 1 },
  });
  await deps.store.releaseLock(task.tenantId, task.taskId);
  await finalizePlanIfDone(deps, task.planId);
}

export async function takeLock(
  deps: Deps,
  input: { planId: string; index: number; executionArn: string; purpose?: 'ROLLBACK' },
): Promise<LockResult> {
  const taskId = taskIdFor(input.planId, input.index);
  const result = (action: 'RUN' | 'SKIP'): LockResult => ({
    planId: input.planId,
    index: input.index,
    taskId,
    engine: null,
    step: { action: action === 'RUN' ? 'NEXT' : 'SKIP', launch: null },
  });
  let task = await deps.store.requireTask(taskId);

  if (input.purpose === 'ROLLBACK') {
    if (task.status !== 'ROLLING_BACK') return result('SKIP');
    const lock = await deps.store.acquireLock(task.tenantId, task, leaseMs(deps));
    if (!lock.acquired)
      throw new TenantLocked(`tenant ${task.tenantId} is locked by task ${lock.holder?.ownerTaskId}`);
    await deps.store.patchTask(taskId, {
      fencingToken: lock.lock.fencingToken,
      executionArn: input.executionArn,
    });
    return result('RUN');
  }

  if (isTerminalTask(task.status)) return result('SKIP');
  if (task.status === 'RUNNING' && task.executionArn === input.executionArn) return result('RUN');

  if (task.executionArn && task.executionArn !== input.executionArn && task.status !== 'CREATED') {
    if (await isExecutionRunning(deps, task.executionArn)) return result('SKIP');
    if (task.status === 'RUNNING' || task.status === 'PAUSED' || task.status === 'PENDING') {
      // The execution that drove this task is gone: adopt it, resuming from its checkpoint.
      task = (
        await deps.store.transitionTask(taskId, 'recover', {
          set: { retryCount: task.retryCount + 1, executionArn: input.executionArn },
          detail: { fromCheckpoint: true, reason: 'EXECUTION_LOST' },
        })
      ).item;
    }
  }

  const plan = await deps.store.requirePlan(task.planId);
  if (task.cancelled || plan.status === 'CANCELLED') {
    await cancelBeforeStart(deps, task);
    return result('SKIP');
  }
  if (task.retryCount === 0 && thresholdExceeded(plan.failureThreshold, plan.failedTasks, plan.totalTasks)) {
    await cancelBeforeStart(deps, task, {
      type: 'FAILURE_THRESHOLD',
      message: `not started: ${plan.failedTasks} of ${plan.totalTasks} tasks failed, over the plan's failure threshold`,
    });
    return result('SKIP');
  }

  if (task.status === 'CREATED') {
    task = (
      await deps.store.transitionTask(taskId, 'validate', { set: { executionArn: input.executionArn } }, task)
    ).item;
  }

  const lock = await deps.store.acquireLock(task.tenantId, task, leaseMs(deps));
  if (!lock.acquired) {
    if (task.status !== 'PENDING' || task.executionArn !== input.executionArn) {
      await deps.store.transitionTask(taskId, 'wait', { set: { executionArn: input.executionArn } });
    }
    throw new TenantLocked(
      `tenant ${task.tenantId} is locked by task ${lock.holder?.ownerTaskId ?? '?'} of plan ${lock.holder?.ownerPlanId ?? '?'}`,
    );
  }
  const now = deps.now().toISOString();
  await deps.store.transitionTask(
    taskId,
    'start',
    {
      set: {
        executionArn: input.executionArn,
        fencingToken: lock.lock.fencingToken,
        lastHeartbeatAt: now,
        ...(task.startedAt ? {} : { startedAt: now }),
      },
    },
    task,
  );
  return result('RUN');
}

export type StageAction = 'NEXT' | 'PROVISION' | 'PAUSE' | 'CANCELLED' | 'DONE' | 'SKIP';

export interface StageReply {
  action: StageAction;
  launch: unknown;
}

export interface RunStagesInput {
  taskId: string;
  executionArn: string;
  engine?: EngineHandOff | null;
}

/**
 * Runs the task's stages one after another in this invocation, each behind its
 * stage boundary (pause, cancel, lock check), until one needs an engine, the
 * task pauses, is cancelled or done, or the invocation could not fit another
 * stage. Each return costs the state machine two transitions, so fewer is cheaper.
 */
export async function runStages(
  deps: Deps,
  input: RunStagesInput,
  remainingMs: () => number,
): Promise<StageReply> {
  let engine = input.engine;
  for (;;) {
    const { reply, nextStageBudgetMs } = await runStage(deps, { ...input, engine });
    engine = null;
    if (reply.action !== 'NEXT' || remainingMs() < nextStageBudgetMs) return reply;
  }
}

/** The most a stage can take: every health round at its slowest, plus room for config-update and broadcast. */
const stageBudgetMs = (plan: Plan) =>
  plan.healthCheck.maxAttempts * (plan.healthCheck.intervalSeconds + plan.healthCheck.timeoutSeconds) * 1000 +
  30_000;

/** One stage boundary and, unless paused, cancelled or waiting for an engine, one whole stage. */
async function runStage(
  deps: Deps,
  input: RunStagesInput,
): Promise<{ reply: StageReply; nextStageBudgetMs: number }> {
  let budget = 0;
  const reply = (action: StageAction, launch: unknown = null) => ({
    reply: { action, launch },
    nextStageBudgetMs: budget,
  });
  let task = await deps.store.requireTask(input.taskId);
  if (task.executionArn && task.executionArn !== input.executionArn) return reply('SKIP');
  if (task.status === 'CANCELLED') return reply('CANCELLED');

  if (task.status === 'PAUSED') {
    if (task.paused && !task.cancelled) return reply('PAUSE');
    if (!task.cancelled) task = (await deps.store.transitionTask(task.taskId, 'resume')).item;
  }
  if (task.cancelled) {
    await deps.store.transitionTask(task.taskId, 'cancel', {
      set: { endedAt: deps.now().toISOString() },
      planCounters: { cancelledTasks: 1 },
    });
    await deps.store.releaseLock(task.tenantId, task.taskId);
    await finalizePlanIfDone(deps, task.planId);
    return reply('CANCELLED');
  }
  if (task.paused) {
    await deps.store.transitionTask(task.taskId, 'pause');
    return reply('PAUSE');
  }

  const stage = remainingStages(task.stages, task.completedStages)[0];
  if (!stage) return reply('DONE');
  const plan = await deps.store.requirePlan(task.planId);
  budget = stageBudgetMs(plan);
  // The lease may have lapsed (supervisor down) and another task taken the tenant: never start a stage then.
  if (
    task.fencingToken === undefined ||
    !(await deps.store.renewLock(task.tenantId, task.taskId, task.fencingToken, leaseMs(deps)))
  ) {
    const failureInfo: FailureInfo = {
      type: 'LOCK',
      stage,
      message: `lost the lock on tenant ${task.tenantId} before stage ${stage}`,
    };
    await deps.store.patchTask(task.taskId, { failureInfo });
    throw new StageFailed(failureInfo);
  }

  if (task.currentStage !== stage || task.stageStartedBy !== input.executionArn) {
    task = (
      await deps.store.transitionTask(
        task.taskId,
        'stageStarted',
        { set: { currentStage: stage, stageStartedBy: input.executionArn }, currentStage: stage },
        task,
      )
    ).item;
  }

  const engineSpec = engineFor(stage);
  if (engineSpec) {
    if (!input.engine || !(await isOwnHandOff(deps, task, stage, input.engine))) {
      return reply('PROVISION', await engineLaunch(deps, task, plan, engineSpec));
    }
    await recordHandOff(deps, task, input.engine);
  }

  const outcome = await applyStage(deps, task, plan, stage);
  if (!outcome.ok) {
    const failureInfo: FailureInfo = outcome.failureInfo;
    await deps.store.transitionTask(
      task.taskId,
      'stageFailed',
      {
        set: { failureInfo },
        currentStage: stage,
        failureInfo,
        detail: outcome.health ? { answers: outcome.health.answers } : undefined,
      },
      task,
    );
    throw new StageFailed(failureInfo);
  }
  const completedStages = [...task.completedStages, stage];
  await deps.store.transitionTask(
    task.taskId,
    'stageSucceeded',
    {
      set: { completedStages },
      currentStage: stage,
      checkpoint: completedStages,
      detail: { rounds: outcome.health.rounds, answers: outcome.health.answers },
    },
    task,
  );
  return reply(remainingStages(task.stages, completedStages).length ? 'NEXT' : 'DONE');
}

/**
 * Stores the pause token on the task. When resume already happened (the flag is
 * gone), nobody would send the token back, so this sends it itself.
 */
export async function parkTask(deps: Deps, input: { taskId: string; token: string }): Promise<void> {
  const parked = await deps.store.parkPauseToken(input.taskId, input.token);
  if (!parked)
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: input.token, output: '{"resumed":true}' }));
}

export async function completeTask(deps: Deps, input: { taskId: string }): Promise<{ status: string }> {
  const task = await deps.store.requireTask(input.taskId);
  if (task.status === 'COMPLETED') return { status: task.status };
  for (const stage of task.stages)
    await deps.store.putGoodConfig(task.tenantId, stage, task.config, task.taskId);
  await scheduleDrainOfReplacedEngines(deps, task);
  await deps.store.transitionTask(
    task.taskId,
    'complete',
    {
      // A pause or cancel requested during the last stage found no boundary left to act on.
      set: { endedAt: deps.now().toISOString(), paused: false, cancelled: false },
      remove: ['failureInfo'],
      checkpoint: 'clear',
      planCounters: { completedTasks: 1 },
    },
    task,
  );
  if (task.retryCount > 0) {
    await deps.store.transitionTask(task.taskId, 'retryCompleted', { detail: { success: true } });
  }
  await deps.store.releaseLock(task.tenantId, task.taskId);
  await finalizePlanIfDone(deps, task.planId);
  return { status: 'COMPLETED' };
}

/** Engines of the tenant's services that this task's engines replace start draining after the grace period. */
async function scheduleDrainOfReplacedEngines(deps: Deps, task: Task) {
  const engines = await deps.store.listEngines(task.tenantId);
  const replacing = new Set(
    engines.filter((e) => e.taskId === task.taskId && e.state === 'ready').map((e) => e.service),
  );
  const drainAfter = new Date(deps.now().getTime() + deps.settings.drainGraceSeconds * 1000).toISOString();
  for (const engine of engines) {
    if (replacing.has(engine.service) && engine.taskId !== task.taskId && engine.state === 'ready') {
      await deps.store.updateEngine(engine, 'draining', { drainAfter }, ['ready']);
    }
  }
}

export async function failTask(
  deps: Deps,
  input: { planId: string; index: number; executionArn: string; error?: { Error?: string; Cause?: string } },
): Promise<{ status: string }> {
  const task = await deps.store.requireTask(taskIdFor(input.planId, input.index));
  if (isTerminalTask(task.status)) return { status: task.status };
  if (
    task.executionArn &&
    task.executionArn !== input.executionArn &&
    (await isExecutionRunning(deps, task.executionArn))
  ) {
    return { status: task.status };
  }
  const fromStage = input.error?.Error === 'StageFailed' ? task.failureInfo : undefined;
  const provisioning = await stopProvisioningEngines(deps, task, input.error);
  const failureInfo = fromStage ?? provisioning ?? failureFromStateError(input.error, task.currentStage);
  if (provisioning && task.status === 'RUNNING') {
    await deps.store.transitionTask(task.taskId, 'stageFailed', {
      set: { failureInfo },
      currentStage: provisioning.stage,
      failureInfo,
    });
  }
  await deps.store.transitionTask(task.taskId, 'fail', {
    set: { endedAt: deps.now().toISOString(), failureInfo },
    failureInfo,
    planCounters: { failedTasks: 1 },
  });
  if (task.retryCount > 0) {
    await deps.store.transitionTask(task.taskId, 'retryCompleted', {
      detail: { success: false },
      failureInfo,
    });
  }
  await deps.store.releaseLock(task.tenantId, task.taskId);
  await finalizePlanIfDone(deps, task.planId);
  return { status: 'FAILED' };
}
