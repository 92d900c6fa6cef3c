/** The steps of one stage: provision (engine launch + hand-off), config-update, broadcast, health-check. */
import { ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { decodeTime } from 'ulid';
import { type EngineSpec, engineFor } from '../../../engines/catalog.ts';
import type { Deps } from '../deps.ts';
import { broadcast, checkHealth, describeFailure, type HealthResult, type HealthTarget } from '../health.ts';
import { type EngineRecord, EVENT_SOURCE, type FailureInfo, type Plan, type Task } from '../model.ts';
import { emit, logger } from '../observability.ts';
import type { TenantDeployConfig } from '../schemas.ts';
import { broadcastUrl, endpointLabel, endpointsForStage, healthUrl } from '../stages.ts';
import type { EngineHandOff, StateError } from '../steps.ts';
import { ENGINE_EXITED, EngineExited } from './engines.ts';

export const CONFIG_CHANGED_DETAIL_TYPE = 'TenantConfigChanged';

type StageOutcome =
  | { ok: true; health: HealthResult }
  | { ok: false; failureInfo: FailureInfo; health?: HealthResult };

/** What a stage reads of its plan: settings fixed when the plan was created. */
export type StagePlan = Pick<Plan, 'planId' | 'healthCheck' | 'broadcastPath' | 'provisionTimeoutSeconds'>;

interface StageTargets {
  broadcast: HealthTarget[];
  health: HealthTarget[];
}

/** The DTO's endpoints for the stage plus the engines this task started for it. */
function targetsFor(
  task: Task,
  plan: StagePlan,
  stage: string,
  config: TenantDeployConfig,
  engines: readonly EngineRecord[],
): StageTargets {
  const endpoints = endpointsForStage(config.networkEndpoints, stage, task.stages);
  const ready = engines.filter((e) => e.service === stage && e.state === 'ready' && e.endpoint);
  return {
    broadcast: [
      ...endpoints.map((e) => ({ label: endpointLabel(e), url: broadcastUrl(e, plan.broadcastPath) })),
      ...ready.map((e) => ({ label: `engine ${e.engineId}`, url: `${e.endpoint}${plan.broadcastPath}` })),
    ],
    health: [
      ...endpoints.map((e) => ({ label: endpointLabel(e), url: healthUrl(e, plan.healthCheck.path) })),
      ...ready.map((e) => ({ label: `engine ${e.engineId}`, url: `${e.endpoint}${plan.healthCheck.path}` })),
    ],
  };
}

/**
 * Sends `config` for `stage` and waits until every endpoint reports its version.
 * Used forward (the task's config) and backward (rollback to the previous config).
 */
export async function switchAndConfirm(
  deps: Deps,
  task: Task,
  plan: StagePlan,
  stage: string,
  config: TenantDeployConfig,
  engines: readonly EngineRecord[],
): Promise<StageOutcome> {
  const version = String(config.deployUnitVersion);
  const targets = targetsFor(task, plan, stage, config, engines);
  if (!targets.health.length) {
    return {
      ok: false,
      failureInfo: {
        type: 'HEALTH_CHECK',
        stage,
        message: `stage ${stage} has no endpoint that could confirm version ${version}`,
      },
    };
  }
  const failures = await broadcast(
    targets.broadcast,
    { tenantId: task.tenantId, service: stage, version, config, planId: task.planId },
    plan.healthCheck.timeoutSeconds,
    deps,
  );
  if (failures.length) {
    return {
      ok: false,
      failureInfo: {
        type: 'BROADCAST',
        stage,
        message: `broadcast of version ${version} refused: ${failures.map((f) => `${f.endpoint} ${f.error}`).join('; ')}`,
      },
    };
  }
  if (deps.resources.eventBusName) {
    await deps.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: deps.resources.eventBusName,
            Source: EVENT_SOURCE,
            DetailType: CONFIG_CHANGED_DETAIL_TYPE,
            Detail: JSON.stringify({
              tenantId: task.tenantId,
              service: stage,
              version,
              planId: task.planId,
              taskId: task.taskId,
            }),
          },
        ],
      }),
    );
  }
  const health = await checkHealth(targets.health, version, plan.healthCheck, deps);
  if (!health.passed) {
    return {
      ok: false,
      failureInfo: { type: 'HEALTH_CHECK', stage, message: describeFailure(health) },
      health,
    };
  }
  return { ok: true, health };
}

