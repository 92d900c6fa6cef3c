/** Rollback machine "Roll back next stage": previous good config re-sent and confirmed by health check. */
import { stepHandler } from './core/handler.ts';
import { rollbackStage } from './core/orchestration/rollback-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.rollbackStage, rollbackStage);
