/** Task machine "Wait for resume": parks the paused task's token on the task item. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { parkTask } from './core/orchestration/task-flow.ts';

const input = z.object({ taskId: z.string().min(1), token: z.string().min(1) });

export const handler = stepHandler(input, parkTask);
