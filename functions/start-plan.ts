/** Plan machine "Start plan": marks the plan RUNNING and lists its tenants by position. */
import { z } from 'zod';
import { stepHandler } from './core/handler.ts';
import { startPlan } from './core/orchestration/plan-flow.ts';

const input = z.object({ planId: z.string().min(1), executionArn: z.string().min(1) });

export const handler = stepHandler(input, startPlan);
