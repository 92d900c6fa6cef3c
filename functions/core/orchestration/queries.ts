/**
 * What the HTTP API needs beyond plan-flow and operations: previewing a plan (dry run),
 * finding a tenant's task, deleting a plan, and waiting for / following a plan's events.
 */
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { Deps } from '../deps.ts';
import { probeEndpoints, type UnansweredEndpoint } from '../endpoint-probe.ts';
import { IllegalTransition, NotFound } from '../errors.ts';
import { taskIdsOf } from '../keys.ts';
import { isTerminalPlan, isTerminalTask, type RolloutEvent, type Task } from '../model.ts';
import { parseOrThrow, planRequestSchema, type TenantDeployConfig } from '../schemas.ts';
import { resolvePlanSettings } from '../settings.ts';
import { planStages } from '../stages.ts';
import { assignWaves, type ConfigChange, configDiff, resolveWaves, type Wave } from '../waves.ts';
import { operatePlan } from './operations.ts';

export interface LockConflict {
  tenantId: string;
  heldByTaskId: string;
  heldByPlanId: string;
  leaseExpiresAt: string;
}

export interface PlanPreview {
  dryRun: true;
  message: string;
  settings: ReturnType<typeof resolvePlanSettings>;
  tasks: {
    index: number;
    tenantId: string;
    version: string;
    stages: string[];
    /** The wave it is in, when the plan has a strategy. */
    wave?: string;
    /** Per service (stage), what the new config changes against the tenant's current one. */
    changes: ServiceChange[];
    lockConflict?: LockConflict;
  }[];
  /** Each wave with its settings and tenants in the order they would start, when the plan has a strategy. */
  waves?: (Omit<Wave, 'status'> & { tenants: string[] })[];
  strategy?: { onFailure: 'HALT' | 'ROLLBACK'; alarms: string[] };
  lockConflicts: LockConflict[];
  /** Endpoints whose health check did not answer (2xx) when probed once, without a config. */
  unreachableEndpoints: UnansweredEndpoint[];
}

export interface ServiceChange {
  service: string;
  /** The version the tenant runs for this service now; absent when it has no config for it yet. */
  currentVersion?: string;
  changes: ConfigChange[];
}

const TENANT_READS_IN_PARALLEL = 16;

/** The tenant's lock and, per service, what the new config changes against its current one. */
async function readTenant(deps: Deps, config: TenantDeployConfig, stages: readonly string[]) {
  const [lock, ...current] = await Promise.all([
    deps.store.getLock(config.tenantId),
    ...stages.map((service) => deps.store.getCurrentConfig(config.tenantId, service)),
  ]);
  const changes = stages.map((service, i): ServiceChange => {
    const now = current[i];
    return {
      service,
      ...(now?.version === undefined ? {} : { currentVersion: now.version }),
      changes: configDiff(now?.config, config),
    };
  });
  return { lock, changes };
}

/** Validates a plan request and shows what it would do, writing nothing and starting nothing. */
export async function previewPlan(deps: Deps, body: unknown): Promise<PlanPreview> {
  const request = parseOrThrow(planRequestSchema, body);
  const settings = resolvePlanSettings(request, deps.settings, deps.now());
  const conflicts = new Map<string, LockConflict>();
  const stages = request.configs.map((config) => planStages(config, deps.settings.defaultServiceNames));
  const changes: ServiceChange[][] = [];
  for (let i = 0; i < request.configs.length; i += TENANT_READS_IN_PARALLEL) {
    const read = await Promise.all(
      request.configs
        .slice(i, i + TENANT_READS_IN_PARALLEL)
        .map((config, j) => readTenant(deps, config, stages[i + j]!)),
    );
    for (const { lock, changes: tenantChanges } of read) {
      changes.push(tenantChanges);
      if (!lock) continue;
      conflicts.set(lock.tenantId, {
        tenantId: lock.tenantId,
        heldByTaskId: lock.ownerTaskId,
        heldByPlanId: lock.ownerPlanId,
        leaseExpiresAt: new Date(lock.leaseExpiresAt).toISOString(),
      });
    }
  }
  const tenantIds = request.configs.map((c) => c.tenantId);
  // The schema has checked the assignment, so it holds waves here.
  const assignment = request.strategy ? (assignWaves(tenantIds, request.strategy).waves ?? []) : undefined;
  const waveNames = new Map<number, string>();
  assignment?.forEach((indexes, w) => {
    for (const i of indexes) waveNames.set(i, request.strategy!.waves[w]!.name);
  });
  const tasks = request.configs.map((config, index) => {
    const conflict = conflicts.get(config.tenantId);
    const wave = waveNames.get(index);
    return {
      index,
      tenantId: config.tenantId,
      version: String(config.deployUnitVersion),
      stages: stages[index]!,
      ...(wave === undefined ? {} : { wave }),
      changes: changes[index]!,
      ...(conflict ? { lockConflict: conflict } : {}),
    };
  });
  const waves =
    request.strategy && assignment
      ? resolveWaves(request.strategy, assignment, settings.maxConcurrency).map(({ status: _, ...wave }) => ({
          ...wave,
          tenants: assignment[wave.index]!.map((i) => tenantIds[i]!),
        }))
      : undefined;
  const probe = await probeEndpoints(request.configs, {
    healthPath: settings.healthCheck.path,
    timeoutSeconds: settings.healthCheck.timeoutSeconds,
    fetch: deps.fetch,
  });
  const unanswered = new Set(probe.unanswered.map((u) => u.url)).size;
  const endpoints = `${probe.probed - unanswered} of ${probe.probed + probe.skipped} endpoint(s) answer their health check${probe.skipped ? ` (${probe.skipped} not probed: time budget spent)` : ''}`;
  return {
    dryRun: true,
    message: `valid: ${tasks.length} task(s)${waves ? ` in ${waves.length} wave(s)` : ''}; ${conflicts.size} tenant(s) locked by another plan would wait; ${endpoints}`,
    settings,
    tasks,
    ...(waves && request.strategy
      ? {
          waves,
          strategy: {
            onFailure: request.strategy.onFailure ?? 'HALT',
            alarms: request.strategy.alarms ?? [],
          },
        }
      : {}),
    lockConflicts: [...conflicts.values()],
    unreachableEndpoints: probe.unanswered,
  };
}

