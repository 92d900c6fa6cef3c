/** Plan machine "Start plan": marks the plan RUNNING and lists its tenants by position. */
import { stepHandler } from './core/handler.ts';
import { startPlan } from './core/orchestration/plan-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.startPlan, startPlan);
