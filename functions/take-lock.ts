/** Task / rollback machine "Take tenant lock": validates the task and takes the tenant lock (or throws TenantLocked). */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { takeLock } from './core/orchestration/task-flow.ts';

const input = z.object({
  planId: z.string().min(1),
  index: z.number().int().min(0),
  executionArn: z.string().min(1),
  purpose: z.literal('ROLLBACK').optional(),
});

export const handler = stepHandler(input, takeLock);