/** config-update, broadcast and health-check of one stage, forward. */
export async function applyStage(
  deps: Deps,
  task: Task,
  plan: StagePlan,
  stage: string,
): Promise<StageOutcome> {
  await deps.store.switchCurrentConfig(task.tenantId, stage, task.config, task.taskId);
  // Only catalog services have engines; skip the registry read for the others.
  const engines = engineFor(stage)
    ? (await deps.store.listEngines(task.tenantId)).filter((e) => e.taskId === task.taskId)
    : [];
  return switchAndConfirm(deps, task, plan, stage, task.config, engines);
}

/** Every endpoint a completed task's stages answer on (the DTO's and its ready engines'), for a bake's polls. */
export async function bakeTargets(deps: Deps, task: Task, plan: Plan): Promise<HealthTarget[]> {
  const engines = hasEngineStages(task)
    ? (await deps.store.listEngines(task.tenantId)).filter((e) => e.taskId === task.taskId)
    : [];
  const targets = task.stages.flatMap((stage) => targetsFor(task, plan, stage, task.config, engines).health);
  // An endpoint with no key belongs to every stage: polled once.
  return [...new Map(targets.map((t) => [t.url, t])).values()];
}

/** Whether any of the task's stages gets an engine (only then can it have started one). */
export const hasEngineStages = (task: Pick<Task, 'stages'>) => task.stages.some((stage) => engineFor(stage));

/**
 * Records the new engine as provisioning and returns what the RunTask state needs. An engine
 * this task started for the same service in an earlier attempt (its execution was lost, or it is
 * retried from the start) is stopped first: the stage runs again with the new one.
 */
export async function engineLaunch(deps: Deps, task: Task, plan: StagePlan, spec: EngineSpec) {
  await stopEngines(
    deps,
    task,
    ['provisioning', 'ready'],
    'replaced by a new attempt of the same rollout task',
    'stopped',
    (engine) => engine.service === spec.service,
  );
  const now = deps.now().toISOString();
  const engineId = deps.store.ctx.newId().toLowerCase();
  const version = String(task.config.deployUnitVersion);
  await deps.store.putEngine({
    tenantId: task.tenantId,
    service: spec.service,
    engineId,
    state: 'provisioning',
    version,
    taskId: task.taskId,
    createdAt: now,
    updatedAt: now,
  });
  return {
    containerName: spec.containerName,
    tenantId: task.tenantId,
    service: spec.service,
    engineId,
    version,
    // startedBy names the engine, so exactly this engine's ECS task can be found and stopped later.
    startedBy: engineId,
    timeoutSeconds: plan.provisionTimeoutSeconds,
    networkConfiguration: {
      AwsvpcConfiguration: {
        Subnets: deps.settings.engineSubnets,
        SecurityGroups: deps.settings.engineSecurityGroups,
        AssignPublicIp: 'DISABLED',
      },
    },
  };
}

