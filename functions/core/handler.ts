/** The shape every state-machine step handler shares: middy, zod-validated input, one domain call. */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { type Deps, depsFromEnv } from './deps.ts';
import { parseOrThrow } from './schemas.ts';

export function stepHandler<S extends z.ZodType, R>(
  schema: S,
  step: (deps: Deps, input: z.output<S>, context: Context) => Promise<R>,
) {
  const deps = depsFromEnv();
  return middy<unknown, R, Error, Context>().handler((event, context) =>
    step(deps, parseOrThrow(schema, event), context),
  );
}
