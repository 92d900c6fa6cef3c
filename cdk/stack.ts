/**
 * The one stack: every resource the design names, composed from constructs that each do one job.
 * Everything is derived from the shared declarations (function manifest, ASL files, table
 * definition, engine catalog, route table); this file only wires them together.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ENGINE_CATALOG } from '../engines/catalog.ts';
import { MAX_BODY_BYTES, ROUTES } from '../functions/api/routes.ts';
import { FUNCTIONS } from '../functions/manifest.ts';
import { STATE_MACHINES } from '../statemachines/index.ts';
import { type RolloutConfig, telemetryEnv } from './config.ts';
import { Alarms } from './constructs/alarms.ts';
import { Api } from './constructs/api.ts';
import { ApiEdge } from './constructs/api-edge.ts';
import { RolloutDashboard } from './constructs/dashboard.ts';
import { Data } from './constructs/data.ts';
import { Engines } from './constructs/engines.ts';
import { Events } from './constructs/events.ts';
import { Functions } from './constructs/functions.ts';
import { StateMachines } from './constructs/state-machines.ts';
import { stateMachineArn } from './names.ts';

export interface RolloutStackProps extends StackProps {
  config: RolloutConfig;
}

export class RolloutStack extends Stack {
  public readonly data: Data;
  public readonly engines: Engines;
  public readonly functions: Functions;
  public readonly stateMachines: StateMachines;
  public readonly events: Events;
  public readonly api: Api;
  public readonly apiEdge: ApiEdge;
  public readonly alarms: Alarms;
  public readonly dashboard: RolloutDashboard;

  constructor(scope: Construct, id: string, props: RolloutStackProps) {
    super(scope, id, props);
    const { config } = props;
    const httpFunctions = FUNCTIONS.filter((f) => f.trigger?.kind === 'http');
    if (httpFunctions.length !== 1) {
      throw new Error(
        `functions/manifest.ts must have exactly one http function, has ${httpFunctions.length}`,
      );
    }

    this.data = new Data(this, 'Data', { deletionProtection: config.deletionProtection });
    this.engines = new Engines(this, 'Engines', {
      prefix: config.prefix,
      catalog: ENGINE_CATALOG,
      ...(config.vpcId === undefined ? {} : { vpcId: config.vpcId }),
      logRetention: config.logRetention,
      stateMachineArn: (machine) => stateMachineArn(this, config.prefix, machine),
    });
    const engineTaskDefinitions = [...this.engines.taskDefinitions.values()];
    this.functions = new Functions(this, 'Functions', {
      prefix: config.prefix,
      functions: FUNCTIONS,
      stateMachines: STATE_MACHINES,
      table: this.data.table,
      eventBusName: config.eventBusName,
      cluster: this.engines.cluster,
      clusterName: this.engines.clusterName,
      engineTaskDefinitions,
      vpc: this.engines.vpc,
      subnets: this.engines.subnets,
      securityGroups: [this.engines.clientSecurityGroup],
      engineNetwork: {
        subnetIds: this.engines.vpc.selectSubnets(this.engines.subnets).subnetIds,
        securityGroupIds: [this.engines.securityGroup.securityGroupId],
      },
      logRetention: config.logRetention,
      settingsEnv: config.settingsEnv,
      telemetryEnv: telemetryEnv(config),
    });
    this.stateMachines = new StateMachines(this, 'StateMachines', {
      prefix: config.prefix,
      specs: STATE_MACHINES,
      functions: FUNCTIONS.map((spec) => ({ spec, fn: this.functions.get(spec.name) })),
      tableName: this.data.table.tableName,
      eventBusName: config.eventBusName,
      cluster: this.engines.cluster,
      engineTaskDefinitions,
      logRetention: config.logRetention,
    });
    this.events = new Events(this, 'Events', {
      prefix: config.prefix,
      busName: config.eventBusName,
      functions: FUNCTIONS,
      functionNamed: (name) => this.functions.get(name),
      table: this.data.table,
      clusterArn: this.engines.cluster.clusterArn,
    });
    this.api = new Api(this, 'Api', {
      prefix: config.prefix,
      routes: ROUTES,
      handler: this.functions.get(httpFunctions[0]!.name),
      ...(config.auth === undefined ? {} : { auth: config.auth }),
      throttle: config.throttle,
      logRetention: config.logRetention,
    });
    this.apiEdge = new ApiEdge(this, 'ApiEdge', { httpApi: this.api.httpApi, maxBodyBytes: MAX_BODY_BYTES });
    this.alarms = new Alarms(this, 'Alarms', {
      prefix: config.prefix,
      stateMachines: this.stateMachines.byName,
      failureQueues: new Map([['stream-publisher', this.events.streamFailures]]),
    });
    this.dashboard = new RolloutDashboard(this, 'Dashboard', {
      prefix: config.prefix,
      metricsNamespace: config.telemetry.metricsNamespace,
      serviceName: config.prefix,
      functions: this.functions.byName,
      stateMachines: this.stateMachines.byName,
      table: this.data.table,
      deadLetterQueue: this.events.streamFailures,
      otherAlarms: this.alarms.alarms,
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.apiEdge.url,
      description: 'Base URL of the API: the CloudFront distribution that gates request bodies',
    });
    new CfnOutput(this, 'ApiOriginUrl', {
      value: this.api.url,
      description: 'The HTTP API behind it (execute-api): what SigV4 callers sign for in IAM mode',
    });
    new CfnOutput(this, 'ApiAuthorization', { value: this.api.authorizationType });
    new CfnOutput(this, 'TableName', { value: this.data.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'ClusterName', { value: this.engines.cluster.clusterName });
    for (const [name, machine] of this.stateMachines.byName) {
      new CfnOutput(this, `${name}StateMachineArn`, { value: machine.stateMachineArn });
    }
  }
}
