/**
 * cdk-nag AwsSolutions on the synthesized stack, in both authorization modes: zero unacknowledged
 * findings, and every acknowledgment names its finding and says why. cdk-nag v3 reports through
 * CDK's validation plugins (not annotations), so the pack is run directly with `validateScope`.
 */
import { Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Synthesized, synthesize } from './support.ts';

const JWT_CONTEXT = { authIssuer: 'https://issuer.example.com/', authAudience: 'rollout-api' };

function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} (${v.severity}) at ${r.constructPath}: ${v.description}`),
  );
}

function acknowledgments(scope: IConstruct): { path: string; id: string; reason: string }[] {
  return scope.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe.each([
  ['IAM authorization', {}],
  ['JWT authorization', JWT_CONTEXT],
])('AwsSolutions checks with %s', (_mode, context) => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize({ context });
  }, 120_000);

  it('reports no unacknowledged error or warning', () => {
    expect(findings(synth.stack)).toEqual([]);
  });

  it('gives every acknowledgment a specific finding and a reason', () => {
    // CDK acknowledges some of its own template checks (CloudFormation-Validate::...); those are not ours.
    const acks = acknowledgments(synth.stack).filter((a) => a.id.includes('AwsSolutions'));
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/(^|::)AwsSolutions-[A-Z]+\d+/);
      // A wildcard finding is acknowledged one resource pattern at a time, never as a whole rule.
      if (ack.id.includes('IAM5')) expect(ack.id, ack.path).toMatch(/IAM5\[Resource::.+\]$/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(40);
    }
  });
});

it('finds what the pack is meant to find in this stack (the check above can fail)', () => {
  const synth = synthesize();
  new Queue(synth.stack, 'UnencryptedProbe', {});
  expect(
    findings(synth.stack).some((f) => f.startsWith('AwsSolutions-SQS4') && f.includes('UnencryptedProbe')),
  ).toBe(true);
}, 120_000);