/** The hand-off: the engine listens and is healthy, so the registry marks it ready. */
export async function recordHandOff(deps: Deps, task: Task, handOff: EngineHandOff): Promise<void> {
  const service = handOff.service ?? task.currentStage ?? '';
  const recorded = await deps.store.updateEngine(
    { tenantId: task.tenantId, service, engineId: handOff.engineId },
    'ready',
    { endpoint: handOff.endpoint, ...(handOff.taskArn ? { taskArn: handOff.taskArn } : {}) },
    ['provisioning', 'ready'],
  );
  // ECS saw it stop between its call-back and now (engine-stopped marked it failed): nothing serves there.
  if (!recorded) {
    throw new EngineExited(`engine ${handOff.engineId} for ${service} exited right after its hand-off`);
  }
  const provisionMs = deps.now().getTime() - launchTime(handOff.engineId);
  logger.info({
    message: 'engine handed off',
    engineId: handOff.engineId,
    endpoint: handOff.endpoint,
    provisionMs,
  });
  if (provisionMs >= 0)
    emit([{ metric: 'engineProvisionTime', value: provisionMs }], {
      planId: task.planId,
      taskId: task.taskId,
    });
}

/** Engine ids are ULIDs minted at launch (engineLaunch), so an id tells when its provisioning began. */
function launchTime(engineId: string): number {
  try {
    return decodeTime(engineId.toUpperCase());
  } catch {
    // Not an id engineLaunch minted: there is no launch time to measure from.
    return Number.POSITIVE_INFINITY;
  }
}

/** True when `handOff` is the engine this task started for `stage`. */
export async function isOwnHandOff(
  deps: Deps,
  task: Task,
  stage: string,
  handOff: EngineHandOff | null | undefined,
) {
  if (!handOff || handOff.service !== stage) return false;
  const engines = await deps.store.listEngines(task.tenantId);
  return engines.some(
    (e) => e.engineId === handOff.engineId && e.taskId === task.taskId && e.service === stage,
  );
}

/** Stops the ECS tasks of this rollout task's engines that are in `states` (and pass `which`), and marks them. */
export async function stopEngines(
  deps: Deps,
  task: Task,
  states: readonly EngineRecord['state'][],
  reason: string,
  finalState: EngineRecord['state'],
  which: (engine: EngineRecord) => boolean = () => true,
): Promise<EngineRecord[]> {
  const engines = (await deps.store.listEngines(task.tenantId)).filter(
    (e) => e.taskId === task.taskId && states.includes(e.state) && which(e),
  );
  if (!engines.length) return [];
  const cluster = deps.resources.clusterArn;
  for (const engine of engines) {
    const running = await deps.ecs.send(new ListTasksCommand({ cluster, startedBy: engine.engineId }));
    for (const taskArn of running.taskArns ?? []) {
      await deps.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason }));
    }
  }
  for (const engine of engines) await deps.store.updateEngine(engine, finalState, {}, states);
  return engines;
}

/** An engine that never handed off is stopped; the stage failure names the engine and why. */
export async function stopProvisioningEngines(
  deps: Deps,
  task: Task,
  error: StateError | undefined,
): Promise<FailureInfo | undefined> {
  const stopped = await stopEngines(
    deps,
    task,
    ['provisioning'],
    'rollout task failed before hand-off',
    'failed',
  );
  const engine = stopped[0];
  if (error?.Error === ENGINE_EXITED) {
    // engine-stopped may have marked it failed already; its cause carries the exit code.
    const stage = engine?.service ?? task.currentStage;
    return {
      type: 'PROVISION',
      ...(stage ? { stage } : {}),
      message: causeText(error.Cause) ?? 'engine exited before hand-off',
    };
  }
  if (!engine) return undefined;
  let why = `failed before hand-off (${error?.Error ?? 'error'}: ${causeText(error?.Cause) ?? 'no cause'})`;
  if (error?.Error === 'States.Timeout') {
    const plan = await deps.store.getPlan(task.planId);
    why = `did not hand off within ${plan?.provisionTimeoutSeconds ?? '?'} s (States.Timeout)`;
  }
  return {
    type: 'PROVISION',
    stage: engine.service,
    message: `engine ${engine.engineId} for ${engine.service} ${why}; it was stopped`,
  };
}

/** A Catch's Cause is plain text (SendTaskFailure) or a Lambda error payload. */
function causeText(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}
