/** Task machine "Complete task": known-good config, drains scheduled, the task ended COMPLETED with its lock released. */
import { stepHandler } from './core/handler.ts';
import { completeTask } from './core/orchestration/task-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.completeTask, completeTask);