/** The tenant's active (non-terminal) task, else its latest one. */
export async function tenantTask(deps: Deps, tenantId: string): Promise<Task> {
  const tasks = await deps.store.tasksByTenant(tenantId);
  const chosen = tasks.find((t) => !isTerminalTask(t.status)) ?? tasks[0];
  if (!chosen) throw new NotFound('task for tenant', tenantId);
  // The tenant index is eventually consistent; the task item itself is read consistently.
  return deps.store.requireTask(chosen.taskId);
}

export interface PlanDeletion {
  planId: string;
  dryRun: boolean;
  status: string;
  cancelled: boolean;
  taskIds: string[];
  items: number;
}

const CANCELLABLE_PLAN: readonly string[] = ['CREATED', 'RUNNING', 'PAUSED'];

/**
 * Deletes a plan and everything under it. A plan (or task) still in flight is refused
 * unless `force`: then the plan is cancelled, executions still running are stopped and
 * their tenant locks released before the items go.
 */
export async function removePlan(
  deps: Deps,
  planId: string,
  options: { force?: boolean; dryRun?: boolean } = {},
): Promise<PlanDeletion> {
  const plan = await deps.store.requirePlan(planId);
  const tasks = await deps.store.listTasks(planId);
  const live = !isTerminalPlan(plan.status) || tasks.some((t) => !isTerminalTask(t.status));
  if (live && !options.force) {
    throw new IllegalTransition('PLAN', planId, plan.status, 'delete', 'cancel it first, or pass force=true');
  }
  const cancels = live && CANCELLABLE_PLAN.includes(plan.status);
  const base = { planId, status: plan.status, cancelled: cancels, taskIds: taskIdsOf(plan) };
  if (options.dryRun) return { ...base, dryRun: true, items: await deps.store.countPlanItems(planId) };

  if (cancels) await operatePlan(deps, planId, 'cancel');
  if (live) {
    const stillLive = (await deps.store.listTasks(planId)).filter((t) => !isTerminalTask(t.status));
    const executions = [plan.executionArn, ...stillLive.map((t) => t.executionArn)].filter(
      (arn): arn is string => Boolean(arn),
    );
    for (const executionArn of executions) await stopExecution(deps, executionArn);
    for (const task of stillLive) await deps.store.releaseLock(task.tenantId, task.taskId);
  }
  const { deletedItems } = await deps.store.deletePlan(planId);
  return { ...base, dryRun: false, items: deletedItems };
}

async function stopExecution(deps: Deps, executionArn: string) {
  try {
    await deps.sfn.send(
      new StopExecutionCommand({ executionArn, error: 'PlanDeleted', cause: 'the plan was deleted (force)' }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
  }
}

export interface EventWait {
  /** An eventId, or a number meaning the plan's sequenceId (0: from the start). */
  after?: string;
  waitSeconds?: number;
  limit?: number;
  signal?: AbortSignal;
}

export interface EventsPage {
  events: RolloutEvent[];
  /** Pass back as `after`; null while the plan has no event at all. */
  last: string | null;
}

const POLL_MS = 250;
const isSequence = (after: string | undefined): after is string => after !== undefined && /^\d+$/.test(after);

/** Events strictly after `after`, waiting up to `waitSeconds` for the first one to exist. */
export async function waitForEvents(deps: Deps, planId: string, wait: EventWait = {}): Promise<EventsPage> {
  await deps.store.requirePlan(planId);
  const deadline = Date.now() + (wait.waitSeconds ?? 0) * 1000;
  let position: string | undefined = isSequence(wait.after) ? undefined : wait.after;
  let resolved = !isSequence(wait.after) || Number(wait.after) === 0;
  for (;;) {
    if (!resolved) {
      position = await deps.store.planEventIdAtSequence(planId, Number(wait.after));
      resolved = position !== undefined;
    }
    if (resolved) {
      const page = await deps.store.listEvents(planId, {
        ...(position ? { afterEventId: position } : {}),
        limit: wait.limit ?? 100,
      });
      if (page.events.length) return { events: page.events, last: page.last ?? null };
    }
    if (Date.now() >= deadline || wait.signal?.aborted) {
      return { events: [], last: resolved ? (position ?? null) : (wait.after ?? null) };
    }
    await deps.sleep(POLL_MS);
  }
}

/** Every event after `after`, as it happens, until the plan reaches a terminal status. */
export async function* followEvents(deps: Deps, planId: string, wait: EventWait = {}) {
  let after = wait.after;
  let ended = false;
  for (;;) {
    const page = await waitForEvents(deps, planId, {
      after,
      waitSeconds: ended ? 0 : 5,
      limit: 500,
      ...(wait.signal ? { signal: wait.signal } : {}),
    });
    yield* page.events;
    after = page.last ?? after;
    // Once the plan has ended, drain what was committed before it ended, then stop.
    if (wait.signal?.aborted || (ended && page.events.length === 0)) return;
    ended = isTerminalPlan((await deps.store.requirePlan(planId)).status);
  }
}
