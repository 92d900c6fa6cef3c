/** Rollback machine "Roll back next stage": previous good config re-sent and confirmed by health check. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { rollbackStage } from './core/orchestration/rollback-flow.ts';

const input = z.object({ taskId: z.string().min(1) });

export const handler = stepHandler(input, rollbackStage);
