import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ListTasksCommand, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFunctions, scheduledRecorder } from '../../fixtures/runtime/specs.ts';
import { eventually } from '../support.ts';
import { type FixtureRuntime, startFixtureRuntime } from './harness.ts';

let fx: FixtureRuntime;

beforeAll(async () => {
  fx = await startFixtureRuntime({
    functions: [...fixtureFunctions, scheduledRecorder],
    scheduleEveryMs: { 'scheduled-recorder': 100 },
    extraRules: [
      { name: 'start-child', pattern: { 'detail-type': ['StartChild'] }, target: { stateMachine: 'child' } },
    ],
  });
});
afterAll(async () => {
  await fx?.stop();
});

function received(detailType: string) {
  return fx.clients.dynamodb
    .send(
      new QueryCommand({
        TableName: fx.runtime.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `RECEIVED#${detailType}` } },
      }),
    )
    .then((r) => r.Items ?? []);
}

describe('EventBridge rules', () => {
  it('delivers an event matching a manifest event trigger to its function as an EventBridge envelope', async () => {
    const put = await fx.clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'tenant-rollout',
            Source: 'fixture.test',
            DetailType: 'RecordMe',
            Detail: '{"n":1}',
          },
          {
            EventBusName: 'tenant-rollout',
            Source: 'fixture.test',
            DetailType: 'IgnoreMe',
            Detail: '{"n":2}',
          },
        ],
      }),
    );

    expect(put.FailedEntryCount).toBe(0);
    const items = await eventually(async () => {
      const found = await received('RecordMe');
      return found.length ? found : undefined;
    });
    expect(items[0]?.sk?.S).toBe(put.Entries?.[0]?.EventId);
    expect(JSON.parse(items[0]!.detail!.S!)).toEqual({ n: 1 });
    expect(await received('IgnoreMe')).toHaveLength(0);
  });

  it('starts a state machine with the event as input', async () => {
    const machine = fx.runtime.arns.stateMachines.child!;
    await fx.clients.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'tenant-rollout',
            Source: 'fixture.test',
            DetailType: 'StartChild',
            Detail: '{"v":7}',
          },
        ],
      }),
    );

    const execution = await eventually(async () => {
      const list = await fx.clients.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: machine, statusFilter: 'SUCCEEDED' }),
      );
      return list.executions?.[0];
    });
    const described = await fx.clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: execution.executionArn }),
    );
    expect(JSON.parse(described.output!)).toMatchObject({
      source: 'fixture.test',
      'detail-type': 'StartChild',
      account: '000000000000',
      detail: { v: 7 },
    });
  });

  it('rejects an entry with malformed detail and still accepts the others', async () => {
    const put = await fx.clients.events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'tenant-rollout', Source: 'fixture.test', DetailType: 'Bad', Detail: 'not json' },
          { EventBusName: 'tenant-rollout', Source: 'fixture.test', DetailType: 'Good', Detail: '{}' },
        ],
      }),
    );

    expect(put.FailedEntryCount).toBe(1);
    expect(put.Entries?.[0]?.ErrorCode).toBe('MalformedDetail');
    expect(put.Entries?.[1]?.EventId).toBeTruthy();
  });

  it('refuses a whole request whose entries total 256 KB or more, as EventBridge does', async () => {
    const entry = (kb: number) => ({
      EventBusName: 'tenant-rollout',
      Source: 'fixture.test',
      DetailType: 'IgnoreMe',
      Detail: JSON.stringify({ pad: 'x'.repeat(kb * 1024) }),
    });

    await expect(
      fx.clients.events.send(new PutEventsCommand({ Entries: [entry(100), entry(100), entry(60)] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });
    const accepted = await fx.clients.events.send(
      new PutEventsCommand({ Entries: [entry(100), entry(100)] }),
    );
    expect(accepted.FailedEntryCount).toBe(0);
  });

  it('runs a schedule-triggered function on its local interval with a Scheduled Event', async () => {
    const items = await eventually(async () => {
      const found = await received('Scheduled Event');
      return found.length >= 2 ? found : undefined;
    });
    expect(items[0]?.source?.S).toBe('aws.events');
  });
});

describe('DynamoDB stream', () => {
  it('hands a written item to the stream function in the Lambda record shape', async () => {
    await fx.clients.dynamodb.send(
      new PutItemCommand({
        TableName: fx.runtime.tableName,
        Item: { pk: { S: 'STREAM#1' }, sk: { S: 'ITEM' }, size: { N: '3' } },
      }),
    );

    const seen = await eventually(async () =>
      fx.runtime.bus
        .archive()
        .find(
          (e) => e['detail-type'] === 'StreamRecordSeen' && (e.detail as { pk: string }).pk === 'STREAM#1',
        ),
    );
    expect(seen.detail).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      newImage: { pk: { S: 'STREAM#1' }, sk: { S: 'ITEM' }, size: { N: '3' } },
    });
  });
});

describe('ECS', () => {
  it('runs, lists, stops a task and publishes its state change on the default bus', async () => {
    const run = await fx.clients.ecs.send(
      new RunTaskCommand({
        cluster: 'tenant-rollout',
        taskDefinition: 'fixture-engine',
        startedBy: 'events-test',
        overrides: {
          containerOverrides: [{ name: 'engine', environment: [{ name: 'MODE', value: 'sleep' }] }],
        },
      }),
    );
    const taskArn = run.tasks![0]!.taskArn!;
    expect(taskArn).toMatch(/^arn:aws:ecs:us-east-1:000000000000:task\/tenant-rollout\//);
    await eventually(async () => {
      const d = await fx.clients.ecs.send(
        new DescribeTasksCommand({ cluster: 'tenant-rollout', tasks: [taskArn] }),
      );
      return d.tasks?.[0]?.lastStatus === 'RUNNING';
    });
    const listed = await fx.clients.ecs.send(new ListTasksCommand({ startedBy: 'events-test' }));
    expect(listed.taskArns).toEqual([taskArn]);

    await fx.clients.ecs.send(new StopTaskCommand({ task: taskArn, reason: 'drained' }));

    const stopped = await eventually(async () => {
      const d = await fx.clients.ecs.send(new DescribeTasksCommand({ tasks: [taskArn] }));
      return d.tasks?.[0]?.lastStatus === 'STOPPED' ? d.tasks[0] : undefined;
    });
    expect(stopped).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'drained' });
    expect(stopped.containers?.[0]?.exitCode).toBe(143);
    expect(stopped.stoppedAt).toBeInstanceOf(Date);
    const change = fx.runtime.bus
      .archive()
      .find((e) => e.source === 'aws.ecs' && (e.detail as { taskArn: string }).taskArn === taskArn);
    expect(change).toMatchObject({
      eventBusName: 'default',
      'detail-type': 'ECS Task State Change',
      detail: { lastStatus: 'STOPPED', stoppedReason: 'drained', containers: [{ exitCode: 143 }] },
    });
  });
});
