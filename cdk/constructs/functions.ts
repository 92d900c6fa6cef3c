/**
 * One Lambda per entry of functions/manifest.ts, with exactly the access functions/grants.ts derives
 * from its entry (table RO/RW, `uses`, a stream trigger) and the resource variables in `env`.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { ICluster, TaskDefinition } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CONSOLE_DIR_ENV } from '../../functions/api/console-assets.ts';
import { RESOURCE_ENV, SETTINGS_ENV } from '../../functions/core/env.ts';
import { functionGrants, type GrantNames, renderGrants } from '../../functions/grants.ts';
import type { FunctionSpec } from '../../functions/manifest.ts';
import { pascal, type StateMachineSpec } from '../../statemachines/index.ts';
import { acknowledge, nagArn } from '../nag.ts';
import { eventBusArn, executionsArn, REPO_ROOT, resourceName, stateMachineArn } from '../names.ts';
import { RolloutFunction } from './rollout-function.ts';

export interface FunctionsProps {
  prefix: string;
  functions: readonly FunctionSpec[];
  /** The project's state machines, known by name (they are created after the functions). */
  stateMachines: readonly StateMachineSpec[];
  table: ITable;
  eventBusName: string;
  cluster: ICluster;
  /** The cluster's name as plain text. */
  clusterName: string;
  /** Engine task definitions the `ecs` functions may run, stop and describe. */
  engineTaskDefinitions: readonly TaskDefinition[];
  vpc: IVpc;
  subnets: SubnetSelection;
  securityGroups: readonly ISecurityGroup[];
  /** Where engines run, handed to the functions that launch them. */
  engineNetwork: { subnetIds: readonly string[]; securityGroupIds: readonly string[] };
  logRetention: RetentionDays;
  /** Deployment settings (SETTINGS_ENV names) for every function. */
  settingsEnv: Readonly<Record<string, string>>;
  /** Powertools settings (TELEMETRY_ENV names) for every function. */
  telemetryEnv: Readonly<Record<string, string>>;
}

type ResourceKey = keyof typeof RESOURCE_ENV;

/** Where Lambda unpacks a function's bundle (LAMBDA_TASK_ROOT). */
const TASK_ROOT = '/var/task';
/** The console ships inside the api bundle, built by the same npm script `npm start` uses. */
const bundleConsole = (outputDir: string) => [
  `cd "${REPO_ROOT}" && npm run --silent build:console -- --outdir "${outputDir}/console"`,
];

export class Functions extends Construct {
  public readonly byName: ReadonlyMap<string, RolloutFunction>;
  /** How this stack names the resources of functions/grants.ts. */
  public readonly grantNames: GrantNames;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const names = props.functions.map((f) => f.name);
    if (new Set(names).size !== names.length)
      throw new Error('functions/manifest.ts repeats a function name');
    const machineArn = (machine: string) => {
      if (!props.stateMachines.some((m) => m.name === machine)) {
        throw new Error(`no state machine named ${machine} in statemachines/index.ts`);
      }
      return stateMachineArn(this, props.prefix, machine);
    };
    const resourceValues: Record<ResourceKey, string> = {
      tableName: props.table.tableName,
      planStateMachineArn: machineArn('plan'),
      wavesStateMachineArn: machineArn('waves'),
      taskStateMachineArn: machineArn('task'),
      rollbackStateMachineArn: machineArn('rollback'),
      planOperationStateMachineArn: machineArn('plan-operation'),
      eventBusName: props.eventBusName,
      clusterArn: props.cluster.clusterArn,
    };
    const envValue = new Map(
      (Object.entries(RESOURCE_ENV) as [ResourceKey, string][]).map(([key, env]) => [
        env,
        resourceValues[key],
      ]),
    );

