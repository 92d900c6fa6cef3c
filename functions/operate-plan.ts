/** Plan-operation machine "Apply to tasks": one page of a large plan's tasks per invocation. */
import { stepHandler } from './core/handler.ts';
import { operatePlanPage } from './core/orchestration/operations.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.operatePlan, operatePlanPage);
