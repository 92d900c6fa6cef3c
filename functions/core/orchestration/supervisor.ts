/**
 * The supervisor's sweep (every 10 s locally; each scheduled invocation on AWS
 * sweeps several times): heartbeats and lease renewal for tasks that hold a
 * tenant lock, recovery of tasks and plans whose execution is gone, and drains.
 */

import { executionName, recoveryChange, recoveryWaitMs } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import { IllegalTransition } from '../errors.ts';
import { isTerminalTask, type Task, type TenantLock } from '../model.ts';
import { nextExecution, startTaskExecution } from './operations.ts';
import { finalizePlanIfDone, startPlanExecution } from './plan-flow.ts';
import { stopEngines } from './stage.ts';
import { isExecutionRunning, isTaskExecutionLost } from './task-flow.ts';

export interface SweepReport {
  heartbeats: number;
  renewed: number;
  recoveredTasks: string[];
  /** Tasks whose execution is gone, left for a later sweep while their recovery backoff runs. */
  deferredRecoveries: string[];
  restartedPlans: string[];
  releasedLocks: number;
  drainedEngines: number;
  /** Tasks whose status changed under the sweep, so it left them alone this round. */
  movedOn: string[];
}

const ACTIVE_PLAN_STATUSES = ['CREATING', 'CREATED', 'RUNNING', 'PAUSED'] as const;

export async function sweep(deps: Deps): Promise<SweepReport> {
  const report: SweepReport = {
    heartbeats: 0,
    renewed: 0,
    recoveredTasks: [],
    deferredRecoveries: [],
    restartedPlans: [],
    releasedLocks: 0,
    drainedEngines: 0,
    movedOn: [],
  };
  const restarted = await recoverPlans(deps, report);
  await reportProgress(deps);
  for (const lock of await deps.store.listHeldLocks()) {
    try {
      await superviseLock(deps, lock, restarted, report);
    } catch (error) {
      // The task moved on (finished, was cancelled) between the sweep's read and its write: nothing to supervise.
      if (!(error instanceof IllegalTransition)) throw error;
      report.movedOn.push(lock.ownerTaskId);
    }
  }
  await drainEngines(deps, report);
  return report;
}

/** A task that holds a lock is running, paused or rolling back: keep it alive, or recover it. */
async function superviseLock(deps: Deps, lock: TenantLock, restartedPlans: Set<string>, report: SweepReport) {
  const task = await deps.store.getTask(lock.ownerTaskId);
  if (!task || isTerminalTask(task.status)) {
    if (await deps.store.releaseLock(lock.tenantId, lock.ownerTaskId, lock.fencingToken))
      report.releasedLocks++;
    return;
  }
  if (!(await isTaskExecutionLost(deps, task))) {
    await renewLease(deps, lock, report);
    if (task.status === 'RUNNING' || task.status === 'PAUSED') {
      await deps.store.transitionTask(task.taskId, 'heartbeat', {
        set: { lastHeartbeatAt: deps.now().toISOString() },
        detail: { progressPercent: progressPercent(task) },
      });
      report.heartbeats++;
    }
    return;
  }
  // A restarted plan execution re-drives its tasks itself.
  if (!restartedPlans.has(task.planId)) await recoverTask(deps, task, report, lock);
}

export const progressPercent = (task: Pick<Task, 'completedStages' | 'stages'>) =>
  task.stages.length ? Math.round((task.completedStages.length / task.stages.length) * 100) : 0;

/**
 * Restarts a task's machine (or its rollback's) from its checkpoint under a new execution name (a
 * recovery, which spends none of the operator's retries), once its recovery backoff passed; until
 * then a task holding its tenant keeps it.
 */
