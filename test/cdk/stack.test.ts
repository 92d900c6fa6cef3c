/**
 * The synthesized stack with the default configuration (IAM authorization, a new VPC), functions
 * bundled by esbuild as `npm run synth` does. One synthesis for the whole file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_CATALOG, engineFamily } from '../../engines/catalog.ts';
import { MAX_BODY_BYTES, ROUTES } from '../../functions/api/routes.ts';
import { RESOURCE_ENV, SETTINGS_ENV } from '../../functions/core/env.ts';
import { rulesFromManifest, STREAM_EVENT_FILTER } from '../../functions/core/rules.ts';
import { GSI1, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../../functions/core/table.ts';
import { ENGINE_TASK_ROLE_GRANTS, functionGrants, type Grant, renderGrants } from '../../functions/grants.ts';
import { FUNCTIONS, type FunctionSpec } from '../../functions/manifest.ts';
import { placeholders, placeholdersIn, readDefinition, STATE_MACHINES } from '../../statemachines/index.ts';
import {
  ACCOUNT,
  actionsOf,
  asList,
  dummyValue,
  policyStatements,
  REGION,
  type Resources,
  referencedId,
  resourcesOf,
  roleStatements,
  type Synthesized,
  synthesize,
} from './support.ts';

const PREFIX = 'tenant-rollout';
let synth: Synthesized;

beforeAll(() => {
  synth = synthesize({ bundle: true });
}, 180_000);

const resources = (type: string): Resources => resourcesOf(synth.template, type);

function functionNamed(name: string) {
  const found = Object.entries(resources('AWS::Lambda::Function')).find(
    ([, r]) => r.Properties?.FunctionName === `${PREFIX}-${name}`,
  );
  if (!found) throw new Error(`no Lambda function ${PREFIX}-${name} in the template`);
  const [id, resource] = found;
  return { id, props: resource.Properties!, roleId: referencedId(resource.Properties!.Role)! };
}

/** A statement as (action, resource, condition) triples, so merged or split statements compare equal. */
const triples = (statements: { Action?: unknown; Resource?: unknown; Condition?: unknown }[]) =>
  new Set(
    statements.flatMap((s) =>
      asList(s.Action as string | string[]).flatMap((action) =>
        asList(s.Resource).map((resource) => JSON.stringify([action, resource, s.Condition ?? null])),
      ),
    ),
  );
/** What Lambda itself does with the execution role, which no function's code calls (cdk/constructs/rollout-function.ts). */
const lambdaOwn = (triple: string) => /^\["(logs|xray|ec2|sqs):/.test(triple);
const declared = (grants: readonly Grant[]) =>
  triples(
    renderGrants(grants, synth.stack.functions.grantNames).map((s) => ({
      Action: s.actions,
      Resource: s.resources.map((r) => synth.stack.resolve(r)),
      ...(s.conditions ? { Condition: synth.stack.resolve(s.conditions) } : {}),
    })),
  );

function machineNamed(name: string) {
  const found = Object.entries(resources('AWS::StepFunctions::StateMachine')).find(
    ([, r]) => r.Properties?.StateMachineName === `${PREFIX}-${name}`,
  );
  if (!found) throw new Error(`no state machine ${PREFIX}-${name} in the template`);
  const [id, resource] = found;
  return { id, props: resource.Properties!, roleId: referencedId(resource.Properties!.RoleArn)! };
}

/** The deployed text of a state machine: the staged ASL with every substitution applied. */
function deployedDefinition(name: string): { staged: string; resolved: string; substitutions: string[] } {
  const { props } = machineNamed(name);
  const key = (props.DefinitionS3Location as { Key: string }).Key;
  const staged = readFileSync(join(synth.assemblyDir, `asset.${key}`), 'utf8');
  const subs = props.DefinitionSubstitutions as Record<string, unknown>;
  const resolved = staged.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, placeholder: string) =>
    placeholder in subs ? dummyValue(subs[placeholder], synth.template) : whole,
  );
  return { staged, resolved, substitutions: Object.keys(subs) };
}

