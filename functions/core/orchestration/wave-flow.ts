/**
 * The waves machine's steps (statemachines/waves.asl.json; DESIGN.md "Waves"): each wave is
 * opened (approval gate), rolled out by the Map over its tenants, judged against its failure
 * threshold, baked while its endpoints are polled, and a failed wave halts the plan.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { planCounters } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { Conflict, IllegalTransition, NotFound } from '../errors.ts';
import { checkHealth } from '../health.ts';
import type { FailureInfo, Plan } from '../model.ts';
import { thresholdExceeded } from '../settings.ts';
import type { StepInput } from '../steps.ts';
import type { PlanStrategy, WaveState } from '../waves.ts';
import { endTask } from './end-task.ts';
import { operatePlan, type TaskOperationResult } from './operations.ts';
import { bakeTargets } from './stage.ts';

type WaveStep<A extends StepInput<'wave'>['action']> = Extract<StepInput<'wave'>, { action: A }>;

/** What the machine does next: its Choice states route on `next`. */
export type WaveNext =
  | { next: 'APPROVAL' | 'BAKE' | 'HALT' | 'FINISH'; planId: string; wave: number }
  | { next: 'RUN'; planId: string; wave: number; attempt: number; maxConcurrency: number; indexes: number[] }
  | { next: 'OPEN'; planId: string; wave: number };

/** One bake invocation polls for at most this long, then the machine calls it again (a Lambda runs 15 minutes at most). */
const BAKE_SLICE_MS = 60_000;

const live = (plan: Plan) => plan.status === 'RUNNING' || plan.status === 'PAUSED';
const waveRef = (wave: WaveState) => ({ wave: { name: wave.name, index: wave.index } });

async function load(deps: Deps, planId: string, index: number) {
  const plan = await deps.store.requirePlan(planId);
  const strategy = await deps.store.getStrategy(planId);
  if (!strategy) throw new NotFound('strategy of plan', planId);
  return { plan, strategy, wave: strategy.waves[index] };
}

/** Opens a wave: waits for approval when it asks for one, else starts it and hands the Map its tenants. */
export async function openWave(deps: Deps, input: WaveStep<'open'>): Promise<WaveNext> {
  const { planId } = input;
  const { plan, strategy } = await load(deps, planId, input.wave);
  let index = input.wave;
  // A restarted plan execution opens the wave it was at; waves already completed are passed.
  while (strategy.waves[index]?.status === 'COMPLETED') index++;
  const wave = strategy.waves[index];
  if (!wave || !live(plan)) return { next: 'FINISH', planId, wave: index };
  if (wave.status === 'FAILED') return { next: 'HALT', planId, wave: index };
  if (wave.status === 'BAKING') return { next: 'BAKE', planId, wave: index };
  if (wave.approval && !wave.approvedAt) {
    if (wave.status !== 'AWAITING_APPROVAL') {
      await deps.store.transitionPlan(planId, 'waveAwaitingApproval', {
        set: { currentWave: index },
        wave: { index, set: { status: 'AWAITING_APPROVAL' } },
        detail: waveRef(wave),
      });
    }
    return { next: 'APPROVAL', planId, wave: index };
  }
  if (wave.status !== 'RUNNING') {
    const alarm = await alarmFiring(deps, strategy, wave, 'before it started');
    if (alarm) return failWave(deps, plan, wave, alarm);
    await deps.store.transitionPlan(planId, 'waveStarted', {
      set: { currentWave: index },
      wave: { index, set: { status: 'RUNNING', startedAt: deps.now().toISOString() } },
      detail: { ...waveRef(wave), tenantCount: wave.tenantCount },
    });
  }
  return {
    next: 'RUN',
    planId,
    wave: index,
    attempt: plan.attempt,
    maxConcurrency: wave.maxConcurrency,
    indexes: await deps.store.waveIndexes(planId, index),
  };
}

/** The approval gate parks its token; an approval (or a cancel) that came first lets it go on at once. */
export async function parkApproval(deps: Deps, input: WaveStep<'park'>): Promise<void> {
  const parked = await deps.store.parkApproval(input.planId, input.wave, input.token);
  const plan = await deps.store.requirePlan(input.planId);
  if (!parked || !live(plan))
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: input.token, output: '{}' }));
}

