/**
 * The steps of the task machine. Each is idempotent against a repeated
 * invocation, and every status change goes through the store's transition.
 */
import { DescribeExecutionCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { engineFor } from '../../../engines/catalog.ts';
import {
  type BoundaryFacts,
  decideBoundary,
  decideLockStep,
  type ExecutionState,
  executionLost,
  type LockFacts,
  recoveryChange,
} from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { taskIdFor } from '../keys.ts';
import { type FailureInfo, isTerminalTask, type Plan, type Task } from '../model.ts';
import { appendLogKeys } from '../observability.ts';
import { remainingStages } from '../stages.ts';
import type { StepInput } from '../steps.ts';
import type { TaskStep } from '../store/index.ts';
import { endTask } from './end-task.ts';
import { failureFromStateError, RecoveryBackoff, StageFailed, TenantLocked } from './errors.ts';
import {
  applyStage,
  engineLaunch,
  hasEngineStages,
  isOwnHandOff,
  recordHandOff,
  type StagePlan,
  stopProvisioningEngines,
} from './stage.ts';

/** What the lock step decided: NEXT runs the task's stages, SKIP runs nothing. */
export interface LockResult {
  planId: string;
  index: number;
  taskId: string;
  engine: null;
  step: { action: 'NEXT' | 'SKIP'; launch: null };
}

export async function isExecutionRunning(deps: Deps, executionArn: string | undefined): Promise<boolean> {
  return (await executionState(deps, executionArn)) === 'RUNNING';
}

async function executionState(deps: Deps, executionArn: string | undefined): Promise<ExecutionState> {
  if (!executionArn) return 'MISSING';
  try {
    const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return described.status === 'RUNNING' ? 'RUNNING' : 'ENDED';
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return 'MISSING';
    throw error;
  }
}

/** Whether the execution a task records is lost (see `executionLost`); the grace for a handover is one lock lease. */
export async function isTaskExecutionLost(deps: Deps, task: Task): Promise<boolean> {
  return executionLost(await executionState(deps, task.executionArn), task, deps.now(), leaseMs(deps));
}

const leaseMs = (deps: Deps) => deps.settings.lockLeaseSeconds * 1000;

/**
 * The lock step, run by the task machine's first "Run stage" and the rollback
 * machine's "Take tenant lock for rollback": adopts a task whose execution
 * died (throwing RecoveryBackoff, which the machine retries, until its recovery
 * backoff passed), ends one that will not run, and otherwise takes the tenant
 * (throwing TenantLocked, which the machine retries, while another task holds it).
 */
export async function takeLock(deps: Deps, input: StepInput<'takeLock'>): Promise<LockResult> {
  const { action } = await lockStep(deps, input);
  return {
    planId: input.planId,
    index: input.index,
    taskId: taskIdFor(input.planId, input.index),
    engine: null,
    step: { action, launch: null },
  };
}

/** The lock step's decision, with the task and plan as it left them, for the stage run in the same invocation. */
interface LockOutcome {
  action: 'NEXT' | 'SKIP';
  task: Task;
  plan?: Plan;
  /** The lease was taken just now: no renewal is due before the first stage. */
  leaseTaken: boolean;
}

async function lockStep(deps: Deps, input: StepInput<'takeLock'>): Promise<LockOutcome> {
  const taskId = taskIdFor(input.planId, input.index);
  let task = await deps.store.requireTask(taskId);
  const result = (action: 'NEXT' | 'SKIP', leaseTaken = false): LockOutcome => ({
    action,
    task,
    plan: facts.plan,
    leaseTaken,
  });
  appendLogKeys({ tenantId: task.tenantId });
  const facts: LockFacts & { plan?: Plan } = {
    task,
    executionArn: input.executionArn,
    purpose: input.purpose,
    now: deps.now(),
  };
  for (;;) {
    const step = decideLockStep(facts);
    switch (step.do) {
      case 'skip':
        return result('SKIP');
      case 'run':
        return result('NEXT');
      case 'check-execution':
        facts.recordedExecutionRunning = !(await isTaskExecutionLost(deps, task));
        continue;
      case 'recover':
        // When the supervisor recovered the task first, this changes nothing and the next round
        // finds the supervisor's execution recorded.
        task = (
          await deps.store.transitionTask(
            taskId,
            'recover',
            // This execution runs already: no handover is pending.
            {
              ...recoveryChange(task, deps.now(), { executionArn: input.executionArn }),
              remove: ['handedOverAt'],
            },
            task,
          )
        ).item;
        facts.task = task;
        facts.recordedExecutionRunning = undefined;
        continue;
      case 'await-recovery':
        throw new RecoveryBackoff(
          `task ${taskId} lost its execution and was recovered ${task.recoveryCount} time(s); next recovery in ${Math.ceil(step.waitMs / 1000)} s`,
        );
      case 'read-plan': {
        const plan = await deps.store.requirePlan(task.planId);
        facts.plan = plan;
        // The counts only matter to a failure threshold.
        if (plan.failureThreshold) facts.failedTasks = (await deps.store.withCounts(plan)).failedTasks;
        continue;
      }
      case 'cancel':
        await endTask(
          deps,
          taskId,
          'cancel',
          { set: { cancelled: true, ...(step.failureInfo ? { failureInfo: step.failureInfo } : {}) } },
          task,
        );
        return result('SKIP');
      case 'take':
        task = await lockTenant(
          deps,
          task,
          input,
          // A CREATED task is validated in the same transaction as it starts, or waits.
          step.validate
            ? [{ operation: 'validate', change: { set: { executionArn: input.executionArn } } }]
            : [],
        );
        return result('NEXT', true);
    }
  }
}

/** Takes the tenant (or throws TenantLocked); returns the task as it is then. `first` are transitions made with its start or wait. */
async function lockTenant(
  deps: Deps,
  task: Task,
  input: StepInput<'takeLock'>,
  first: readonly TaskStep[] = [],
): Promise<Task> {
  const lock = await deps.store.acquireLock(task.tenantId, task, leaseMs(deps));
  if (!lock.acquired) {
    if (
      input.purpose !== 'ROLLBACK' &&
      (task.status !== 'PENDING' || task.executionArn !== input.executionArn)
    ) {
      await deps.store.transitionTaskSteps(
        task.taskId,
        [...first, { operation: 'wait', change: { set: { executionArn: input.executionArn } } }],
        task,
      );
    }
    throw new TenantLocked(
      `tenant ${task.tenantId} is locked by task ${lock.holder?.ownerTaskId ?? '?'} of plan ${lock.holder?.ownerPlanId ?? '?'}`,
    );
  }
  if (input.purpose === 'ROLLBACK') {
    const set = { fencingToken: lock.lock.fencingToken, executionArn: input.executionArn };
    await deps.store.patchTask(task.taskId, set);
    return { ...task, ...set };
  }
  const now = deps.now().toISOString();
  const start = {
    executionArn: input.executionArn,
    fencingToken: lock.lock.fencingToken,
    lastHeartbeatAt: now,
    ...(task.startedAt ? {} : { startedAt: now }),
  };
  // The first stage boundary, decided on the task as the start leaves it (the lease was just taken):
  // when it runs a stage, that stage starts in the same transaction.
  const boundary = decideBoundary({
    task: { ...task, ...start, status: 'RUNNING' },
    executionArn: input.executionArn,
    leaseRenewed: true,
  });
  try {
    const started = await deps.store.transitionTaskSteps(
      task.taskId,
      [
        ...first,
        { operation: 'start', change: { set: start } },
        ...(boundary.do === 'run' &&
        (task.currentStage !== boundary.stage || task.stageStartedBy !== input.executionArn)
          ? [stageStarted(deps, boundary.stage, input.executionArn)]
          : []),
      ],
      task,
    );
    return started.item;
  } catch (error) {
    // The task moved on since it was read (an operator cancelled it, say): its end released no lock
    // then, so the lock just taken for it must not outlive it.
    await deps.store.releaseLock(task.tenantId, task.taskId, lock.lock.fencingToken);
    throw error;
  }
}

/** The checkpoint a stage starts with: which stage, by which execution, since when. */
function stageStarted(deps: Deps, stage: string, executionArn: string): TaskStep {
  return {
    operation: 'stageStarted',
    change: {
      set: { currentStage: stage, stageStartedBy: executionArn, stageStartedAt: deps.now().toISOString() },
      currentStage: stage,
    },
  };
}

/**
 * A stage's plan settings never change once the plan exists, so each process keeps the last plans'
 * settings: the task's later stages (and its neighbours in the same plan) skip the plan read. The
 * boundary checks (pause, cancel, lease) read the task, never these.
 */
const STAGE_PLANS_KEPT = 64;
const stagePlans = new Map<string, StagePlan>();

function rememberStagePlan(plan: StagePlan): StagePlan {
  const { planId, healthCheck, broadcastPath, provisionTimeoutSeconds } = plan;
  const settings = { planId, healthCheck, broadcastPath, provisionTimeoutSeconds };
  stagePlans.delete(planId);
  stagePlans.set(planId, settings);
  if (stagePlans.size > STAGE_PLANS_KEPT) stagePlans.delete(stagePlans.keys().next().value as string);
  return settings;
}

async function stagePlan(deps: Deps, planId: string): Promise<StagePlan> {
  const kept = stagePlans.get(planId);
  if (kept) return kept;
  return rememberStagePlan(await deps.store.requirePlan(planId));
}

export type StageAction = 'NEXT' | 'PROVISION' | 'PAUSE' | 'CANCELLED' | 'DONE' | 'COMPLETED' | 'SKIP';

export interface StageReply {
  action: StageAction;
  launch: unknown;
  /** The stage this state execution ran, or stopped before; null when none is left. */
  stage: string | null;
}

/**
 * The task machine's "Run stage": the task's next stage behind its stage
 * boundary (pause, cancel, lock check), one stage per state execution, so the
 * execution history shows which stage a tenant is in (its name is in the
 * output). An execution's first "Run stage" takes the tenant lock before its
 * stage: a state of its own would cost every tenant one more billed transition
 * and show an operator nothing that the first stage's retries (TenantLocked,
 * RecoveryBackoff) do not.
 */
export async function runStage(deps: Deps, input: StepInput<'runStage'>): Promise<StageReply> {
  let task: Task;
  let plan: Plan | undefined;
  let leaseRenewed: boolean | undefined;
  if (input.state.step) task = await deps.store.requireTask(taskIdFor(input.planId, input.index));
  else {
    const { planId, index, executionArn } = input;
    const lock = await lockStep(deps, { planId, index, executionArn });
    if (lock.action === 'SKIP') return { action: 'SKIP', launch: null, stage: null };
    ({ task, plan } = lock);
    if (lock.leaseTaken) leaseRenewed = true;
  }
  const engine = input.state.engine;
  let stage = remainingStages(task.stages, task.completedStages)[0];
  const reply = (action: StageAction, launch: unknown = null): StageReply => ({
    action,
    launch,
    stage: stage ?? null,
  });
  const facts: BoundaryFacts = { task, executionArn: input.executionArn, leaseRenewed };
  for (;;) {
    const boundary = decideBoundary(facts);
    if (boundary.do === 'run') {
      stage = boundary.stage;
      break;
    }
    switch (boundary.do) {
      case 'skip':
        return reply('SKIP');
      case 'cancelled':
        return reply('CANCELLED');
      case 'park':
        return reply('PAUSE');
      case 'done':
        return reply('DONE');
      case 'resume':
        task = (await deps.store.transitionTask(task.taskId, 'resume', {}, task)).item;
        facts.task = task;
        continue;
      case 'cancel':
        await endTask(deps, task.taskId, 'cancel', {}, task);
        return reply('CANCELLED');
      case 'pause':
        await deps.store.transitionTask(task.taskId, 'pause', {}, task);
        return reply('PAUSE');
      case 'renew-lease':
        // The lease may have lapsed (supervisor down) and another task taken the tenant: never start a stage then.
        facts.leaseRenewed = await deps.store.renewLock(
          task.tenantId,
          task.taskId,
          task.fencingToken!,
          leaseMs(deps),
        );
        continue;
      case 'lost-lease':
        await deps.store.patchTask(task.taskId, { failureInfo: boundary.failureInfo });
        throw new StageFailed(boundary.failureInfo);
    }
  }

  appendLogKeys({ tenantId: task.tenantId, stage });
  const settings = plan ? rememberStagePlan(plan) : await stagePlan(deps, task.planId);
  if (task.currentStage !== stage || task.stageStartedBy !== input.executionArn) {
    task = (
      await deps.store.transitionTaskSteps(task.taskId, [stageStarted(deps, stage, input.executionArn)], task)
    ).item;
  }

  const engineSpec = engineFor(stage);
  if (engineSpec) {
    if (!engine || !(await isOwnHandOff(deps, task, stage, engine))) {
      return reply('PROVISION', await engineLaunch(deps, task, settings, engineSpec));
    }
    await recordHandOff(deps, task, engine);
  }

  const outcome = await applyStage(deps, task, settings, stage);
  if (!outcome.ok) {
    const failureInfo: FailureInfo = outcome.failureInfo;
    await deps.store.transitionTask(
      task.taskId,
      'stageFailed',
      {
        set: { failureInfo },
        currentStage: stage,
        failureInfo,
        detail: outcome.health
          ? { rounds: outcome.health.rounds, answers: outcome.health.answers }
          : undefined,
      },
      task,
    );
    throw new StageFailed(failureInfo);
  }
  const completedStages = [...task.completedStages, stage];
  const succeeded: TaskStep = {
    operation: 'stageSucceeded',
    change: {
      set: { completedStages },
      currentStage: stage,
      detail: { rounds: outcome.health.rounds, answers: outcome.health.answers },
    },
  };
  if (remainingStages(task.stages, completedStages).length) {
    await deps.store.transitionTaskSteps(task.taskId, [succeeded], task);
    return reply('NEXT');
  }
  // The last stage: the task completes in the same transaction, without a state of its own.
  await finishTask(deps, task, [succeeded]);
  return reply('COMPLETED');
}

/**
 * Stores the pause token on the task. When resume already happened (the flag is
 * gone), nobody would send the token back, so this sends it itself.
 */
export async function parkTask(deps: Deps, input: StepInput<'parkTask'>): Promise<void> {
  const parked = await deps.store.parkPauseToken(taskIdFor(input.planId, input.index), input.token);
  if (!parked)
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: input.token, output: '{"resumed":true}' }));
}

