import { describe, expect, it } from 'vitest';
import { dynamoDbAccess } from '../../../local/dynamodb-proxy.ts';
import { AccessDenied, Authorizer, accessKeyOf, Policy, signingKeyOf } from '../../../local/iam.ts';

const TABLE = 'arn:aws:dynamodb:us-east-1:000000000000:table/t';
const CLUSTER = 'arn:aws:ecs:us-east-1:000000000000:cluster/c';

describe('policy evaluation', () => {
  const policy = new Policy([
    { actions: ['dynamodb:GetItem'], resources: [TABLE] },
    { actions: ['states:DescribeExecution'], resources: ['arn:aws:states:*:*:execution:m:*'] },
    { actions: ['ecs:ListTasks'], resources: ['*'], conditions: { ArnEquals: { 'ecs:cluster': CLUSTER } } },
  ]);

  it('matches actions case-insensitively and resources exactly, with IAM wildcards', () => {
    expect(policy.allows({ action: 'DynamoDB:getitem', resource: TABLE })).toBe(true);
    expect(policy.allows({ action: 'dynamodb:GetItem', resource: `${TABLE}/index/gsi1` })).toBe(false);
    expect(policy.allows({ action: 'dynamodb:PutItem', resource: TABLE })).toBe(false);
    expect(
      policy.allows({
        action: 'states:DescribeExecution',
        resource: 'arn:aws:states:us-east-1:1:execution:m:run-1',
      }),
    ).toBe(true);
    expect(
      policy.allows({
        action: 'states:DescribeExecution',
        resource: 'arn:aws:states:us-east-1:1:execution:other:run-1',
      }),
    ).toBe(false);
  });

  it('requires every condition key, and refuses a request that lacks it', () => {
    const list = (context?: Record<string, string>) =>
      policy.allows({ action: 'ecs:ListTasks', resource: '*', ...(context ? { context } : {}) });

    expect(list({ 'ecs:cluster': CLUSTER })).toBe(true);
    expect(list({ 'ecs:cluster': `${CLUSTER}-other` })).toBe(false);
    expect(list()).toBe(false);
  });
});

describe('authorizer', () => {
  const authorizer = new Authorizer(
    new Map([['reader', [{ actions: ['dynamodb:GetItem'], resources: [TABLE] }]]]),
    (p) => `role-${p}`,
  );
  const header = (key: string) =>
    `AWS4-HMAC-SHA256 Credential=${key}/20261201/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x`;

  it('reads the signing key from a SigV4 header', () => {
    expect(signingKeyOf(header('AKID1'))).toBe('AKID1');
    expect(signingKeyOf(undefined)).toBeUndefined();
  });

  it("denies what a principal's policy does not allow, naming the principal, action and resource as AWS does", () => {
    const check = () =>
      authorizer.check(header(accessKeyOf('reader')), [{ action: 'dynamodb:PutItem', resource: TABLE }]);

    expect(check).toThrow(AccessDenied);
    expect(check).toThrow(
      `User: arn:aws:sts::000000000000:assumed-role/role-reader/role-reader is not authorized to perform: dynamodb:PutItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
    );
  });

  it('leaves keys that name no principal (the runtime, tests, an operator) unrestricted', () => {
    expect(() =>
      authorizer.check(header('local'), [{ action: 'dynamodb:PutItem', resource: TABLE }]),
    ).not.toThrow();
  });
});

describe('what a DynamoDB call asks of IAM', () => {
  it('authorizes each item of a transaction on its own item action and table', () => {
    const access = dynamoDbAccess('TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 't' } },
        { Update: { TableName: 't' } },
        { ConditionCheck: { TableName: 'u' } },
        { Delete: { TableName: 't' } },
      ],
    });

    expect(access).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE },
      { action: 'dynamodb:UpdateItem', resource: TABLE },
      { action: 'dynamodb:ConditionCheckItem', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/u' },
      { action: 'dynamodb:DeleteItem', resource: TABLE },
    ]);
  });

  it('authorizes a query on an index on the index, and a batch on every table it names', () => {
    expect(dynamoDbAccess('Query', { TableName: 't', IndexName: 'gsi1' })).toEqual([
      { action: 'dynamodb:Query', resource: `${TABLE}/index/gsi1` },
    ]);
    expect(dynamoDbAccess('BatchWriteItem', { RequestItems: { t: [], u: [] } })).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: TABLE },
      { action: 'dynamodb:BatchWriteItem', resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/u' },
    ]);
  });

  it("reads a stream's ARN as AWS names it, whatever region DynamoDB Local gives it", () => {
    expect(
      dynamoDbAccess('DescribeStream', {
        StreamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-12-01T00:00:00.000',
      }),
    ).toEqual([{ action: 'dynamodb:DescribeStream', resource: `${TABLE}/stream/2026-12-01T00:00:00.000` }]);
  });
});
