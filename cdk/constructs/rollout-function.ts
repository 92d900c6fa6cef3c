/**
 * The one NodejsFunction subclass: every Lambda of the project gets the same runtime, architecture,
 * tracing, bundling and logging, and what Lambda itself needs of the execution role (logs, network interfaces).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { REPO_ROOT } from '../names.ts';

/** ESM bundles have no `require`; a CommonJS dependency that calls it needs one. */
const REQUIRE_BANNER =
  "import { createRequire as __rolloutCreateRequire } from 'node:module'; const require = __rolloutCreateRequire(import.meta.url);";

export interface RolloutFunctionProps
  extends Omit<
    NodejsFunctionProps,
    'entry' | 'runtime' | 'architecture' | 'tracing' | 'bundling' | 'logGroup' | 'role' | 'timeout'
  > {
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  timeout: Duration;
  logRetention: RetentionDays;
  /** Shell commands run after esbuild, given the bundle's output directory (files to ship with it). */
  afterBundling?: (outputDir: string) => string[];
}

export class RolloutFunction extends NodejsFunction {
  /** Its own log group, with the configured retention. */
  public readonly logs: LogGroup;
  public readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: RolloutFunctionProps) {
    const entry = join(REPO_ROOT, props.entry);
    if (!existsSync(entry)) throw new Error(`function ${id}: entry ${props.entry} does not exist`);
    if (props.timeout.toSeconds() > 900) throw new Error(`function ${id}: timeout above Lambda's 900 s`);
    const { logRetention, afterBundling, ...rest } = props;
    const executionRole = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName ?? id}`,
    });
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      ...rest,
      entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      tracing: Tracing.ACTIVE,
      role: executionRole,
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: REQUIRE_BANNER,
        minify: true,
        // Domain errors are named after their class (new.target.name); Step Functions' Retry/Catch and
        // failureInfo read that name, so minification must not shorten it.
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // The Node.js 24 runtime ships AWS SDK v3 (clients, lib-dynamodb, util-dynamodb).
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
        ...(afterBundling
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) => afterBundling(outputDir),
              },
            }
          : {}),
      },
    });
    this.logs = logGroup;
    this.executionRole = executionRole;
    logGroup.grantWrite(executionRole);
    if (props.vpc) {
      // Lambda creates the function's network interfaces with the execution role; EC2 offers no
      // resource-level scoping for these actions.
      executionRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }
  }
}