export async function completeTask(
  deps: Deps,
  input: StepInput<'completeTask'>,
): Promise<{ status: string }> {
  const task = await deps.store.requireTask(taskIdFor(input.planId, input.index));
  if (task.status === 'COMPLETED') return { status: task.status };
  await finishTask(deps, task);
  return { status: 'COMPLETED' };
}

/**
 * Records the known-good configs, schedules the replaced engines' drain and ends the task COMPLETED
 * with its lock released; `first` are transitions made in the same transaction (the last stage's success).
 */
async function finishTask(deps: Deps, task: Task, first: readonly TaskStep[] = []) {
  await deps.store.putGoodConfigs(task.tenantId, task.stages, task.config, task.taskId);
  // Only a task that started engines replaces any.
  if (hasEngineStages(task)) await scheduleDrainOfReplacedEngines(deps, task);
  await endTask(
    deps,
    task.taskId,
    'complete',
    // A pause or cancel requested during the last stage found no boundary left to act on.
    { set: { paused: false, cancelled: false }, remove: ['failureInfo'] },
    task,
    first,
  );
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

export async function failTask(deps: Deps, input: StepInput<'failTask'>): Promise<{ status: string }> {
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
  await endTask(deps, task.taskId, 'fail', { set: { failureInfo }, failureInfo });
  return { status: 'FAILED' };
}