/** POST /v1/plans/{planId}/approve: lets the wave that waits for approval start (409 when none waits). */
export async function approvePlan(deps: Deps, planId: string): Promise<TaskOperationResult> {
  const plan = await deps.store.requirePlan(planId);
  const strategy = plan.waveCount ? await deps.store.getStrategy(planId) : undefined;
  const wave = strategy?.waves[plan.currentWave ?? 0];
  if (wave?.status !== 'AWAITING_APPROVAL' || wave.approvedAt) {
    throw new Conflict(
      wave
        ? `plan ${planId} has no wave waiting for approval (wave ${wave.name} is ${wave.status}${wave.approvedAt ? ', approved' : ''})`
        : `plan ${planId} has no wave waiting for approval (it has no strategy)`,
      { currentStatus: plan.status },
    );
  }
  const approved = await deps.store.transitionPlan(planId, 'waveApproved', {
    wave: { index: wave.index, set: { approvedAt: deps.now().toISOString() }, remove: ['approvalToken'] },
    detail: waveRef(wave),
  });
  // A gate that has not parked its token yet sees approvedAt and goes on by itself.
  if (wave.approvalToken) await release(deps, wave.approvalToken);
  return {
    targetType: 'PLAN',
    targetId: planId,
    success: true,
    finalStatus: approved.item.status,
    message: `wave ${wave.name} approved: ${wave.tenantCount} tenant(s) start`,
  };
}

/** Sends a parked approval token back; one whose gate is over already is nothing to release. */
async function release(deps: Deps, token: string) {
  try {
    await deps.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
  } catch (error) {
    if (!['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'].includes((error as Error).name)) throw error;
  }
}

/** A cancelled plan's approval gate goes on (and then finds the plan over). */
export async function releaseApprovalGate(deps: Deps, planId: string): Promise<void> {
  const strategy = await deps.store.getStrategy(planId);
  for (const wave of strategy?.waves ?? []) if (wave.approvalToken) await release(deps, wave.approvalToken);
}

/** After the Map: the wave fails past its threshold, else bakes, else completes. */
export async function judgeWave(deps: Deps, input: WaveStep<'judge'>): Promise<WaveNext> {
  const { planId } = input;
  const { plan, strategy, wave } = await load(deps, planId, input.wave);
  if (!wave || !live(plan)) return { next: 'FINISH', planId, wave: input.wave };
  const alarm = await alarmFiring(deps, strategy, wave, 'while it ran');
  if (alarm) return failWave(deps, plan, wave, alarm);
  const counts = (await deps.store.waveCounts(plan))[wave.index] ?? {};
  const failed = planCounters(counts).failedTasks;
  if (failed > 0 && thresholdExceeded(wave.failureThreshold, failed, wave.tenantCount)) {
    return failWave(deps, plan, wave, {
      type: 'WAVE_FAILED',
      wave: wave.name,
      message: `${failed} of ${wave.tenantCount} task(s) of wave ${wave.name} failed, over its failure threshold`,
    });
  }
  if (wave.bakeSeconds > 0) {
    await deps.store.transitionPlan(planId, 'waveBaking', {
      wave: {
        index: wave.index,
        set: { status: 'BAKING', bakeUntil: deps.now().getTime() + wave.bakeSeconds * 1000 },
      },
      detail: { ...waveRef(wave), bakeSeconds: wave.bakeSeconds },
    });
    return { next: 'BAKE', planId, wave: wave.index };
  }
  return completeWave(deps, plan, strategy, wave);
}

/**
 * Polls every endpoint of the wave's completed tasks once per health-check interval until the
 * bake ends (or this invocation's slice does); one that no longer answers healthy with the new
 * version fails the wave.
 */
export async function bakeWave(deps: Deps, input: WaveStep<'bake'>): Promise<WaveNext> {
  const { planId } = input;
  const { plan, strategy, wave } = await load(deps, planId, input.wave);
  if (!wave || !live(plan)) return { next: 'FINISH', planId, wave: input.wave };
  const until = wave.bakeUntil ?? deps.now().getTime();
  const sliceEnd = deps.now().getTime() + BAKE_SLICE_MS;
  const indexes = await deps.store.waveIndexes(planId, wave.index);
  const tasks = (await deps.store.tasksAt(planId, indexes)).filter((task) => task.status === 'COMPLETED');
  const targets = await Promise.all(
    tasks.map(async (task) => ({ task, targets: await bakeTargets(deps, task, plan) })),
  );
  const once = { ...plan.healthCheck, maxAttempts: 1 };
  for (;;) {
    const alarm = await alarmFiring(deps, strategy, wave, 'while it baked');
    if (alarm) return failWave(deps, plan, wave, alarm);
    for (const { task, targets: endpoints } of targets) {
      const health = await checkHealth(endpoints, String(task.config.deployUnitVersion), once, deps);
      const failing = health.answers.find((answer) => !answer.ok);
      if (failing) {
        return failWave(deps, plan, wave, {
          type: 'BAKE_REGRESSION',
          wave: wave.name,
          message: `tenant ${task.tenantId}: endpoint ${failing.endpoint} ${failing.error} while wave ${wave.name} baked`,
        });
      }
    }
    const now = deps.now().getTime();
    if (now >= until) return completeWave(deps, plan, strategy, wave);
    if (now >= sliceEnd) return { next: 'BAKE', planId, wave: wave.index };
    const current = await deps.store.requirePlan(planId);
    if (!live(current)) return { next: 'FINISH', planId, wave: wave.index };
    await deps.sleep(Math.min(plan.healthCheck.intervalSeconds * 1000, until - now));
  }
}

