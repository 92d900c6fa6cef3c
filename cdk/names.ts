/**
 * Names and ARNs of resources that are referenced before (or by) the resource that creates them.
 * Functions know the state machines and the bus by these deterministic names because the state
 * machines reference the functions' ARNs: a reference in both directions would be a CloudFormation cycle.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The repository root: entry paths in the manifest and the engine catalog are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export const resourceName = (prefix: string, name: string) => `${prefix}-${name}`;

/** EventBridge rule names: 1-64 characters (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html). */
export const RULE_NAME_MAX = 64;

/**
 * `${prefix}-${name}` when it fits `max`; otherwise cut, with a hash of the full name appended so two
 * long names never collide. The prefix accepts 40 characters, and the derived names must still fit.
 */
export function boundedName(prefix: string, name: string, max: number): string {
  const full = resourceName(prefix, name);
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

export function stateMachineArn(scope: IConstruct, prefix: string, machine: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: resourceName(prefix, machine),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Every execution of one state machine (execution names are chosen at run time). */
export function executionsArn(scope: IConstruct, prefix: string, machine: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${resourceName(prefix, machine)}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export function eventBusArn(scope: IConstruct, busName: string): string {
  return Stack.of(scope).formatArn({
    service: 'events',
    resource: 'event-bus',
    resourceName: busName,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/** Child executions a Distributed Map of `machine` starts (`<machine>/<map run>:<id>`). */
export function mapRunExecutionsArn(scope: IConstruct, prefix: string, machine: string): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${resourceName(prefix, machine)}/*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
