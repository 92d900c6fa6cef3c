/**
 * The rollback machine's steps: walk the stages this task changed in reverse,
 * re-send the previous good config, and declare success only after a health
 * check confirms the previous version.
 */
import { engineFor } from '../../../engines/catalog.ts';
import type { Deps } from '../deps.ts';
import { taskIdFor } from '../keys.ts';
import type { FailureInfo, Task } from '../model.ts';
import type { TenantDeployConfig } from '../schemas.ts';
import { endpointsForStage } from '../stages.ts';
import type { StepInput } from '../steps.ts';
import { endTask } from './end-task.ts';
import { failureFromStateError, StageFailed } from './errors.ts';
import { stopEngines, switchAndConfirm } from './stage.ts';

/** Stages this task changed, last first: its completed stages and the stage it was in when it stopped. */
export function stagesToRollBack(
  task: Pick<Task, 'stages' | 'completedStages' | 'currentStage' | 'rolledBackStages'>,
) {
  const changed = task.stages.filter((s) => task.completedStages.includes(s) || s === task.currentStage);
  const done = new Set(task.rolledBackStages ?? []);
  return changed.reverse().filter((s) => !done.has(s));
}

/** Who a rollback's config switch is recorded as: the task's rollback, apart from the task itself. */
const rollbackOwner = (taskId: string) => `${taskId}#rollback`;

/** The config to return to: the request's source config, else the snapshot taken when this task switched the stage. */
async function previousConfig(
  deps: Deps,
  task: Task,
  stage: string,
): Promise<TenantDeployConfig | undefined> {
  if (task.config.sourceTenantDeployConfig) return task.config.sourceTenantDeployConfig;
  const current = await deps.store.getCurrentConfig(task.tenantId, stage);
  if (current?.taskId === task.taskId) return current.previous;
  // An earlier rollback of this task switched the stage back already, and its execution was lost
  // (or its health check failed) before the stage was confirmed: return to the same config.
  if (current?.taskId === rollbackOwner(task.taskId)) return current.config;
  const good = await deps.store.getGoodConfig(task.tenantId, stage);
  return good && good.taskId !== task.taskId ? good.config : undefined;
}

async function failStage(deps: Deps, task: Task, failureInfo: FailureInfo): Promise<never> {
  await deps.store.transitionTask(task.taskId, 'stageRollbackFailed', {
    set: { failureInfo },
    currentStage: failureInfo.stage,
    failureInfo,
  });
  throw new StageFailed(failureInfo);
}

export async function rollbackStage(
  deps: Deps,
  input: StepInput<'rollbackStage'>,
): Promise<{ action: 'NEXT' | 'DONE' }> {
  const task = await deps.store.requireTask(input.taskId);
  if (task.status !== 'ROLLING_BACK') return { action: 'DONE' };
  const stage = stagesToRollBack(task)[0];
  if (!stage) return { action: 'DONE' };
  const plan = await deps.store.requirePlan(task.planId);

  await deps.store.transitionTask(task.taskId, 'stageRollingBack', { currentStage: stage });
  await stopEngines(
    deps,
    task,
    ['provisioning', 'ready'],
    'rolled back',
    'stopped',
    (e) => e.service === stage,
  );
  const others = (await deps.store.listEngines(task.tenantId)).filter(
    (e) => e.service === stage && e.taskId !== task.taskId && (e.state === 'ready' || e.state === 'draining'),
  );
  const previous = await previousConfig(deps, task, stage);
  const endpoints = previous?.networkEndpoints.length
    ? previous.networkEndpoints
    : task.config.networkEndpoints;
  const rolledBackStages = [...(task.rolledBackStages ?? []), stage];
  const next = { action: stagesToRollBack({ ...task, rolledBackStages }).length ? 'NEXT' : 'DONE' } as const;

  if (engineFor(stage) && !others.length && !endpointsForStage(endpoints, stage, task.stages).length) {
    // Only the engine this task started ever served the service: stopping it is the rollback.
    await deps.store.transitionTask(task.taskId, 'stageRolledBack', {
      set: { rolledBackStages },
      currentStage: stage,
      detail: { engineStopped: true },
    });
    return next;
  }
  if (!previous) {
    return failStage(deps, task, {
      type: 'ROLLBACK',
      stage,
      message: `no previous good config is known for ${task.tenantId}/${stage} (send sourceTenantDeployConfig)`,
    });
  }
  for (const engine of others.filter((e) => e.state === 'draining')) {
    await deps.store.updateEngine(engine, 'ready', {}, ['draining']);
  }
  await deps.store.switchCurrentConfig(task.tenantId, stage, previous, rollbackOwner(task.taskId));
  const outcome = await switchAndConfirm(
    deps,
    task,
    plan,
    stage,
    { ...previous, networkEndpoints: endpoints },
    others.map((e) => ({ ...e, state: 'ready' as const })),
  );
  if (!outcome.ok) return failStage(deps, task, { ...outcome.failureInfo, type: 'ROLLBACK' });

  await deps.store.putGoodConfigs(task.tenantId, [stage], previous, rollbackOwner(task.taskId));
  await deps.store.transitionTask(task.taskId, 'stageRolledBack', {
    set: { rolledBackStages },
    currentStage: stage,
    detail: { version: String(previous.deployUnitVersion), rounds: outcome.health.rounds },
  });
  return next;
}

export async function finishRollback(
  deps: Deps,
  input: StepInput<'finishRollback'>,
): Promise<{ status: string }> {
  const task = await deps.store.requireTask(taskIdFor(input.planId, input.index));
  if (task.status !== 'ROLLING_BACK') return { status: task.status };
  if (input.error) {
    const failureInfo =
      input.error.Error === 'StageFailed' && task.failureInfo
        ? task.failureInfo
        : failureFromStateError(input.error);
    return {
      status: (
        await endTask(deps, task.taskId, 'rollbackFailed', { set: { failureInfo }, failureInfo }, task)
      ).status,
    };
  }
  return {
    status: (await endTask(deps, task.taskId, 'rolledBack', { remove: ['failureInfo'] }, task)).status,
  };
}
