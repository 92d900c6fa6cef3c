/** Rollback machine "Finish rollback" / "Record rollback failure": ROLLED_BACK or ROLLBACK_FAILED, lock released. */
import { stepHandler } from './core/handler.ts';
import { finishRollback } from './core/orchestration/rollback-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.finishRollback, finishRollback);
