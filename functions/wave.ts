/** Waves machine "Open wave", "Wait for approval", "Judge wave", "Bake wave", "Halt plan": one step each. */
import { stepHandler } from './core/handler.ts';
import { bakeWave, haltPlan, judgeWave, openWave, parkApproval } from './core/orchestration/wave-flow.ts';
import { STEP_INPUTS } from './core/steps.ts';

export const handler = stepHandler(STEP_INPUTS.wave, async (deps, input): Promise<unknown> => {
  switch (input.action) {
    case 'open':
      return openWave(deps, input);
    case 'park':
      return parkApproval(deps, input);
    case 'judge':
      return judgeWave(deps, input);
    case 'bake':
      return bakeWave(deps, input);
    case 'halt':
      return haltPlan(deps, input);
  }
});
