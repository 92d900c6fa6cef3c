/**
 * Names and ARNs of resources that are referenced before (or by) the resource that creates them.
 * Functions know the state machines and the bus by these deterministic names because the state
 * machines reference the functions' ARNs: a reference in both directions would be a CloudFormation cycle.
 */
import { fileURLToPath } from 'node:url';
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The repository root: entry paths in the manifest and the engine catalog are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export const resourceName = (prefix: string, name: string) => `${prefix}-${name}`;

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
