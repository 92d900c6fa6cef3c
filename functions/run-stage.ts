/** Task machine "Run stages": per stage its boundary, then config-update, broadcast, health-check, checkpoint. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { runStages } from './core/orchestration/task-flow.ts';

const handOff = z.object({
  engineId: z.string().min(1),
  endpoint: z.string().url(),
  version: z.string().optional(),
  tenantId: z.string().optional(),
  service: z.string().optional(),
  taskArn: z.string().optional(),
});

const input = z.object({
  taskId: z.string().min(1),
  executionArn: z.string().min(1),
  engine: handOff.nullable().optional(),
});

export const handler = stepHandler(input, (deps, stage, context) =>
  runStages(deps, stage, () => context.getRemainingTimeInMillis()),
);
