/** Task machine "Run stage": the next stage's boundary, then its config-update, broadcast, health-check, checkpoint. */
import { stepHandler } from './core/handler.ts';
import { runStage } from './core/orchestration/task-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.runStage, runStage);
