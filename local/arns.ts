/**
 * Names and ARNs of the local resources. Every local module builds them here,
 * so the patterns exist once.
 */
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env.ts';

export const RESOURCE_PREFIX = 'tenant-rollout';
export const PROJECT_BUS_NAME = RESOURCE_PREFIX;
/** AWS services (ECS task state changes) publish to the account's default bus, never to ours. */
export const DEFAULT_BUS_NAME = 'default';
export const CLUSTER_NAME = RESOURCE_PREFIX;

const partition = 'arn:aws';
const scope = `${LOCAL_REGION}:${LOCAL_ACCOUNT}`;

export const arns = {
  function: (name: string) => `${partition}:lambda:${scope}:function:${RESOURCE_PREFIX}-${name}`,
  functionName: (name: string) => `${RESOURCE_PREFIX}-${name}`,
  stateMachine: (name: string) => `${partition}:states:${scope}:stateMachine:${RESOURCE_PREFIX}-${name}`,
  /** A machine created through the API keeps the name it was given. */
  stateMachineNamed: (fullName: string) => `${partition}:states:${scope}:stateMachine:${fullName}`,
  execution: (machineFullName: string, executionName: string) =>
    `${partition}:states:${scope}:execution:${machineFullName}:${executionName}`,
  stateMachineRole: (name: string) => `${partition}:iam::${LOCAL_ACCOUNT}:role/${RESOURCE_PREFIX}-${name}`,
  cluster: () => `${partition}:ecs:${scope}:cluster/${CLUSTER_NAME}`,
  clusterNamed: (name: string) => `${partition}:ecs:${scope}:cluster/${name}`,
  table: (name: string) => `${partition}:dynamodb:${scope}:table/${name}`,
  task: (taskId: string) => `${partition}:ecs:${scope}:task/${CLUSTER_NAME}/${taskId}`,
  taskDefinition: (family: string, revision = 1) =>
    `${partition}:ecs:${scope}:task-definition/${family}:${revision}`,
  container: (taskId: string, name: string) =>
    `${partition}:ecs:${scope}:container/${CLUSTER_NAME}/${taskId}/${name}`,
  eventBus: (name: string) => `${partition}:events:${scope}:event-bus/${name}`,
  alarm: (name: string) => `${partition}:cloudwatch:${scope}:alarm:${name}`,
  rule: (busName: string, ruleName: string) =>
    busName === DEFAULT_BUS_NAME
      ? `${partition}:events:${scope}:rule/${ruleName}`
      : `${partition}:events:${scope}:rule/${busName}/${ruleName}`,
} as const;

/** The name part of a machine ARN (`stateMachine:<name>`), or undefined for anything else. */
export function stateMachineNameOf(arn: string): string | undefined {
  const match = /^arn:aws:states:[^:]*:[^:]*:stateMachine:([^:]+)$/.exec(arn);
  return match?.[1];
}

/** `family`, `family:revision` or a task-definition ARN → family. */
export function taskDefinitionFamily(reference: string): string {
  const name = reference.includes('task-definition/') ? reference.split('task-definition/')[1]! : reference;
  return name.split(':')[0]!;
}

/** Bus name from a name or an event-bus ARN. */
export function busNameOf(nameOrArn: string | undefined): string {
  if (!nameOrArn) return DEFAULT_BUS_NAME;
  return nameOrArn.includes(':event-bus/') ? nameOrArn.split(':event-bus/')[1]! : nameOrArn;
}
