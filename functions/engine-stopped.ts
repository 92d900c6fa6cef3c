/**
 * EventBridge "ECS Task State Change" (default bus): an engine task stopped. Before its
 * hand-off that fails the waiting provision step; afterwards it only updates the registry.
 */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { depsFromEnv } from './core/deps.ts';
import { observability } from './core/observability.ts';
import type {
  ECS_TASK_STATE_CHANGE,
  EcsTaskDetail,
  EngineStoppedOutcome,
} from './core/orchestration/engines.ts';
import { engineStopped } from './core/orchestration/engines.ts';

const deps = depsFromEnv();

export const handler = middy<
  EventBridgeEvent<typeof ECS_TASK_STATE_CHANGE, EcsTaskDetail>,
  EngineStoppedOutcome,
  Error,
  Context
>()
  .use(observability())
  .handler((event) => engineStopped(deps, event.detail ?? {}));
