/**
 * Context → configuration, and what a non-default configuration changes in the template
 * (JWT authorizer, names, retention, deletion protection, throttling, function settings, existing VPC).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTEXT_DEFAULTS, configFromContext } from '../../cdk/config.ts';
import { ENGINE_CATALOG } from '../../engines/catalog.ts';
import { ROUTES } from '../../functions/api/routes.ts';
import { SETTINGS_ENV } from '../../functions/core/env.ts';
import { FUNCTIONS } from '../../functions/manifest.ts';
import { resourcesOf, type Synthesized, synthesize } from './support.ts';

/** 40 characters: the longest prefix configFromContext accepts. */
const LONGEST_PREFIX = 'acme-rollout-0123456789-0123456789-abcde';

const read = (context: Record<string, unknown>) => (key: string) => context[key];

describe('configFromContext', () => {
  it('falls back to the documented defaults', () => {
    const config = configFromContext(read({}));
    expect(config).toEqual({
      prefix: CONTEXT_DEFAULTS.prefix,
      logRetention: 30,
      deletionProtection: true,
      eventBusName: CONTEXT_DEFAULTS.prefix,
      throttle: { rateLimit: 50, burstLimit: 100 },
      settingsEnv: {},
      telemetry: { metricsNamespace: 'TenantRollout', logLevel: 'INFO' },
    });
  });

  it('reads -c strings the same as cdk.json values', () => {
    const fromCli = configFromContext(
      read({
        deletionProtection: 'false',
        logRetentionDays: '7',
        throttleRate: '10',
        healthMaxAttempts: '4',
      }),
    );
    const fromJson = configFromContext(
      read({ deletionProtection: false, logRetentionDays: 7, throttleRate: 10, healthMaxAttempts: 4 }),
    );
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.settingsEnv).toEqual({ [SETTINGS_ENV.healthMaxAttempts]: '4' });
  });

  it('needs issuer and audience together for JWT', () => {
    expect(() => configFromContext(read({ authIssuer: 'https://issuer.example.com/' }))).toThrow(/together/);
    expect(() => configFromContext(read({ authAudience: 'api' }))).toThrow(/together/);
    expect(
      configFromContext(read({ authIssuer: 'https://i.example.com/', authAudience: 'a,b' })).auth,
    ).toEqual({
      issuer: 'https://i.example.com/',
      audience: ['a', 'b'],
    });
  });

  it.each([
    [{ logRetentionDays: 8 }, /logRetentionDays/],
    [{ deletionProtection: 'yes' }, /deletionProtection/],
    [{ prefix: 'Has Spaces' }, /prefix/],
    [{ vpcId: 'subnet-123' }, /vpcId/],
    [{ throttleBurst: 1.5 }, /throttleBurst/],
    [{ healthMaxAttempts: 'often' }, /ROLLOUT_HEALTH_MAX_ATTEMPTS/],
    [{ healthIntervalSeconds: -1 }, /ROLLOUT_HEALTH_INTERVAL_SECONDS/],
    [{ defaultServiceNames: ' , ' }, /ROLLOUT_DEFAULT_SERVICE_NAMES/],
    // The engine state's TimeoutSecondsPath must be a positive integer on AWS (States.Runtime otherwise).
    [{ provisionTimeoutSeconds: 1.5 }, /ROLLOUT_PROVISION_TIMEOUT_SECONDS.*integer/],
  ])('rejects %j before anything is built', (context, message) => {
    expect(() => configFromContext(read(context))).toThrow(message);
  });
});

