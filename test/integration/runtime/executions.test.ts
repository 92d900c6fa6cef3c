import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support.ts';
import { type FixtureRuntime, finished, startFixtureRuntime } from './harness.ts';

let fx: FixtureRuntime;
const machine = (name: string) => fx.runtime.arns.stateMachines[name]!;

beforeAll(async () => {
  fx = await startFixtureRuntime();
});
afterAll(async () => {
  await fx?.stop();
});

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await fx.clients.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 100 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

async function start(name: string, input: unknown, executionName?: string) {
  const { executionArn } = await fx.clients.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: machine(name),
      input: JSON.stringify(input),
      name: executionName,
    }),
  );
  return executionArn!;
}

/** The token a callback state published on the bus for this tenant. */
function publishedToken(tenantId: string) {
  return eventually(async () => {
    const event = fx.runtime.bus
      .archive()
      .find(
        (e) =>
          e['detail-type'] === 'ApprovalRequested' &&
          (e.detail as { tenantId: string }).tenantId === tenantId,
      );
    return (event?.detail as { token: string; state: string } | undefined) ?? undefined;
  });
}

describe('state machines registered at start', () => {
  it('lists every fixture machine under its local ARN', async () => {
    const listed = await fx.clients.sfn.send(new ListStateMachinesCommand({}));
    expect(listed.stateMachines?.map((m) => m.stateMachineArn).sort()).toEqual(
      Object.values(fx.runtime.arns.stateMachines).sort(),
    );
    expect(machine('child')).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:tenant-rollout-child');
  });
});

describe('an execution using every integration', () => {
  it('passes lambda, dynamodb, events, ecs, child execution and distributed Map results along', async () => {
    const executionArn = await start(
      'integrations',
      { tenantId: 't-1', items: [150, 150, 150, 150], concurrency: 2 },
      'all-integrations',
    );

    const described = await finished(fx.clients.sfn, executionArn);

    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output!);
    expect(output.lambda).toEqual({ payload: { echo: { tenantId: 't-1' }, inFlight: 1 }, statusCode: 200 });
    expect(output.update).toEqual({ version: '2' });
    expect(output.read).toEqual({ version: '2' });
    expect(output.events).toEqual({ failed: 0 });
    expect(output.engine).toEqual({ exitCode: 0, lastStatus: 'STOPPED' });
    expect(output.child).toEqual({ output: { value: 't-1' }, status: 'SUCCEEDED' });
    expect(output.mapped.map((r: { echo: { index: number } }) => r.echo.index)).toEqual([0, 1, 2, 3]);
    expect(Math.max(...output.mapped.map((r: { inFlight: number }) => r.inFlight))).toBe(2);
    const announced = fx.runtime.bus.archive().find((e) => e['detail-type'] === 'TenantAnnounced');
    expect(announced).toMatchObject({ source: 'fixture.integrations', detail: { tenantId: 't-1' } });
    expect(fx.logs.some((line) => line.includes('engine for t-1 started'))).toBe(true);
  });

  it('records the history with AWS event types, without per-item events of the distributed Map', async () => {
    const events = await history(
      'arn:aws:states:us-east-1:000000000000:execution:tenant-rollout-integrations:all-integrations',
    );
    const types = events.map((e) => e.type);

    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(types.slice(1, 6)).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    expect(events[1]?.stateEnteredEventDetails?.name).toBe('Invoke echo function');
    const scheduled = events.find(
      (e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.resourceType === 'ecs',
    );
    expect(scheduled?.taskScheduledEventDetails?.resource).toBe('runTask.sync');
    expect(types).toContain('TaskSubmitted');
    expect(types).toContain('MapRunStarted');
    expect(events.filter((e) => e.stateEnteredEventDetails?.name === 'Echo item')).toHaveLength(0);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
  });
});

describe('StartExecution name idempotency', () => {
  it('returns the running execution for the same name and input, and refuses a different input', async () => {
    const input = { tenantId: 'idem', timeoutSeconds: 60 };
    const first = await start('callback', input, 'idempotent-start');

    const second = await start('callback', input, 'idempotent-start');
    const conflicting = start('callback', { ...input, tenantId: 'other' }, 'idempotent-start');

    expect(second).toBe(first);
    await expect(conflicting).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await fx.clients.sfn.send(new StopExecutionCommand({ executionArn: first }));
    await expect(start('callback', input, 'idempotent-start')).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });
});

