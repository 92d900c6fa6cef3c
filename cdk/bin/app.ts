/**
 * The CDK app (`cdk synth`, `cdk deploy`). Configuration comes from context; see README.md, "Deploy to AWS".
 * Without `vpcId` the stack is environment-agnostic, so synth needs no credentials and no network.
 * cdk-nag's AwsSolutions pack runs on every synth: an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../config.ts';
import { RolloutStack } from '../stack.ts';

const app = new App();
const config = configFromContext((key) => app.node.tryGetContext(key));

new RolloutStack(app, 'TenantRollout', {
  config,
  stackName: config.prefix,
  description: 'tenant-rollout: serverless control plane that rolls deploy configurations out to tenants',
  // Looking up an existing VPC needs a concrete account and region (from the CLI's credentials).
  ...(config.vpcId === undefined
    ? {}
    : { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } }),
});

// The reasons of acknowledged findings also go into the template metadata (`cdk_nag`), for audit.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
