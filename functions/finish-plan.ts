/** Plan machine "Finish plan" / "Record plan failure": closes the plan from its tasks, or fails it. */
import { stepHandler } from './core/handler.ts';
import { finishPlan } from './core/orchestration/plan-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.finishPlan, finishPlan);
