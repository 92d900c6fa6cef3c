/**
 * The one way a task ends. The store writes the terminal status and frees the
 * tenant lock in one transaction; this adds what follows every end: the retry's
 * outcome event and the plan's completion check.
 */
import type { Deps } from '../deps.ts';
import type { Task } from '../model.ts';
import type { TaskTransition } from '../store/index.ts';
import type { EndingOperation } from '../transitions.ts';
import { finalizePlanIfDone } from './plan-flow.ts';

export async function endTask(
  deps: Deps,
  taskId: string,
  operation: EndingOperation,
  change: TaskTransition = {},
  /** The task as the caller just read it (see transitionTask). */
  known?: Task,
): Promise<Task> {
  const ended = (
    await deps.store.transitionTask(
      taskId,
      operation,
      { ...change, set: { endedAt: deps.now().toISOString(), ...change.set } },
      known,
    )
  ).item;
  if ((operation === 'complete' || operation === 'fail') && ended.retryCount > 0) {
    await deps.store.transitionTask(taskId, 'retryCompleted', {
      detail: { success: operation === 'complete' },
      ...(change.failureInfo ? { failureInfo: change.failureInfo } : {}),
    });
  }
  await finalizePlanIfDone(deps, ended.planId);
  return ended;
}
