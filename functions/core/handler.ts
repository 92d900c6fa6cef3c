/** The shape every state-machine step handler shares: middy, observability, zod-validated input, one domain call. */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { type Deps, depsFromEnv } from './deps.ts';
import { planIdOfTask, taskIdFor } from './keys.ts';
import { appendLogKeys, observability } from './observability.ts';
import { parseOrThrow } from './schemas.ts';

/** The ids a step input may carry; every log line of the invocation is keyed by them. */
interface StepIds {
  planId?: unknown;
  index?: unknown;
  taskId?: unknown;
  executionArn?: unknown;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

export function logKeysOf(input: unknown) {
  const ids = (input && typeof input === 'object' ? input : {}) as StepIds;
  const planId = text(ids.planId);
  const taskId =
    text(ids.taskId) ??
    (planId !== undefined && typeof ids.index === 'number' ? taskIdFor(planId, ids.index) : undefined);
  return {
    planId: planId ?? (taskId ? planIdOfTask(taskId) : undefined),
    taskId,
    executionArn: text(ids.executionArn),
  };
}

export function stepHandler<S extends z.ZodType, R>(
  schema: S,
  step: (deps: Deps, input: z.output<S>, context: Context) => Promise<R>,
) {
  const deps = depsFromEnv();
  return (
    middy<unknown, R, Error, Context>()
      // The task machine retries TenantLocked while another task holds the tenant and RecoveryBackoff while a
      // recovery waits; StageFailed is on record already.
      .use(observability({ expectedErrors: ['TenantLocked', 'RecoveryBackoff', 'StageFailed'] }))
      .handler((event, context) => {
        appendLogKeys(logKeysOf(event));
        return step(deps, parseOrThrow(schema, event), context);
      })
  );
}