describe('data', () => {
  it('builds the table from the shared definition: keys, gsi1, TTL, NEW_IMAGE stream, PITR, on-demand', () => {
    synth.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: GSI1.indexName,
            KeySchema: [
              { AttributeName: GSI1.partitionKey, KeyType: 'HASH' },
              { AttributeName: GSI1.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });
});

describe('functions', () => {
  it('has exactly one Lambda per manifest entry and no other', () => {
    const names = Object.values(resources('AWS::Lambda::Function')).map((r) => r.Properties?.FunctionName);
    expect(names.sort()).toEqual(FUNCTIONS.map((f) => `${PREFIX}-${f.name}`).sort());
  });

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    '%s runs Node 24 on arm64 with tracing, its manifest limits and its own log group',
    (name, spec) => {
      const { props } = functionNamed(name);
      expect(props).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        Timeout: spec.timeoutSeconds,
        MemorySize: spec.memoryMb,
      });
      const logGroupId = referencedId((props.LoggingConfig as { LogGroup: unknown }).LogGroup)!;
      expect(resources('AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(30);
      expect(props.VpcConfig).toBeDefined();
    },
  );

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    '%s gets the table name, its resource variables and where engines run',
    (name, spec) => {
      const env = (functionNamed(name).props.Environment as { Variables: Record<string, unknown> }).Variables;
      const expected = new Set<string>([
        RESOURCE_ENV.tableName,
        ...spec.env,
        SETTINGS_ENV.engineSubnets,
        SETTINGS_ENV.engineSecurityGroups,
      ]);
      for (const variable of expected) expect(env, variable).toHaveProperty(variable);
      const resourceVariables = new Set<string>(Object.values(RESOURCE_ENV));
      const extra = Object.keys(env).filter((k) => resourceVariables.has(k) && !expected.has(k));
      expect(extra, 'resource variables the manifest does not list').toEqual([]);
    },
  );

  it('points functions at the state machines and the bus by their deployed names', () => {
    const env = (functionNamed('supervisor').props.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(dummyValue(env[RESOURCE_ENV.taskStateMachineArn], synth.template)).toBe(
      `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${PREFIX}-task`,
    );
    const withBus = FUNCTIONS.find((f) => f.env.includes(RESOURCE_ENV.eventBusName))!;
    const busEnv = (functionNamed(withBus.name).props.Environment as { Variables: Record<string, unknown> })
      .Variables;
    expect(busEnv[RESOURCE_ENV.eventBusName]).toBe(PREFIX);
  });

  it('bundles each handler as ESM with a require banner, source map, and the AWS SDK left to the runtime', () => {
    const { props } = functionNamed('publisher');
    const key = (props.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const dir = join(synth.assemblyDir, `asset.${key}`);
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith('import { createRequire')).toBe(true);
    expect(code).toMatch(/from\s*"@aws-sdk\/client-eventbridge"/);
    expect(code).not.toContain('class EventBridgeClient');
    expect(code).toMatch(/export\s*\{[^}]*handler/);
  });

  it('keeps class names in minified bundles, so domain errors reach Step Functions by their own names', () => {
    const { props } = functionNamed('run-stage');
    const key = (props.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const code = readFileSync(join(synth.assemblyDir, `asset.${key}`, 'index.mjs'), 'utf8');

    // esbuild's keepNames: `static { __name(this, "IllegalTransition") }`, the helper itself minified.
    expect(code).toMatch(/[\w$]+\(this,\s*"IllegalTransition"\)/);
  });

  const tableActions = (fn: FunctionSpec) =>
    actionsOf(roleStatements(synth.template, functionNamed(fn.name).roleId));

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    '%s holds exactly the access its manifest entry names',
    (_name, spec) => {
      const actions = tableActions(spec);
      expect(actions.has('dynamodb:Query')).toBe(true);
      expect(actions.has('dynamodb:PutItem')).toBe(spec.table === 'RW');
      expect(actions.has('states:StartExecution')).toBe(spec.uses.includes('sfn'));
      expect(actions.has('states:SendTaskSuccess')).toBe(spec.uses.includes('sfn'));
      expect(actions.has('ecs:StopTask')).toBe(spec.uses.includes('ecs'));
      expect(actions.has('iam:PassRole')).toBe(spec.uses.includes('ecs'));
      expect(actions.has('events:PutEvents')).toBe(spec.uses.includes('events'));
      expect(actions.has('states:GetExecutionHistory')).toBe(spec.uses.includes('sfn-history'));
    },
  );

  it.each(FUNCTIONS.map((f) => [f.name, f] as const))(
    "%s's role allows exactly what functions/grants.ts declares for it (the local runtime enforces the same)",
    (_name, spec) => {
      const synthesized = [...triples(roleStatements(synth.template, functionNamed(spec.name).roleId))];

      const expected = declared(
        functionGrants(
          spec,
          STATE_MACHINES.map((m) => m.name),
        ),
      );

      expect(new Set(synthesized.filter((t) => !lambdaOwn(t)))).toEqual(expected);
    },
  );

  it("lets Lambda itself use a role only for its logs, traces, network interfaces and the stream's failure queue", () => {
    const own = FUNCTIONS.flatMap((spec) =>
      [...triples(roleStatements(synth.template, functionNamed(spec.name).roleId))].filter(lambdaOwn),
    ).map((t) => JSON.parse(t)[0] as string);

    expect([...new Set(own)].sort()).toEqual(
      [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:UnassignPrivateIpAddresses',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it("lets the api function read the project's executions and their histories, and ships it the web console", () => {
    const { props, roleId } = functionNamed('api');
    const statements = roleStatements(synth.template, roleId);
    const history = statements.find((s) =>
      asList(s.Action as string[]).includes('states:GetExecutionHistory'),
    )!;
    const targets = asList(history.Resource).map((r) => dummyValue(r, synth.template));
    expect(targets.sort()).toEqual(
      STATE_MACHINES.map((m) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:${PREFIX}-${m.name}:*`).sort(),
    );

    const key = (props.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const dir = join(synth.assemblyDir, `asset.${key}`);
    expect(readdirSync(join(dir, 'console')).sort()).toEqual([
      'console.css',
      'console.js',
      'favicon.svg',
      'index.html',
    ]);
    expect((props.Environment as { Variables: Record<string, string> }).Variables.ROLLOUT_CONSOLE_DIR).toBe(
      '/var/task/console',
    );
  });

  it('grants table access on the table and its one index by name, never index/*', () => {
    const statement = roleStatements(synth.template, functionNamed('api').roleId).find((s) =>
      asList(s.Action as string[]).includes('dynamodb:PutItem'),
    )!;
    const targets = asList(statement.Resource).map((r) => JSON.stringify(r));
    expect(targets).toHaveLength(2);
    expect(targets.some((t) => t.includes(`/index/${GSI1.indexName}`))).toBe(true);
    expect(targets.some((t) => t.includes('index/*'))).toBe(false);
  });
});

describe('state machines', () => {
  it.each(STATE_MACHINES.map((m) => [m.name, m] as const))(
    '%s logs at ALL to a vended log group and traces with X-Ray',
    (name) => {
      const { props } = machineNamed(name);
      expect(props).toMatchObject({
        StateMachineType: 'STANDARD',
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
        TracingConfiguration: { Enabled: true },
      });
      const logGroupId = referencedId(
        (
          props.LoggingConfiguration as {
            Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
          }
        ).Destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn,
      )!;
      expect(resources('AWS::Logs::LogGroup')[logGroupId]?.Properties?.LogGroupName).toBe(
        `/aws/vendedlogs/states/${PREFIX}-${name}`,
      );
    },
  );

  it.each(STATE_MACHINES.map((m) => [m.name, m] as const))(
    '%s is deployed from its ASL file with every placeholder substituted',
    (name, spec) => {
      const { staged, resolved, substitutions } = deployedDefinition(name);
      expect(staged).toBe(readDefinition(spec));
      expect(substitutions.sort()).toEqual(placeholdersIn(readDefinition(spec)).sort());
      expect(resolved).not.toContain('${');
      const declared = JSON.parse(readDefinition(spec)).TimeoutSeconds;
      expect(declared).toBeGreaterThan(0);
      expect(JSON.parse(resolved).TimeoutSeconds).toBe(declared);
    },
  );

  it.each(STATE_MACHINES.map((m) => [m.name] as const))('%s is valid ASL once deployed', (name) => {
    const result = aslValidator(JSON.parse(deployedDefinition(name).resolved), {
      checkPaths: true,
      checkArn: true,
    });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('substitutes function placeholders with the ARN of the function of that name', () => {
    const { props } = machineNamed('plan');
    const subs = props.DefinitionSubstitutions as Record<string, unknown>;
    expect(referencedId(subs[placeholders.functionArn('start-plan')])).toBe(functionNamed('start-plan').id);
  });

  it.each(STATE_MACHINES.map((m) => [m.name, m] as const))(
    '%s may invoke exactly the functions its definition names',
    (name, spec) => {
      const text = readDefinition(spec);
      const named = FUNCTIONS.filter((f) => placeholdersIn(text).includes(placeholders.functionArn(f.name)));
      const statements = roleStatements(synth.template, machineNamed(name).roleId);
      const invoke = statements.filter((s) => asList(s.Action as string[]).includes('lambda:InvokeFunction'));
      const targets = invoke.flatMap((s) => asList(s.Resource)).map((r) => referencedId(r));
      expect(targets.sort()).toEqual(named.map((f) => functionNamed(f.name).id).sort());
    },
  );

  it('lets the plan machine run its Distributed Map and start task executions synchronously', () => {
    const statements = roleStatements(synth.template, machineNamed('plan').roleId);
    const resolve = (action: string) =>
      statements
        .filter((s) => asList(s.Action as string[]).includes(action))
        .flatMap((s) => asList(s.Resource))
        .map((r) => dummyValue(r, synth.template));
    const scope = `${REGION}:${ACCOUNT}`;
    expect(resolve('states:StartExecution').sort()).toEqual(
      [
        `arn:aws:states:${scope}:stateMachine:${PREFIX}-plan`,
        `arn:aws:states:${scope}:stateMachine:${PREFIX}-task`,
      ].sort(),
    );
    expect(resolve('states:DescribeExecution').sort()).toEqual(
      [
        `arn:aws:states:${scope}:execution:${PREFIX}-plan/*`,
        `arn:aws:states:${scope}:execution:${PREFIX}-task:*`,
      ].sort(),
    );
    expect(resolve('events:PutRule')).toEqual([
      `arn:aws:events:${scope}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
    ]);
    expect(actionsOf(statements).has('ecs:RunTask')).toBe(false);
  });

  it('lets the task machine run engine tasks in the cluster and pass only their roles', () => {
    const statements = roleStatements(synth.template, machineNamed('task').roleId);
    const runTask = statements.find((s) => asList(s.Action as string[]).includes('ecs:RunTask'))!;
    const taskDefinitionIds = Object.keys(resources('AWS::ECS::TaskDefinition'));
    expect(asList(runTask.Resource).map((r) => referencedId(r))).toEqual(taskDefinitionIds);
    expect(runTask.Condition).toMatchObject({ ArnEquals: { 'ecs:cluster': expect.anything() } });
    const passRole = statements.find((s) => asList(s.Action as string[]).includes('iam:PassRole'))!;
    expect(passRole.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
    });
    expect(actionsOf(statements).has('states:StartExecution')).toBe(false);
  });

  it.each(STATE_MACHINES.map((m) => [m.name] as const))(
    '%s has alarms on failed, throttled, aborted and timed-out executions',
    (name) => {
      const { id } = machineNamed(name);
      for (const metric of [
        'ExecutionsFailed',
        'ExecutionThrottled',
        'ExecutionsAborted',
        'ExecutionsTimedOut',
      ]) {
        synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/States',
          MetricName: metric,
          Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: id } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
    },
  );
});

describe('engines', () => {
  it.each(ENGINE_CATALOG.map((e) => [e.service, e] as const))(
    '%s has a Fargate task definition from the catalog',
    (_service, engine) => {
      synth.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        // Prefixed: two stacks in one region never run each other's engines.
        Family: engineFamily(PREFIX, engine.service),
        Cpu: String(engine.cpu),
        Memory: String(engine.memoryMb),
        NetworkMode: 'awsvpc',
        RequiresCompatibilities: ['FARGATE'],
        RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        ContainerDefinitions: [
          Match.objectLike({
            Name: engine.containerName,
            PortMappings: [Match.objectLike({ ContainerPort: engine.port })],
            Environment: Match.arrayWith([
              { Name: 'PORT', Value: String(engine.port) },
              { Name: 'HOST', Value: '0.0.0.0' },
            ]),
            LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          }),
        ],
      });
    },
  );

  it('builds engine images from the repository root with only what the Dockerfile copies staged', () => {
    const manifest = JSON.parse(
      readFileSync(join(synth.assemblyDir, 'TenantRollout.assets.json'), 'utf8'),
    ) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images.map((i) => i.source.dockerFile).sort()).toEqual(
      ENGINE_CATALOG.map((e) => e.dockerfile).sort(),
    );
    for (const image of images) {
      const context = join(synth.assemblyDir, image.source.directory);
      expect(existsSync(join(context, image.source.dockerFile))).toBe(true);
      expect(existsSync(join(context, 'package-lock.json'))).toBe(true);
      expect(existsSync(join(context, 'node_modules'))).toBe(false);
      expect(existsSync(join(context, 'functions'))).toBe(false);
      expect(image.source.platform).toBe('linux/arm64');
    }
  });

  it('lets an engine hand off to the task machine and nothing else', () => {
    const taskRoleId = referencedId(
      Object.values(resources('AWS::ECS::TaskDefinition'))[0]!.Properties!.TaskRoleArn,
    )!;
    const statements = roleStatements(synth.template, taskRoleId);
    expect(triples(statements)).toEqual(declared(ENGINE_TASK_ROLE_GRANTS));
    expect([...actionsOf(statements)].sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    expect(statements.flatMap((s) => asList(s.Resource)).map((r) => dummyValue(r, synth.template))).toEqual([
      `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${PREFIX}-task`,
    ]);
  });

  it('runs a cluster with container insights in a new two-AZ VPC with private subnets', () => {
    synth.template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: PREFIX,
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    synth.template.resourceCountIs('AWS::EC2::VPC', 1);
    synth.template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false }, 2);
    synth.template.resourceCountIs('AWS::EC2::FlowLog', 1);
  });

  it('opens engine ports only to the functions security group', () => {
    const ingress = Object.values(resources('AWS::EC2::SecurityGroupIngress'));
    expect(ingress.map((i) => i.Properties?.FromPort).sort()).toEqual(
      ENGINE_CATALOG.map((e) => e.port).sort(),
    );
    for (const rule of ingress) {
      expect(rule.Properties?.SourceSecurityGroupId).toBeDefined();
      expect(rule.Properties?.CidrIp).toBeUndefined();
    }
  });
});

describe('api', () => {
  it('has one route per route-table entry, all to the api function', () => {
    const routes = Object.values(resources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties?.RouteKey).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path}`).sort(),
    );
    const integrations = Object.values(resources('AWS::ApiGatewayV2::Integration'));
    expect(integrations).toHaveLength(1);
    expect(referencedId(integrations[0]!.Properties?.IntegrationUri)).toBe(functionNamed('api').id);
  });

  it('guards bearer routes with IAM when no JWT issuer is configured and leaves auth-none routes open', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    const byKey = new Map(
      Object.values(resources('AWS::ApiGatewayV2::Route')).map((r) => [
        r.Properties?.RouteKey,
        r.Properties?.AuthorizationType,
      ]),
    );
    for (const route of ROUTES) {
      expect(byKey.get(`${route.method} ${route.path}`), `${route.method} ${route.path}`).toBe(
        route.auth === 'none' ? 'NONE' : 'AWS_IAM',
      );
    }
  });

  it('writes access logs and throttles the default stage', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });
});

describe('api edge', () => {
  // AWS managed policies: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
  const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
  const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

  it('puts a distribution in front of the HTTP API that caches nothing and forwards every method and header but Host', () => {
    const [distribution, ...others] = Object.values(resources('AWS::CloudFront::Distribution'));
    const config = distribution?.Properties?.DistributionConfig as Record<string, Record<string, unknown>>;
    const origins = config.Origins as unknown as { DomainName: unknown; CustomOriginConfig: unknown }[];

    expect(others).toHaveLength(0);
    expect(origins).toHaveLength(1);
    const [httpApiId] = Object.keys(resources('AWS::ApiGatewayV2::Api'));
    expect(JSON.stringify(origins[0]!.DomainName)).toContain(`{"Ref":"${httpApiId}"},".execute-api."`);
    expect(origins[0]!.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    expect(config.DefaultCacheBehavior).toMatchObject({
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      ViewerProtocolPolicy: 'https-only',
    });
  });

  it('runs the body gate on every viewer request, with the API body limit in its code', () => {
    const [[functionId, fn]] = Object.entries(resources('AWS::CloudFront::Function')) as [
      [string, Resources[string]],
    ];
    const [distribution] = Object.values(resources('AWS::CloudFront::Distribution'));
    const config = distribution?.Properties?.DistributionConfig as Record<string, Record<string, unknown>>;
    const behavior = config.DefaultCacheBehavior;
    const associations = behavior?.FunctionAssociations as { EventType: string; FunctionARN: unknown }[];

    expect(fn.Properties?.FunctionConfig).toMatchObject({ Runtime: 'cloudfront-js-2.0' });
    expect(fn.Properties?.FunctionCode).toContain(`var MAX_BODY_BYTES = ${MAX_BODY_BYTES};`);
    expect(fn.Properties?.FunctionCode).toContain('function handler(event)');
    expect(associations).toHaveLength(1);
    expect(associations[0]!.EventType).toBe('viewer-request');
    expect(JSON.stringify(associations[0]!.FunctionARN)).toContain(functionId);
  });

  it('gives the distribution as the API URL and the execute-api endpoint as its origin URL', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [distributionId] = Object.keys(resources('AWS::CloudFront::Distribution'));
    const [httpApiId] = Object.keys(resources('AWS::ApiGatewayV2::Api'));

    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain(`"${distributionId}","DomainName"`);
    expect(outputs.ApiOriginUrl?.Value).toEqual({ 'Fn::GetAtt': [httpApiId, 'ApiEndpoint'] });
  });
});

describe('events', () => {
  it('creates the project bus', () => {
    synth.template.hasResourceProperties('AWS::Events::EventBus', { Name: PREFIX });
  });

  it('has one rule per event trigger, on the bus its source publishes to', () => {
    const [clusterId] = Object.keys(resources('AWS::ECS::Cluster'));
    const { events } = rulesFromManifest(FUNCTIONS, {
      clusterArn: { 'Fn::GetAtt': [clusterId, 'Arn'] } as unknown as string,
    });
    expect(events.length).toBeGreaterThan(0);
    const [busId] = Object.keys(resources('AWS::Events::EventBus'));
    for (const rule of events) {
      synth.template.hasResourceProperties('AWS::Events::Rule', {
        Name: `${PREFIX}-${rule.name}`,
        EventPattern: rule.pattern,
        EventBusName: rule.eventBusName === 'project' ? { Ref: busId } : Match.absent(),
        Targets: [
          Match.objectLike({ Arn: { 'Fn::GetAtt': [functionNamed(rule.target.function).id, 'Arn'] } }),
        ],
      });
    }
  });

  it('turns "Rollout Plan Requested" on the project bus into plans', () => {
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Rollout Plan Requested'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionNamed('plan-requested').id, 'Arn'] } })],
    });
  });

  it('runs every scheduled function on its rate', () => {
    const { schedules } = rulesFromManifest(FUNCTIONS, { clusterArn: 'unused' });
    expect(schedules.map((s) => s.target.function)).toContain('supervisor');
    for (const schedule of schedules) {
      synth.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: `rate(${schedule.rateMinutes} minute${schedule.rateMinutes === 1 ? '' : 's'})`,
        Targets: [
          Match.objectLike({ Arn: { 'Fn::GetAtt': [functionNamed(schedule.target.function).id, 'Arn'] } }),
        ],
      });
    }
  });

  it('feeds inserted event items from the table stream to the publisher, bisecting and parking failures', () => {
    const streamFunctions = FUNCTIONS.filter((f) => f.trigger?.kind === 'stream');
    expect(streamFunctions.map((f) => f.name)).toEqual(['publisher']);
    const [queueId] = Object.keys(resources('AWS::SQS::Queue'));
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionNamed('publisher').id },
      EventSourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(STREAM_EVENT_FILTER) }] },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });
});

describe('iam', () => {
  /** Actions AWS authorizes only on Resource "*" (or, for ListTasks, on a condition). */
  const STAR_RESOURCE_ACTIONS = new Set([
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
    'ecr:GetAuthorizationToken',
    'dynamodb:ListStreams',
    'ecs:ListTasks',
  ]);

  it('has no statement with a wildcard action', () => {
    const wildcards = policyStatements(synth.template)
      .filter(({ statement }) => asList(statement.Action as string[]).some((a) => a.includes('*')))
      .map(({ id, statement }) => `${id}: ${JSON.stringify(statement.Action)}`);
    expect(wildcards).toEqual([]);
  });

  it('uses Resource "*" only for actions AWS cannot scope', () => {
    const offenders = policyStatements(synth.template)
      .filter(({ statement }) => asList(statement.Resource).includes('*'))
      .flatMap(({ id, statement }) =>
        asList(statement.Action as string[])
          .filter((a) => !STAR_RESOURCE_ACTIONS.has(a))
          .map((a) => `${id}: ${a}`),
      );
    expect(offenders).toEqual([]);
  });

  it('limits ecs:ListTasks to the project cluster by condition', () => {
    const listTasks = policyStatements(synth.template).filter(({ statement }) =>
      asList(statement.Action as string[]).includes('ecs:ListTasks'),
    );
    expect(listTasks.length).toBeGreaterThan(0);
    for (const { statement } of listTasks) {
      expect(statement.Condition).toMatchObject({ ArnEquals: { 'ecs:cluster': expect.anything() } });
    }
  });
});
