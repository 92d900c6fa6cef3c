/** Task machine "Wait for resume": parks the paused task's token on the task item. */
import { stepHandler } from './core/handler.ts';
import { parkTask } from './core/orchestration/task-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.parkTask, parkTask);
