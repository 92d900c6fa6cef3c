/**
 * Every environment variable the functions read, by name, in one place. CDK sets
 * them on each Lambda (resources from the manifest's `env`, settings from the
 * deployment configuration); the local runtime sets them in its own process.
 */
export const RESOURCE_ENV = {
  tableName: 'TABLE_NAME',
  planStateMachineArn: 'PLAN_STATE_MACHINE_ARN',
  /** The plan machine of plans with a strategy (statemachines/waves.asl.json). */
  wavesStateMachineArn: 'WAVES_STATE_MACHINE_ARN',
  taskStateMachineArn: 'TASK_STATE_MACHINE_ARN',
  rollbackStateMachineArn: 'ROLLBACK_STATE_MACHINE_ARN',
  /** Applies a plan-wide action to a large plan's tasks (statemachines/plan-operation.asl.json). */
  planOperationStateMachineArn: 'PLAN_OPERATION_STATE_MACHINE_ARN',
  eventBusName: 'EVENT_BUS_NAME',
  clusterArn: 'ECS_CLUSTER_ARN',
} as const;
export type ResourceEnvName = (typeof RESOURCE_ENV)[keyof typeof RESOURCE_ENV];

/** Reads a required variable, failing loudly at module load when it is missing. */
export function requireEnv(name: string, env: Record<string, string | undefined> = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is required but not set`);
  return value;
}

/** Names of the environment variables that form the deployment configuration. */
export const SETTINGS_ENV = {
  defaultServiceNames: 'ROLLOUT_DEFAULT_SERVICE_NAMES',
  healthIntervalSeconds: 'ROLLOUT_HEALTH_INTERVAL_SECONDS',
  healthMaxAttempts: 'ROLLOUT_HEALTH_MAX_ATTEMPTS',
  healthPath: 'ROLLOUT_HEALTH_PATH',
  healthVersionKey: 'ROLLOUT_HEALTH_VERSION_KEY',
  broadcastPath: 'ROLLOUT_BROADCAST_PATH',
  eventTtlDays: 'ROLLOUT_EVENT_TTL_DAYS',
  lockLeaseSeconds: 'ROLLOUT_LOCK_LEASE_SECONDS',
  provisionTimeoutSeconds: 'ROLLOUT_PROVISION_TIMEOUT_SECONDS',
  drainGraceSeconds: 'ROLLOUT_DRAIN_GRACE_SECONDS',
  engineSubnets: 'ROLLOUT_ENGINE_SUBNETS',
  engineSecurityGroups: 'ROLLOUT_ENGINE_SECURITY_GROUPS',
} as const;

/** The bearer token the API function checks besides API Gateway's authorizer (optional). */
export const API_TOKEN_ENV = 'ROLLOUT_API_TOKEN';
/** How many sweeps one scheduled supervisor invocation makes (default 6). */
export const SUPERVISOR_SWEEPS_ENV = 'SUPERVISOR_SWEEPS';
