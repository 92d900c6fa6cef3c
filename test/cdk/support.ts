/** One synthesis of the real stack per caller, with the feature flags of cdk.json. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromContext } from '../../cdk/config.ts';
import { REPO_ROOT } from '../../cdk/names.ts';
import { RolloutStack } from '../../cdk/stack.ts';

const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

export interface Synthesized {
  app: App;
  stack: RolloutStack;
  template: Template;
  /** Directory of the cloud assembly (staged assets live here). */
  assemblyDir: string;
}

export interface SynthOptions {
  context?: Record<string, unknown>;
  /** Bundle the functions with esbuild (slow); otherwise bundling is skipped as `cdk synth --exclusively` would. */
  bundle?: boolean;
  env?: { account: string; region: string };
}

export function synthesize(options: SynthOptions = {}): Synthesized {
  const app = new App({
    context: {
      ...CDK_JSON_CONTEXT,
      ...options.context,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const config = configFromContext((key) => app.node.tryGetContext(key));
  const stack = new RolloutStack(app, 'TenantRollout', {
    config,
    ...(options.env ? { env: options.env } : {}),
  });
  const template = Template.fromStack(stack);
  return { app, stack, template, assemblyDir: app.synth().directory };
}

export type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

export const resourcesOf = (template: Template, type: string) => template.findResources(type) as Resources;

/** Every IAM policy statement in the template (inline policies and policy resources). */
export function policyStatements(template: Template): { id: string; statement: Record<string, unknown> }[] {
  const out: { id: string; statement: Record<string, unknown> }[] = [];
  for (const [id, resource] of Object.entries(template.toJSON().Resources as Resources)) {
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      documents.push(resource.Properties?.PolicyDocument);
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (resource.Properties?.Policies ?? []) as { PolicyDocument: unknown }[]) {
        documents.push(policy.PolicyDocument);
      }
    }
    for (const doc of documents) {
      for (const statement of (doc as { Statement: Record<string, unknown>[] }).Statement) {
        out.push({ id, statement });
      }
    }
  }
  return out;
}

export const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The statements of every policy attached to the role with logical id `roleId`. */
export function roleStatements(template: Template, roleId: string): Record<string, unknown>[] {
  const policies = resourcesOf(template, 'AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => JSON.stringify(p.Properties?.Roles ?? []).includes(`"${roleId}"`))
    .flatMap((p) => (p.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
}

export const actionsOf = (statements: Record<string, unknown>[]) =>
  new Set(statements.flatMap((s) => asList(s.Action as string | string[])));

/** The logical id a `{ 'Fn::GetAtt': [id, 'Arn'] }` or `{ Ref: id }` points at. */
export function referencedId(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    return v.Ref ?? v['Fn::GetAtt']?.[0];
  }
  return undefined;
}

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

/**
 * Resolves a CloudFormation value the way a deployment would, with dummy account and region:
 * pseudo parameters, `Fn::Join`, and `Ref` / `Fn::GetAtt` on resources of the template.
 */
export function dummyValue(value: unknown, template: Template): string {
  if (typeof value === 'string') return value;
  const resources = template.toJSON().Resources as Resources;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => dummyValue(p, template)).join(separator);
  }
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (typeof v.Ref === 'string' && pseudo[v.Ref]) return pseudo[v.Ref]!;
  const id = referencedId(value);
  const resource = id ? resources[id] : undefined;
  if (!id || !resource) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  const scope = `${REGION}:${ACCOUNT}`;
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${scope}:function:${resource.Properties?.FunctionName ?? id}`;
    case 'AWS::ECS::Cluster':
      return `arn:aws:ecs:${scope}:cluster/${resource.Properties?.ClusterName ?? id}`;
    case 'AWS::DynamoDB::Table':
      return id;
    case 'AWS::Events::EventBus':
      return String(resource.Properties?.Name ?? id);
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${scope}:stateMachine:${resource.Properties?.StateMachineName ?? id}`;
    default:
      throw new Error(`no dummy value for ${resource.Type} ${id}`);
  }
}
