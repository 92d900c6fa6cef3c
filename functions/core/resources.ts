/**
 * Names of the deployed resources and the environment variables that carry
 * them to functions. CDK sets these variables on every Lambda; the local
 * runtime sets them in its own process. Handlers read them at module load.
 */
export const RESOURCE_ENV = {
  tableName: 'TABLE_NAME',
  planStateMachineArn: 'PLAN_STATE_MACHINE_ARN',
  taskStateMachineArn: 'TASK_STATE_MACHINE_ARN',
  rollbackStateMachineArn: 'ROLLBACK_STATE_MACHINE_ARN',
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

/** Detail-type of the inbound EventBridge event that starts a plan. */
export const PLAN_REQUESTED_DETAIL_TYPE = 'Rollout Plan Requested';

/** The ARN Step Functions gives an execution, known before it starts (so a task can record who will drive it). */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[5] !== 'stateMachine')
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}
