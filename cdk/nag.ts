/**
 * cdk-nag (v3) acknowledgments. v3 reads CDK's native `Validations.of(...).acknowledge()` and needs
 * each finding named exactly (`AwsSolutions-IAM5[Resource::*]`), so every suppression here lists
 * the findings it covers; a finding not listed still fails the nag test.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** `<AWS::Partition>` etc. are how cdk-nag renders the pseudo parameters inside formatted ARNs. */
export const NAG_ARN_SCOPE = 'arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:';

export const nagArn = (service: string, rest: string) =>
  `${NAG_ARN_SCOPE.replace('{service}', service)}${rest}`;

export function acknowledge(
  scope: IConstruct,
  rule: string,
  reason: string,
  findings: readonly string[] = [],
): void {
  const ids = findings.length === 0 ? [rule] : findings.map((finding) => `${rule}[${finding}]`);
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}