export async function recoverTask(deps: Deps, task: Task, report: SweepReport, lock?: TenantLock) {
  const now = deps.now();
  if (recoveryWaitMs(task, now) > 0) {
    if (lock) await renewLease(deps, lock, report);
    report.deferredRecoveries.push(task.taskId);
    return;
  }
  const rollback = task.status === 'ROLLING_BACK';
  const rollbackCount = (task.rollbackCount ?? 0) + 1;
  const execution = rollback
    ? nextExecution(deps, 'rollbackStateMachineArn', executionName.rollback(task.taskId, rollbackCount))
    : nextExecution(
        deps,
        'taskStateMachineArn',
        executionName.recovery(task.taskId, (task.recoveryCount ?? 0) + 1),
      );
  const change = recoveryChange(task, now, execution.handover);
  const recovered = await deps.store.transitionTask(
    task.taskId,
    rollback ? 'recoverRollback' : 'recover',
    rollback ? { ...change, set: { ...change.set, rollbackCount } } : change,
    task,
  );
  if (!recovered.event) {
    // Another path (a restarted plan's Map, another sweep) took the task on since this sweep read it.
    report.movedOn.push(task.taskId);
    return;
  }
  await startTaskExecution(deps, execution, task);
  report.recoveredTasks.push(task.taskId);
}

async function renewLease(deps: Deps, lock: TenantLock, report: SweepReport) {
  if (
    await deps.store.renewLock(
      lock.tenantId,
      lock.ownerTaskId,
      lock.fencingToken,
      deps.settings.lockLeaseSeconds * 1000,
    )
  ) {
    report.renewed++;
  }
}

/**
 * Plans whose plan execution is gone get a new one (a new attempt); its Map
 * skips finished tasks and adopts unfinished ones from their checkpoints.
 */
async function recoverPlans(deps: Deps, report: SweepReport): Promise<Set<string>> {
  const restarted = new Set<string>();
  for (const status of ACTIVE_PLAN_STATUSES) {
    let cursor: string | undefined;
    do {
      const page = await deps.store.listPlans({ status, limit: 100, cursor });
      for (const plan of page.plans) {
        if (await isExecutionRunning(deps, plan.executionArn)) continue;
        if (plan.mapFinished) {
          await recoverStrandedTasks(deps, plan.planId, report);
          continue;
        }
        const attempt = plan.attempt + (plan.executionArn ? 1 : 0);
        await deps.store.patchPlan(plan.planId, { attempt });
        await startPlanExecution(deps, { planId: plan.planId, attempt, waveCount: plan.waveCount });
        restarted.add(plan.planId);
        report.restartedPlans.push(plan.planId);
      }
      cursor = page.cursor;
    } while (cursor);
  }
  return restarted;
}

/** PlanProgress for every plan whose tasks moved since its last one. */
async function reportProgress(deps: Deps) {
  for (const status of ['RUNNING', 'PAUSED', 'ROLLING_BACK'] as const) {
    let cursor: string | undefined;
    do {
      const page = await deps.store.listPlans({ status, limit: 100, cursor });
      for (const plan of page.plans) {
        await deps.store.reportPlanProgress(plan.planId).catch((error: unknown) => {
          // The plan finished between the listing and the report.
          if (!(error instanceof IllegalTransition)) throw error;
        });
      }
      cursor = page.cursor;
    } while (cursor);
  }
}

/** After the Map finished, retried tasks run alone; one waiting for a lock without an execution is restarted. */
async function recoverStrandedTasks(deps: Deps, planId: string, report: SweepReport) {
  for (const task of await deps.store.listTasks(planId)) {
    if (isTerminalTask(task.status) || task.status === 'RUNNING' || task.status === 'PAUSED') continue;
    if (task.status === 'CREATED') continue;
    if (!(await isTaskExecutionLost(deps, task))) continue;
    try {
      await recoverTask(deps, task, report);
    } catch (error) {
      // It moved on (its execution ended it, an operator cancelled it) after the listing.
      if (!(error instanceof IllegalTransition)) throw error;
      report.movedOn.push(task.taskId);
    }
  }
  await finalizePlanIfDone(deps, planId);
}

/** Replaced engines past their grace period are stopped. */
async function drainEngines(deps: Deps, report: SweepReport) {
  const now = deps.now().toISOString();
  const due = (await deps.store.listEngines()).filter(
    (e) => e.state === 'draining' && (e.drainAfter ?? '') <= now,
  );
  for (const engine of due) {
    if (!engine.taskId) continue;
    const owner = await deps.store.getTask(engine.taskId);
    if (!owner) {
      await deps.store.updateEngine(engine, 'stopped', {}, ['draining']);
      continue;
    }
    const stopped = await stopEngines(
      deps,
      owner,
      ['draining'],
      'replaced by a newer engine',
      'stopped',
      (e) => e.engineId === engine.engineId,
    );
    report.drainedEngines += stopped.length;
  }
}
