import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_TASK_ROLE } from '../../../functions/grants.ts';
import { arns } from '../../../local/arns.ts';
import { LOCAL_REGION } from '../../../local/aws-env.ts';
import { accessKeyOf, LOCAL_SECRET_ACCESS_KEY } from '../../../local/iam.ts';
import { fixtureFunctions } from '../../fixtures/runtime/specs.ts';
import { type FixtureRuntime, startFixtureRuntime } from './harness.ts';

const { trigger: _, ...recorder } = fixtureFunctions.find((f) => f.name === 'record-event')!;

let fx: FixtureRuntime;

beforeAll(async () => {
  fx = await startFixtureRuntime({
    functions: [...fixtureFunctions, { ...recorder, name: 'read-only-recorder', table: 'RO' }],
  });
});
afterAll(async () => {
  await fx?.stop();
});

const as = (principal: string) => ({
  region: LOCAL_REGION,
  credentials: { accessKeyId: accessKeyOf(principal), secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
});
const denial = (principal: string, action: string, resource: string) =>
  `User: arn:aws:sts::000000000000:assumed-role/tenant-rollout-${principal}/tenant-rollout-${principal} ` +
  `is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
/** A token as the local Step Functions mints it, for an execution of `machine` (none runs). */
const tokenFor = (machine: string) =>
  Buffer.from(JSON.stringify([arns.execution(`tenant-rollout-${machine}`, 'gone'), 'Wait', 'x'])).toString(
    'base64url',
  );
const event = (id: string) => ({ id, 'detail-type': 'IamProbe', source: 'test', detail: {} });

describe('least privilege: each function may call only what its manifest entry grants', () => {
  it('lets a function granted RW write the table and refuses the same code granted RO, in DynamoDB’s error shape', async () => {
    const written = await fx.runtime.invokeFunction('record-event', event('rw'));

    const refused = fx.runtime.invokeFunction('read-only-recorder', event('ro'));

    expect(written).toEqual({ stored: 'rw' });
    await expect(refused).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: denial(
        'read-only-recorder',
        'dynamodb:PutItem',
        `arn:aws:dynamodb:us-east-1:000000000000:table/${fx.runtime.tableName}`,
      ),
    });
  });

  it('refuses Step Functions, EventBridge and ECS calls to a role granted none of them, with 400 AccessDeniedException', async () => {
    const sfn = new SFNClient({ ...as('echo'), endpoint: fx.runtime.endpoints.sfn });
    const events = new EventBridgeClient({ ...as('echo'), endpoint: fx.runtime.endpoints.eventbridge });
    const ecs = new ECSClient({ ...as('echo'), endpoint: fx.runtime.endpoints.ecs });
    const execution = arns.execution('tenant-rollout-child', 'any');

    const calls = [
      sfn.send(new DescribeExecutionCommand({ executionArn: execution })),
      events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: 'tenant-rollout', Source: 's', DetailType: 'd', Detail: '{}' }],
        }),
      ),
      ecs.send(new ListTasksCommand({ cluster: arns.cluster() })),
    ];

    const [described, put, listed] = await Promise.allSettled(calls);
    expect(described).toMatchObject({
      status: 'rejected',
      reason: {
        name: 'AccessDeniedException',
        message: denial('echo', 'states:DescribeExecution', execution),
        $metadata: { httpStatusCode: 400 },
      },
    });
    expect(put).toMatchObject({
      status: 'rejected',
      reason: { name: 'AccessDeniedException', message: expect.stringContaining('events:PutEvents') },
    });
    expect(listed).toMatchObject({
      status: 'rejected',
      reason: { name: 'AccessDeniedException', message: expect.stringContaining('ecs:ListTasks') },
    });
    for (const client of [sfn, events, ecs]) client.destroy();
  });

  it('lets the engines’ task role answer the task machine’s tokens only', async () => {
    const sfn = new SFNClient({ ...as(ENGINE_TASK_ROLE), endpoint: fx.runtime.endpoints.sfn });

    const otherMachine = sfn.send(
      new SendTaskSuccessCommand({ taskToken: tokenFor('callback'), output: '{}' }),
    );
    const taskMachine = sfn.send(new SendTaskSuccessCommand({ taskToken: tokenFor('task'), output: '{}' }));

    await expect(otherMachine).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `states:SendTaskSuccess on resource: ${arns.stateMachine('callback')} because`,
      ),
    });
    // Authorized: it gets as far as the token, which no execution waits on.
    await expect(taskMachine).rejects.not.toMatchObject({ name: 'AccessDeniedException' });
    sfn.destroy();
  });
});