describe('waitForTaskToken', () => {
  it('completes with the output sent by SendTaskSuccess', async () => {
    const executionArn = await start('callback', { tenantId: 'approve', timeoutSeconds: 60 });
    const { token, state } = await publishedToken('approve');

    await fx.clients.sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: '{"approvedBy":"ops"}' }),
    );

    const described = await finished(fx.clients.sfn, executionArn);
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!).approval).toEqual({ approvedBy: 'ops' });
    expect(state).toBe('Wait for approval');
    await expect(
      fx.clients.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it('fails the execution with the error and cause sent by SendTaskFailure', async () => {
    const executionArn = await start('callback', { tenantId: 'reject', timeoutSeconds: 60 });
    const { token } = await publishedToken('reject');

    await fx.clients.sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'ApprovalDenied', cause: 'not today' }),
    );

    const described = await finished(fx.clients.sfn, executionArn);
    expect(described).toMatchObject({ status: 'FAILED', error: 'ApprovalDenied', cause: 'not today' });
    const types = (await history(executionArn)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['TaskSubmitted', 'TaskFailed', 'ExecutionFailed']));
  });

  it('times out with States.Timeout after TimeoutSecondsPath, caught by its Catch', async () => {
    const executionArn = await start('callback', { tenantId: 'silent', timeoutSeconds: 1 });

    const described = await finished(fx.clients.sfn, executionArn);

    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!).error).toEqual({ Error: 'States.Timeout', Cause: 'States.Timeout' });
    expect((await history(executionArn)).map((e) => e.type)).toContain('TaskTimedOut');
  });
});

describe('StopExecution', () => {
  it('aborts a waiting execution and records why', async () => {
    const executionArn = await start('callback', { tenantId: 'stopped', timeoutSeconds: 60 });
    await publishedToken('stopped');

    await fx.clients.sfn.send(
      new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'cancelled' }),
    );

    const described = await fx.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'cancelled' });
    await eventually(async () => (await history(executionArn)).at(-1)?.type === 'ExecutionAborted');
    const aborted = await fx.clients.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: machine('callback'), statusFilter: 'ABORTED' }),
    );
    expect(aborted.executions?.map((e) => e.executionArn)).toContain(executionArn);
  });
});

describe('Retry and Catch', () => {
  it('catches a Lambda error by its errorType and retries a conditional failure MaxAttempts times before catching it', async () => {
    await fx.clients.dynamodb.send(
      new PutItemCommand({
        TableName: fx.runtime.tableName,
        Item: { pk: { S: 'LOCK#TENANT#busy' }, sk: { S: 'LOCK' } },
      }),
    );

    const executionArn = await start('errors', { tenantId: 'busy' });
    const described = await finished(fx.clients.sfn, executionArn);

    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output!);
    expect(output.lambdaError.Error).toBe('TenantLocked');
    expect(JSON.parse(output.lambdaError.Cause)).toMatchObject({
      errorType: 'TenantLocked',
      errorMessage: 'tenant busy is locked',
    });
    expect(output.lockError.Error).toBe('DynamoDB.ConditionalCheckFailedException');
    const events = await history(executionArn);
    const lockAttempts = events.filter(
      (e) =>
        e.type === 'TaskFailed' &&
        e.taskFailedEventDetails?.error === 'DynamoDB.ConditionalCheckFailedException',
    );
    expect(lockAttempts).toHaveLength(3);
  });

  it('takes the lock on the first attempt when it is free', async () => {
    const executionArn = await start('errors', { tenantId: 'free' });

    const described = await finished(fx.clients.sfn, executionArn);

    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!).lockError).toBeUndefined();
    const lock = await fx.clients.dynamodb.send(
      new GetItemCommand({
        TableName: fx.runtime.tableName,
        Key: { pk: { S: 'LOCK#TENANT#free' }, sk: { S: 'LOCK' } },
      }),
    );
    expect(lock.Item).toBeDefined();
  });
});

describe('RunTask.sync', () => {
  it('fails the state with States.TaskFailed and the stopped task as cause when the engine exits 1', async () => {
    const executionArn = await start('engine-failure', {});

    const described = await finished(fx.clients.sfn, executionArn);

    expect(described).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    const cause = JSON.parse(described.cause!);
    expect(cause.Containers[0].ExitCode).toBe(1);
    expect(cause).toMatchObject({ LastStatus: 'STOPPED', StopCode: 'EssentialContainerExited' });
  });
});
