/** Rollback machine "Finish rollback" / "Record rollback failure": ROLLED_BACK or ROLLBACK_FAILED, lock released. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { finishRollback } from './core/orchestration/rollback-flow.ts';

const input = z.object({
  planId: z.string().min(1),
  index: z.number().int().min(0),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

export const handler = stepHandler(input, finishRollback);
