/**
 * The one way a task ends. The store writes the terminal status and frees the
 * tenant lock in one transaction; this adds what follows every end: the engines
 * the task started that serve nobody are stopped, the retry's outcome event, and
 * the plan's completion check.
 */
import { servingServices } from '../decisions.ts';
import type { Deps } from '../deps.ts';
import type { Task } from '../model.ts';
import { logger } from '../observability.ts';
import type { TaskStep, TaskTransition } from '../store/index.ts';
import type { EndingOperation } from '../transitions.ts';
import { finalizePlanIfDone } from './plan-flow.ts';
import { hasEngineStages, stopEngines } from './stage.ts';

export async function endTask(
  deps: Deps,
  taskId: string,
  operation: EndingOperation,
  change: TaskTransition = {},
  /** The task as the caller just read it (see transitionTask). */
  known?: Task,
  /** Transitions made in the same transaction, before the end (see transitionTaskSteps). */
  first: readonly TaskStep[] = [],
): Promise<Task> {
  const ended = (
    await deps.store.transitionTaskSteps(
      taskId,
      [
        ...first,
        { operation, change: { ...change, set: { endedAt: deps.now().toISOString(), ...change.set } } },
      ],
      known,
    )
  ).item;
  if (operation !== 'complete') await stopUnservingEngines(deps, ended);
  // A retried or recovered task (each emitted TaskRetryStarted) reports how its run ended.
  if ((operation === 'complete' || operation === 'fail') && (ended.retryCount > 0 || ended.recoveryCount)) {
    await deps.store.transitionTask(taskId, 'retryCompleted', {
      detail: { success: operation === 'complete' },
      ...(change.failureInfo ? { failureInfo: change.failureInfo } : {}),
    });
  }
  await finalizePlanIfDone(deps, ended.planId);
  return ended;
}

/**
 * After the task ended, an engine it started that serves nothing (its stage did not complete, or was
 * rolled back) would run, and be billed, forever. The task has ended either way: a failure to stop
 * one is logged and left to the operator, it does not undo the end.
 */
async function stopUnservingEngines(deps: Deps, task: Task) {
  if (!hasEngineStages(task)) return;
  const serving = servingServices(task);
  try {
    await stopEngines(
      deps,
      task,
      ['provisioning', 'ready'],
      `rollout task ${task.status.toLowerCase()}`,
      'stopped',
      (engine) => !serving.has(engine.service),
    );
  } catch (error) {
    logger.error({ message: 'could not stop the engines of an ended task', taskId: task.taskId, error });
  }
}
