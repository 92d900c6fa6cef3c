/** Task machine "Record task failure": the failure recorded, an engine that never handed off stopped, lock released. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { failTask } from './core/orchestration/task-flow.ts';

const input = z.object({
  planId: z.string().min(1),
  index: z.number().int().min(0),
  executionArn: z.string().min(1),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

export const handler = stepHandler(input, failTask);
