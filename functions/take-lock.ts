/** Task / rollback machine "Take tenant lock": validates the task and takes the tenant lock (or throws TenantLocked). */
import { stepHandler } from './core/handler.ts';
import { takeLock } from './core/orchestration/task-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.takeLock, takeLock);
