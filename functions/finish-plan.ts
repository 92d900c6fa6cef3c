/** Plan machine "Finish plan" / "Record plan failure": closes the plan from its tasks, or fails it. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { finishPlan } from './core/orchestration/plan-flow.ts';

const input = z.object({
  planId: z.string().min(1),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

export const handler = stepHandler(input, finishPlan);
