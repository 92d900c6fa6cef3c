/**
 * The AWS clients and settings a function needs, built once per module from the
 * environment. Clients are ordinary SDK clients: the endpoint comes from the
 * environment (AWS_ENDPOINT_URL_* when run by the local runtime).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { RESOURCE_ENV, requireEnv } from './env.ts';
import { observeTransition, traced } from './observability.ts';
import { type DeploymentSettings, deploymentSettings } from './settings.ts';
import { createStore, type Store } from './store/index.ts';

export interface Deps {
  store: Store;
  settings: DeploymentSettings;
  sfn: SFNClient;
  cloudwatch: CloudWatchClient;
  ecs: ECSClient;
  events: EventBridgeClient;
  /** Resource names, present when the function's manifest entry lists them. */
  resources: {
    eventBusName?: string;
    clusterArn?: string;
    planStateMachineArn?: string;
    wavesStateMachineArn?: string;
    taskStateMachineArn?: string;
    rollbackStateMachineArn?: string;
    planOperationStateMachineArn?: string;
  };
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
}

const optional = (name: string) => process.env[name] || undefined;

/**
 * Reads the environment now (module load), failing loudly when the table is not configured.
 * Clients are traced (a no-op where tracing is off), and the store reports every committed transition.
 */
export function depsFromEnv(): Deps {
  const settings = deploymentSettings();
  const tableName = requireEnv(RESOURCE_ENV.tableName);
  return {
    store: createStore({
      client: traced(new DynamoDBClient({})),
      tableName,
      eventTtlDays: settings.eventTtlDays,
      onTransition: observeTransition,
    }),
    settings,
    sfn: traced(new SFNClient({})),
    cloudwatch: traced(new CloudWatchClient({})),
    ecs: traced(new ECSClient({})),
    events: traced(new EventBridgeClient({})),
    resources: {
      eventBusName: optional(RESOURCE_ENV.eventBusName),
      clusterArn: optional(RESOURCE_ENV.clusterArn),
      planStateMachineArn: optional(RESOURCE_ENV.planStateMachineArn),
      wavesStateMachineArn: optional(RESOURCE_ENV.wavesStateMachineArn),
      taskStateMachineArn: optional(RESOURCE_ENV.taskStateMachineArn),
      rollbackStateMachineArn: optional(RESOURCE_ENV.rollbackStateMachineArn),
      planOperationStateMachineArn: optional(RESOURCE_ENV.planOperationStateMachineArn),
    },
    fetch: globalThis.fetch,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
  };
}

/** A resource the caller cannot work without. */
export function resource(deps: Deps, name: keyof Deps['resources']): string {
  const value = deps.resources[name];
  if (!value)
    throw new Error(`resource ${name} is not configured for this function (see functions/manifest.ts)`);
  return value;
}
