/** Task machine "Run stages": per stage its boundary, then config-update, broadcast, health-check, checkpoint. */
import { stepHandler } from './core/handler.ts';
import { runStages } from './core/orchestration/task-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.runStages, (deps, stage, context) =>
  runStages(deps, stage, () => context.getRemainingTimeInMillis()),
);
