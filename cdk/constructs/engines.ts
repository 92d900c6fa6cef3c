/**
 * Where engines run: the VPC (new, or an existing one by id), the ECS cluster, the engines'
 * security group and one Fargate task definition per engine catalog entry.
 */
import { dirname } from 'node:path';
import { IgnoreMode, RemovalPolicy } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  GatewayVpcEndpointAwsService,
  type IVpc,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type EngineSpec, engineFamily } from '../../engines/catalog.ts';
import { ENGINE_TASK_ROLE_GRANTS, renderGrants } from '../../functions/grants.ts';
import { acknowledge } from '../nag.ts';
import { REPO_ROOT, resourceName } from '../names.ts';

export interface EnginesProps {
  prefix: string;
  catalog: readonly EngineSpec[];
  /** An existing VPC (looked up, so the stack needs an account and region); a new one when absent. */
  vpcId?: string;
  logRetention: RetentionDays;
  /** The ARN of a project state machine by name: the engines hand off to one (functions/grants.ts). */
  stateMachineArn: (machine: string) => string;
}

export class Engines extends Construct {
  public readonly vpc: IVpc;
  public readonly subnets: SubnetSelection;
  public readonly cluster: Cluster;
  /** The cluster's name as plain text (ARN patterns of its tasks are built from it). */
  public readonly clusterName: string;
  /** Attached to every engine task. */
  public readonly securityGroup: SecurityGroup;
  /** Attached to the functions; the only source allowed into the engines' ports. */
  public readonly clientSecurityGroup: SecurityGroup;
  public readonly taskDefinitions: ReadonlyMap<string, FargateTaskDefinition>;
  public readonly logGroups: ReadonlyMap<string, LogGroup>;

  constructor(scope: Construct, id: string, props: EnginesProps) {
    super(scope, id);
    const services = props.catalog.map((e) => e.service);
    if (new Set(services).size !== services.length) throw new Error('engine catalog repeats a service');

    this.vpc = props.vpcId ? Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId }) : this.newVpc(props);
    this.subnets = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
    this.clusterName = props.prefix;
    this.cluster = new Cluster(this, 'Cluster', {
      vpc: this.vpc,
      clusterName: this.clusterName,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    this.securityGroup = new SecurityGroup(this, 'EngineSecurityGroup', {
      vpc: this.vpc,
      description: 'Rollout engines: reachable from the rollout functions only',
      allowAllOutbound: true,
    });
    this.clientSecurityGroup = new SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'Rollout functions: health checks and broadcasts to engines and tenant endpoints',
      allowAllOutbound: true,
    });

    const taskDefinitions = new Map<string, FargateTaskDefinition>();
    const logGroups = new Map<string, LogGroup>();
    for (const engine of props.catalog) {
      this.securityGroup.addIngressRule(
        this.clientSecurityGroup,
        Port.tcp(engine.port),
        `${engine.service} engine port from the rollout functions`,
      );
      const { taskDefinition, logGroup } = this.taskDefinition(engine, props);
      taskDefinitions.set(engine.service, taskDefinition);
      logGroups.set(engine.service, logGroup);
    }
    this.taskDefinitions = taskDefinitions;
    this.logGroups = logGroups;
  }

  private newVpc(props: EnginesProps): Vpc {
    const flowLogs = new LogGroup(this, 'VpcFlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const vpc = new Vpc(this, 'Vpc', {
      vpcName: props.prefix,
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      flowLogs: { all: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs) } },
    });
    // Table traffic from the functions stays off the NAT gateway.
    vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    return vpc;
  }

  private taskDefinition(engine: EngineSpec, props: EnginesProps) {
    const taskDefinition = new FargateTaskDefinition(this, `${engine.service}TaskDefinition`, {
      family: engineFamily(props.prefix, engine.service),
      cpu: engine.cpu,
      memoryLimitMiB: engine.memoryMb,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = new LogGroup(this, `${engine.service}Logs`, {
      logGroupName: `/ecs/${resourceName(props.prefix, engine.service)}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    taskDefinition.addContainer(engine.containerName, {
      containerName: engine.containerName,
      image: ContainerImage.fromAsset(REPO_ROOT, {
        file: engine.dockerfile,
        platform: Platform.LINUX_ARM64,
        // The build context is the repository root (the Dockerfile copies the lockfile); stage only
        // what the image needs, so synth copies a few files and never the whole checkout.
        ignoreMode: IgnoreMode.DOCKER,
        exclude: ['**', '!package.json', '!package-lock.json', `!${dirname(engine.dockerfile)}/**`],
      }),
      portMappings: [{ containerPort: engine.port }],
      environment: { PORT: String(engine.port), HOST: '0.0.0.0' },
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: engine.service }),
      essential: true,
    });
    for (const statement of renderGrants(ENGINE_TASK_ROLE_GRANTS, { stateMachine: props.stateMachineArn })) {
      taskDefinition.addToTaskRolePolicy(new PolicyStatement(statement));
    }
    acknowledge(
      taskDefinition,
      'AwsSolutions-ECS2',
      'Only PORT and HOST are set as plain environment variables; they are not secrets.',
    );
    acknowledge(
      taskDefinition.obtainExecutionRole(),
      'AwsSolutions-IAM5',
      'ecr:GetAuthorizationToken has no resource-level permission; AWS requires Resource "*" for it.',
      ['Resource::*'],
    );
    return { taskDefinition, logGroup };
  }
}
