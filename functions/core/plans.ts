/** Turning a validated plan request into the plan and task records (pure). */
import { createHash } from 'node:crypto';
import { taskIdFor } from './keys.ts';
import type { Plan, Task } from './model.ts';
import type { PlanRequest } from './schemas.ts';
import { type DeploymentSettings, resolvePlanSettings } from './settings.ts';
import { planStages } from './stages.ts';
import { assignWaves, type PlanStrategy, resolveWaves } from './waves.ts';

export interface BuiltPlan {
  plan: Plan;
  tasks: Task[];
  /** With a strategy: its STRATEGY item and each wave's tenant positions. */
  strategy?: { state: PlanStrategy; indexes: number[][] };
}

export function buildPlan(
  request: PlanRequest,
  deployment: DeploymentSettings,
  ids: { planId: string; now: Date; idempotencyKey?: string },
): BuiltPlan {
  const settings = resolvePlanSettings(request, deployment, ids.now);
  const createdAt = ids.now.toISOString();
  const indexes = request.strategy
    ? assignWaves(
        request.configs.map((c) => c.tenantId),
        request.strategy,
      ).waves
    : undefined;
  // The schema checked the assignment; a request that skipped it must not be built half-assigned.
  if (request.strategy && !indexes) throw new Error('buildPlan: the strategy does not assign every tenant');
  const waveOf = new Map<number, number>();
  indexes?.forEach((positions, wave) => {
    for (const index of positions) waveOf.set(index, wave);
  });
  const tasks: Task[] = request.configs.map((config, index) => ({
    taskId: taskIdFor(ids.planId, index),
    planId: ids.planId,
    tenantId: config.tenantId,
    index,
    ...(waveOf.has(index) ? { wave: waveOf.get(index)! } : {}),
    status: 'CREATED',
    config,
    stages: planStages(config, deployment.defaultServiceNames),
    completedStages: [],
    paused: false,
    cancelled: false,
    retryCount: 0,
    seq: 1,
    createdAt,
    updatedAt: createdAt,
  }));
  const plan: Plan = {
    planId: ids.planId,
    name: settings.name,
    status: 'CREATED',
    maxConcurrency: settings.maxConcurrency,
    ...(settings.failureThreshold ? { failureThreshold: settings.failureThreshold } : {}),
    healthCheck: settings.healthCheck,
    broadcastPath: settings.broadcastPath,
    provisionTimeoutSeconds: settings.provisionTimeoutSeconds,
    ...(ids.idempotencyKey ? { idempotencyKey: ids.idempotencyKey } : {}),
    totalTasks: tasks.length,
    totalStages: tasks.reduce((sum, task) => sum + task.stages.length, 0),
    ...(indexes ? { waveCount: indexes.length, currentWave: 0 } : {}),
    seq: 0,
    attempt: 0,
    createdAt,
    updatedAt: createdAt,
  };
  if (!request.strategy || !indexes) return { plan, tasks };
  return {
    plan,
    tasks,
    strategy: {
      state: {
        onFailure: request.strategy.onFailure ?? 'HALT',
        alarms: request.strategy.alarms ?? [],
        waves: resolveWaves(request.strategy, indexes, settings.maxConcurrency),
      },
      indexes,
    },
  };
}

/** A stable digest of a request, so a reused Idempotency-Key with a different body is recognised. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