/**
 * The first of the plan's alarms in state ALARM, as the wave's failure. An alarm that does not
 * exist fails the wave too: a safety check that cannot run must not pass.
 */
async function alarmFiring(
  deps: Deps,
  strategy: PlanStrategy,
  wave: WaveState,
  when: string,
): Promise<FailureInfo | undefined> {
  if (!strategy.alarms.length) return undefined;
  const { MetricAlarms = [], CompositeAlarms = [] } = await deps.cloudwatch.send(
    new DescribeAlarmsCommand({ AlarmNames: strategy.alarms, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
  );
  const found = [...MetricAlarms, ...CompositeAlarms];
  const firing = found.find((alarm) => alarm.StateValue === 'ALARM');
  if (firing) {
    return {
      type: 'ALARM',
      wave: wave.name,
      message:
        `alarm ${firing.AlarmName} is in ALARM ${when} (wave ${wave.name}): ${firing.StateReason ?? ''}`.trim(),
    };
  }
  const missing = strategy.alarms.filter((name) => !found.some((alarm) => alarm.AlarmName === name));
  if (missing.length) {
    return {
      type: 'ALARM',
      wave: wave.name,
      message: `alarm(s) ${missing.join(', ')} not found ${when} (wave ${wave.name})`,
    };
  }
  return undefined;
}

async function completeWave(
  deps: Deps,
  plan: Plan,
  strategy: PlanStrategy,
  wave: WaveState,
): Promise<WaveNext> {
  await deps.store.transitionPlan(plan.planId, 'waveCompleted', {
    wave: { index: wave.index, set: { status: 'COMPLETED', endedAt: deps.now().toISOString() } },
    detail: waveRef(wave),
  });
  const next = wave.index + 1;
  return next < strategy.waves.length
    ? { next: 'OPEN', planId: plan.planId, wave: next }
    : { next: 'FINISH', planId: plan.planId, wave: wave.index };
}

async function failWave(
  deps: Deps,
  plan: Plan,
  wave: WaveState,
  failureInfo: FailureInfo,
): Promise<WaveNext> {
  await deps.store.transitionPlan(plan.planId, 'waveFailed', {
    set: { currentWave: wave.index },
    wave: { index: wave.index, set: { status: 'FAILED', endedAt: deps.now().toISOString(), failureInfo } },
    detail: waveRef(wave),
    failureInfo,
  });
  return { next: 'HALT', planId: plan.planId, wave: wave.index };
}

/**
 * A failed wave halts the plan: later waves never start (their tasks end CANCELLED, WAVE_HALTED)
 * and the plan ends FAILED with the wave's failure; with onFailure ROLLBACK it then rolls back
 * every task that changed something and ends ROLLED_BACK or ROLLBACK_FAILED.
 */
export async function haltPlan(deps: Deps, input: WaveStep<'halt'>): Promise<{ status: string }> {
  const { plan, strategy, wave } = await load(deps, input.planId, input.wave);
  if (!wave) throw new NotFound('wave of plan', `${input.planId}/${input.wave}`);
  const halted: FailureInfo = {
    type: 'WAVE_HALTED',
    wave: wave.name,
    message: `not started: wave ${wave.name} failed`,
  };
  for (const later of strategy.waves.slice(wave.index + 1)) {
    const tasks = await deps.store.tasksAt(
      plan.planId,
      await deps.store.waveIndexes(plan.planId, later.index),
    );
    for (const task of tasks) {
      if (task.status !== 'CREATED') continue;
      try {
        await endTask(
          deps,
          task.taskId,
          'cancel',
          { set: { cancelled: true, failureInfo: halted }, failureInfo: halted },
          task,
        );
      } catch (error) {
        // An operator's cancel got there first.
        if (!(error instanceof IllegalTransition)) throw error;
      }
    }
    await deps.store.setWaveStatus(plan.planId, later.index, 'SKIPPED');
  }
  const current = await deps.store.requirePlan(plan.planId);
  if (!live(current)) return { status: current.status };
  const failureInfo = wave.failureInfo ?? {
    type: 'WAVE_FAILED',
    wave: wave.name,
    message: `wave ${wave.name} failed`,
  };
  const failed = await deps.store.transitionPlan(plan.planId, 'fail', {
    set: { failureInfo, endedAt: deps.now().toISOString(), mapFinished: true },
    failureInfo,
  });
  if (strategy.onFailure !== 'ROLLBACK') return { status: failed.item.status };
  // Every task that changed something goes back to its previous good config, confirmed by health checks.
  const rolling = await operatePlan(deps, plan.planId, 'rollback');
  return { status: rolling.finalStatus };
}
