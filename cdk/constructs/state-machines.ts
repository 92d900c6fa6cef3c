/**
 * The state machines, straight from statemachines/*.asl.json: every `${Placeholder}` substituted
 * (synth fails on one without a value), a role holding exactly what the Task states call, logging
 * at ALL to a vended log group, X-Ray tracing, and the timeout from the spec.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ICluster, TaskDefinition } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { FunctionSpec } from '../../functions/manifest.ts';
import {
  placeholders,
  placeholdersIn,
  readDefinition,
  type StateMachineSpec,
} from '../../statemachines/index.ts';
import { acknowledge, nagArn } from '../nag.ts';
import { executionsArn, mapRunExecutionsArn, resourceName, stateMachineArn } from '../names.ts';

export interface StateMachinesProps {
  prefix: string;
  specs: readonly StateMachineSpec[];
  /** Manifest entries and their deployed functions, for `${<Pascal>FunctionArn}`. */
  functions: readonly { spec: FunctionSpec; fn: IFunction }[];
  tableName: string;
  eventBusName: string;
  cluster: ICluster;
  /** Engine task definitions an `ecs:runTask` state may start. */
  engineTaskDefinitions: readonly TaskDefinition[];
  logRetention: RetentionDays;
}

interface AslState {
  Type?: string;
  Resource?: string;
  ItemProcessor?: AslMachine & { ProcessorConfig?: { Mode?: string } };
  Iterator?: AslMachine;
  Branches?: AslMachine[];
}
interface AslMachine {
  States?: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** Every Task resource of a definition, nested Map and Parallel states included. */
function taskResources(machine: AslMachine): { resources: string[]; distributedMap: boolean } {
  const resources: string[] = [];
  let distributedMap = false;
  const walk = (m: AslMachine) => {
    for (const state of Object.values(m.States ?? {})) {
      if (state.Type === 'Task' && state.Resource) resources.push(state.Resource);
      if (state.ItemProcessor) {
        if (state.ItemProcessor.ProcessorConfig?.Mode === 'DISTRIBUTED') distributedMap = true;
        walk(state.ItemProcessor);
      }
      if (state.Iterator) walk(state.Iterator);
      for (const branch of state.Branches ?? []) walk(branch);
    }
  };
  walk(machine);
  return { resources, distributedMap };
}

/** Step Functions' managed rule for `.sync` on a child execution. */
const SYNC_EXECUTION_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export class StateMachines extends Construct {
  public readonly byName: ReadonlyMap<string, StateMachine>;
  public readonly logGroups: ReadonlyMap<string, LogGroup>;
  /** The substitutions given to each machine, keyed by machine name. */
  public readonly substitutions: ReadonlyMap<string, Readonly<Record<string, string>>>;

  constructor(scope: Construct, id: string, props: StateMachinesProps) {
    super(scope, id);
    const values = this.placeholderValues(props);
    const byName = new Map<string, StateMachine>();
    const logGroups = new Map<string, LogGroup>();
    const substitutions = new Map<string, Record<string, string>>();

    for (const spec of props.specs) {
      const text = readDefinition(spec);
      const definition = JSON.parse(text) as AslMachine;
      // The timeout lives in the ASL file (a file definition ignores the construct's `timeout`).
      if (!definition.TimeoutSeconds) {
        throw new Error(`state machine ${spec.name}: ${spec.file} sets no TimeoutSeconds`);
      }
      const used = placeholdersIn(text);
      const missing = used.filter((name) => values[name] === undefined);
      if (missing.length) {
        throw new Error(`state machine ${spec.name}: no value for placeholder(s) ${missing.join(', ')}`);
      }
      const definitionSubstitutions = Object.fromEntries(used.map((name) => [name, values[name]!]));

      const logGroup = new LogGroup(this, `${spec.name}Logs`, {
        logGroupName: `/aws/vendedlogs/states/${resourceName(props.prefix, spec.name)}`,
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const machine = new StateMachine(this, `${spec.name}StateMachine`, {
        stateMachineName: resourceName(props.prefix, spec.name),
        stateMachineType: StateMachineType.STANDARD,
        definitionBody: DefinitionBody.fromFile(spec.file),
        definitionSubstitutions,
        logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
        tracingEnabled: true,
      });
      this.grantTasks(machine, spec, definition, used, props);
      this.suppress(machine, props);
      byName.set(spec.name, machine);
      logGroups.set(spec.name, logGroup);
      substitutions.set(spec.name, definitionSubstitutions);
    }
    this.byName = byName;
    this.logGroups = logGroups;
    this.substitutions = substitutions;
  }

  private placeholderValues(props: StateMachinesProps): Record<string, string> {
    return {
      ...Object.fromEntries(
        props.functions.map(({ spec, fn }) => [placeholders.functionArn(spec.name), fn.functionArn]),
      ),
      ...Object.fromEntries(
        props.specs.map((m) => [
          placeholders.stateMachineArn(m.name),
          stateMachineArn(this, props.prefix, m.name),
        ]),
      ),
      [placeholders.tableName]: props.tableName,
      [placeholders.eventBusName]: props.eventBusName,
      [placeholders.clusterArn]: props.cluster.clusterArn,
      [placeholders.resourcePrefix]: props.prefix,
    };
  }

  /** What the Task states call, and nothing else; an integration not handled here fails synth. */
  private grantTasks(
    machine: StateMachine,
    spec: StateMachineSpec,
    definition: AslMachine,
    used: readonly string[],
    props: StateMachinesProps,
  ): void {
    const { resources, distributedMap } = taskResources(definition);
    const referenced = new Set(used);
    const functions = props.functions.filter(({ spec: f }) =>
      referenced.has(placeholders.functionArn(f.name)),
    );
    const machines = props.specs.filter((m) => referenced.has(placeholders.stateMachineArn(m.name)));
    const stack = Stack.of(this);

    for (const resource of new Set(resources)) {
      const integration = resource.replace(/^arn:aws:states:::/, '');
      if (integration === 'lambda:invoke' || integration === 'lambda:invoke.waitForTaskToken') {
        if (functions.length === 0)
          throw new Error(`state machine ${spec.name}: lambda:invoke names no function`);
        machine.addToRolePolicy(
          new PolicyStatement({
            actions: ['lambda:InvokeFunction'],
            resources: functions.map(({ fn }) => fn.functionArn),
          }),
        );
      } else if (integration.startsWith('states:startExecution')) {
        if (machines.length === 0)
          throw new Error(`state machine ${spec.name}: startExecution names no machine`);
        machine.addToRolePolicy(
          new PolicyStatement({
            actions: ['states:StartExecution'],
            resources: machines.map((m) => stateMachineArn(this, props.prefix, m.name)),
          }),
        );
        if (integration !== 'states:startExecution') {
          machine.addToRolePolicy(
            new PolicyStatement({
              actions: ['states:DescribeExecution', 'states:StopExecution'],
              resources: machines.map((m) => executionsArn(this, props.prefix, m.name)),
            }),
          );
          machine.addToRolePolicy(
            new PolicyStatement({
              actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
              resources: [
                stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EXECUTION_RULE }),
              ],
            }),
          );
        }
      } else if (integration === 'ecs:runTask.waitForTaskToken' || integration === 'ecs:runTask') {
        machine.addToRolePolicy(
          new PolicyStatement({
            actions: ['ecs:RunTask'],
            resources: props.engineTaskDefinitions.map((t) => t.taskDefinitionArn),
            conditions: { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } },
          }),
        );
        const roles = props.engineTaskDefinitions.flatMap((t) => [t.taskRole, t.obtainExecutionRole()]);
        machine.addToRolePolicy(
          new PolicyStatement({
            actions: ['iam:PassRole'],
            resources: roles.map((r) => r.roleArn),
            conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
          }),
        );
      } else {
        throw new Error(`state machine ${spec.name}: no permissions known for Task resource ${resource}`);
      }
    }
    if (distributedMap) {
      // A Distributed Map runs its items as child executions of this very machine.
      machine.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [stateMachineArn(this, props.prefix, spec.name)],
        }),
      );
      machine.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [mapRunExecutionsArn(this, props.prefix, spec.name)],
        }),
      );
    }
  }

  private suppress(machine: StateMachine, props: StateMachinesProps): void {
    acknowledge(
      machine.role,
      'AwsSolutions-IAM5',
      'Resource "*" only where AWS requires it: X-Ray trace upload and the CloudWatch Logs delivery ' +
        'actions Step Functions uses to write to its vended log group.',
      ['Resource::*'],
    );
    acknowledge(
      machine.role,
      'AwsSolutions-IAM5',
      'Execution names are chosen at run time (task id + attempt, or Distributed Map child ids); only ' +
        "executions of the project's own state machines are covered.",
      props.specs.flatMap((m) => {
        const name = resourceName(props.prefix, m.name);
        return [`execution:${name}:*`, `execution:${name}/*`].map((r) => `Resource::${nagArn('states', r)}`);
      }),
    );
  }
}