    const machines = props.stateMachines.map((m) => m.name);
    const table = props.table;
    if (!table.tableStreamArn) throw new Error('the table has no stream (functions/core/table.ts)');
    this.grantNames = {
      table: table.tableArn,
      index: (name) => `${table.tableArn}/index/${name}`,
      tableStream: table.tableStreamArn,
      stateMachine: machineArn,
      executions: (machine) => executionsArn(this, props.prefix, machine),
      eventBus: eventBusArn(this, props.eventBusName),
      engineTaskDefinitions: props.engineTaskDefinitions.map((t) => t.taskDefinitionArn),
      clusterTasks: Stack.of(this).formatArn({
        service: 'ecs',
        resource: 'task',
        resourceName: `${props.clusterName}/*`,
      }),
      engineRoles: props.engineTaskDefinitions.flatMap((t) => [
        t.taskRole.roleArn,
        t.obtainExecutionRole().roleArn,
      ]),
      cluster: props.cluster.clusterArn,
      alarms: Stack.of(this).formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    };

    const byName = new Map<string, RolloutFunction>();
    for (const spec of props.functions) {
      // One deployment configuration for all functions (deploymentSettings() reads it in each); the engine
      // network is what the stage step writes into the ecs:runTask launch.
      const environment: Record<string, string> = {
        ...props.settingsEnv,
        ...props.telemetryEnv,
        [SETTINGS_ENV.engineSubnets]: props.engineNetwork.subnetIds.join(','),
        [SETTINGS_ENV.engineSecurityGroups]: props.engineNetwork.securityGroupIds.join(','),
      };
      if (spec.assets === 'console') environment[CONSOLE_DIR_ENV] = `${TASK_ROOT}/console`;
      for (const name of spec.env) {
        const value = envValue.get(name);
        if (value === undefined) throw new Error(`function ${spec.name}: no value for environment ${name}`);
        environment[name] = value;
      }
      const fn = new RolloutFunction(this, pascal(spec.name), {
        functionName: resourceName(props.prefix, spec.name),
        entry: spec.entry,
        description: spec.description,
        timeout: Duration.seconds(spec.timeoutSeconds),
        memorySize: spec.memoryMb,
        environment,
        logRetention: props.logRetention,
        // Health checks and broadcasts reach engines on their private addresses.
        vpc: props.vpc,
        vpcSubnets: props.subnets,
        securityGroups: [...props.securityGroups],
        ...(spec.assets === 'console' ? { afterBundling: bundleConsole } : {}),
      });
      for (const statement of renderGrants(functionGrants(spec, machines), this.grantNames)) {
        fn.addToRolePolicy(new PolicyStatement(statement));
      }
      this.acknowledgeWildcards(fn, spec, props);
      byName.set(spec.name, fn);
    }
    this.byName = byName;
  }

  /** The function built from the manifest entry `name`. */
  get(name: string): RolloutFunction {
    const fn = this.byName.get(name);
    if (!fn) throw new Error(`no function named ${name} in functions/manifest.ts`);
    return fn;
  }

  private acknowledgeWildcards(fn: RolloutFunction, spec: FunctionSpec, props: FunctionsProps): void {
    const uses = new Set(spec.uses);
    const role = fn.executionRole;
    acknowledge(
      role,
      'AwsSolutions-IAM5',
      'Resource "*" only where AWS offers no resource-level permission: X-Ray trace upload, the VPC ' +
        'network-interface actions Lambda performs with the execution role, ecs:ListTasks (limited by ' +
        'the ecs:cluster condition) and, for the stream consumer, dynamodb:ListStreams.',
      ['Resource::*'],
    );
    if (uses.has('sfn') || uses.has('sfn-history')) {
      acknowledge(
        role,
        'AwsSolutions-IAM5',
        "Execution names are chosen at run time (task id + attempt); only executions of the project's " +
          'own state machines are covered.',
        props.stateMachines.map(
          (m) => `Resource::${nagArn('states', `execution:${resourceName(props.prefix, m.name)}:*`)}`,
        ),
      );
    }
    if (uses.has('ecs')) {
      acknowledge(
        role,
        'AwsSolutions-IAM5',
        'ECS task ids exist only once an engine runs; only tasks in the project cluster are covered.',
        [`Resource::${nagArn('ecs', `task/${props.clusterName}/*`)}`],
      );
    }
    if (uses.has('alarms')) {
      acknowledge(
        role,
        'AwsSolutions-IAM5',
        "A plan names its CloudWatch alarms at run time; the role may only read alarms (DescribeAlarms) in the stack's account and region.",
        [`Resource::${nagArn('cloudwatch', 'alarm:*')}`],
      );
    }
  }
}
