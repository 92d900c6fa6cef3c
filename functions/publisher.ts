/** Table stream → EventBridge bus: every inserted event item becomes a bus event (at least once). */
import middy from '@middy/core';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { depsFromEnv } from './core/deps.ts';
import { observability } from './core/observability.ts';
import { publish, type StreamRecord } from './core/orchestration/publisher.ts';

const deps = depsFromEnv();

export const handler = middy<DynamoDBStreamEvent, { published: number }, Error, Context>()
  .use(observability())
  .handler((event) => publish(deps, event.Records as StreamRecord[]));
