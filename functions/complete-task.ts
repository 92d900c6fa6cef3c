/** Task machine "Complete task": known-good config, drains scheduled, checkpoint cleared, lock released. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { completeTask } from './core/orchestration/task-flow.ts';

const input = z.object({ taskId: z.string().min(1) });

export const handler = stepHandler(input, completeTask);
