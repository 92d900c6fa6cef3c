/** Task machine "Record task failure": the failure recorded, an engine that never handed off stopped, lock released. */
import { stepHandler } from './core/handler.ts';
import { failTask } from './core/orchestration/task-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.failTask, failTask);