describe('a non-default configuration', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({
      context: {
        prefix: LONGEST_PREFIX,
        authIssuer: 'https://issuer.example.com/',
        authAudience: 'rollout-api',
        deletionProtection: false,
        logRetentionDays: 7,
        throttleRate: 5,
        throttleBurst: 10,
        healthMaxAttempts: 5,
        defaultServiceNames: ['web', 'media-engine'],
        eventTtlDays: 7,
      },
    });
  }, 120_000);

  it('guards bearer routes with a JWT authorizer for the configured issuer and audience', () => {
    const authorizers = resourcesOf(synth.template, 'AWS::ApiGatewayV2::Authorizer');
    const [authorizerId, authorizer] = Object.entries(authorizers)[0]!;
    expect(Object.keys(authorizers)).toHaveLength(1);
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['rollout-api'] },
    });
    for (const route of ROUTES) {
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: route.auth === 'none' ? 'NONE' : 'JWT',
        AuthorizerId: route.auth === 'none' ? Match.absent() : { Ref: authorizerId },
      });
    }
  });

  it('names resources with the prefix', () => {
    for (const fn of FUNCTIONS) {
      synth.template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `${LONGEST_PREFIX}-${fn.name}`,
      });
    }
    synth.template.hasResourceProperties('AWS::Events::EventBus', { Name: LONGEST_PREFIX });
    synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: `${LONGEST_PREFIX}-plan`,
    });
    for (const engine of ENGINE_CATALOG) {
      synth.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Family: `${LONGEST_PREFIX}-${engine.service}`,
      });
    }
  });

  // The longest prefix the configuration accepts still gives every name AWS accepts.
  it.each([
    // https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
    ['AWS::Lambda::Function', 'FunctionName', 64],
    // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
    ['AWS::Events::Rule', 'Name', 64],
    // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
    ['AWS::IAM::Role', 'RoleName', 64],
    // https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
    ['AWS::Logs::LogGroup', 'LogGroupName', 512],
    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
    ['AWS::StepFunctions::StateMachine', 'StateMachineName', 80],
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    ['AWS::CloudWatch::Alarm', 'AlarmName', 255],
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
    ['AWS::ECS::TaskDefinition', 'Family', 255],
    ['AWS::ECS::Cluster', 'ClusterName', 255],
    // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html
    ['AWS::Events::EventBus', 'Name', 256],
  ] as const)('keeps every %s %s within %i characters', (type, property, max) => {
    const names = Object.values(resourcesOf(synth.template, type))
      .map((r) => (r as { Properties?: Record<string, unknown> }).Properties?.[property])
      .filter((n): n is string => typeof n === 'string');

    for (const name of names) expect(name.length, name).toBeLessThanOrEqual(max);
    if (type !== 'AWS::IAM::Role') expect(names.length).toBeGreaterThan(0);
  });

  it('lets the table be deleted without deletion protection', () => {
    synth.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it('applies log retention, throttling and the functions deployment settings', () => {
    const retention = Object.values(resourcesOf(synth.template, 'AWS::Logs::LogGroup')).map(
      (g) => g.Properties?.RetentionInDays,
    );
    expect(new Set(retention)).toEqual(new Set([7]));
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    synth.template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [SETTINGS_ENV.healthMaxAttempts]: '5',
          [SETTINGS_ENV.defaultServiceNames]: 'web,media-engine',
          [SETTINGS_ENV.eventTtlDays]: '7',
        }),
      },
    });
  });
});

/** What `cdk synth` would cache in cdk.context.json after looking the VPC up. */
const LOOKED_UP_VPC = {
  'vpc-provider:account=123456789012:filter.vpc-id=vpc-0abc1234:region=eu-west-1:returnAsymmetricSubnets=true':
    {
      vpcId: 'vpc-0abc1234',
      vpcCidrBlock: '10.1.0.0/16',
      ownerAccountId: '123456789012',
      availabilityZones: [],
      subnetGroups: [
        {
          name: 'private',
          type: 'Private',
          subnets: [
            {
              subnetId: 'subnet-0aaa',
              cidr: '10.1.0.0/20',
              availabilityZone: 'eu-west-1a',
              routeTableId: 'rtb-0a',
            },
            {
              subnetId: 'subnet-0bbb',
              cidr: '10.1.16.0/20',
              availabilityZone: 'eu-west-1b',
              routeTableId: 'rtb-0b',
            },
          ],
        },
      ],
    },
};

describe('an existing VPC', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({
      context: { vpcId: 'vpc-0abc1234', ...LOOKED_UP_VPC },
      env: { account: '123456789012', region: 'eu-west-1' },
    });
  }, 120_000);

  it('hands the looked-up private subnets to the functions that launch engines', () => {
    expect(synth.app.synth().manifest.missing ?? []).toEqual([]);
    synth.template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ [SETTINGS_ENV.engineSubnets]: 'subnet-0aaa,subnet-0bbb' }),
      },
    });
  });

  it('creates no VPC of its own and still runs functions and engines inside the looked-up one', () => {
    synth.template.resourceCountIs('AWS::EC2::VPC', 0);
    synth.template.resourceCountIs('AWS::EC2::FlowLog', 0);
    synth.template.allResourcesProperties('AWS::Lambda::Function', {
      VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
    });
    synth.template.hasResourceProperties('AWS::ECS::Cluster', { ClusterName: 'tenant-rollout' });
  });
});
