import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { describe, expect, inject, it } from 'vitest';
import { eventually } from '../support.ts';
import { finished, startFixtureRuntime } from './harness.ts';

const killable = fileURLToPath(new URL('./fixtures/killable-runtime.ts', import.meta.url));

/** Two runtimes on one home and one table, one after the other, as two `npm start`s. */
async function restartable() {
  const home = await mkdtemp(join(tmpdir(), 'runtime-home-'));
  const tableName = `restart-${randomUUID().slice(0, 8)}`;
  return () => startFixtureRuntime({ home, tableName, inMemory: false });
}

describe('executions across a restart', () => {
  it('answers DescribeExecution, GetExecutionHistory, ListExecutions and DescribeStateMachine for an earlier run', async () => {
    const start = await restartable();
    const first = await start();
    const machineArn = first.runtime.arns.stateMachines.child!;
    const { executionArn } = await first.clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'before-restart', input: '{"a":1}' }),
    );
    await finished(first.clients.sfn, executionArn!);
    const historyBefore = await first.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    await first.stop();

    const second = await start();
    try {
      const described = await second.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const history = await second.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      const listed = await second.clients.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: machineArn }),
      );
      const machine = await second.clients.sfn.send(
        new DescribeStateMachineCommand({ stateMachineArn: machineArn }),
      );

      expect(described).toMatchObject({ status: 'SUCCEEDED', input: '{"a":1}', output: '{"a":1}' });
      expect(history.events?.map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'PassStateEntered',
        'PassStateExited',
        'ExecutionSucceeded',
      ]);
      expect(history.events).toEqual(historyBefore.events);
      expect(listed.executions?.map((e) => e.executionArn)).toContain(executionArn);
      expect(machine.name).toBe('tenant-rollout-child');
      await expect(
        second.clients.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: machineArn,
            name: 'before-restart',
            input: '{"a":1}',
          }),
        ),
      ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    } finally {
      await second.stop();
    }
  });

  it('shows an execution that was running when the runtime stopped as aborted, with its history so far', async () => {
    const start = await restartable();
    const first = await start();
    const machineArn = first.runtime.arns.stateMachines.callback!;
    const { executionArn } = await first.clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn,
        name: 'parked',
        input: JSON.stringify({ tenantId: 'parked', timeoutSeconds: 600 }),
      }),
    );
    await eventually(async () =>
      first.runtime.bus.archive().some((e) => e['detail-type'] === 'ApprovalRequested'),
    );
    await first.stop();

    const second = await start();
    try {
      const described = await second.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const history = await second.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn }));

      expect(described.status).toBe('ABORTED');
      const types = history.events?.map((e) => e.type);
      expect(types?.slice(0, 4)).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
      ]);
      expect(types?.at(-1)).toBe('ExecutionAborted');
    } finally {
      await second.stop();
    }
  });

  it('shows an execution of a killed runtime as aborted after its last recorded event, even when a line was cut short', async () => {
    const home = await mkdtemp(join(tmpdir(), 'runtime-home-'));
    const tableName = `restart-${randomUUID().slice(0, 8)}`;
    const child = spawn(process.execPath, [killable], {
      env: {
        ...process.env,
        DYNAMO_ENDPOINT: inject('dynamoEndpoint'),
        TABLE_NAME: tableName,
        RUNTIME_HOME: home,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once('line', resolve),
    );
    const { executionArn } = JSON.parse(line) as { executionArn: string };
    child.kill('SIGKILL');
    await exited;
    appendFileSync(join(home, 'executions', 'index.jsonl'), '{"op":"start","record":{"executionArn":"arn:');

    const second = await startFixtureRuntime({ home, tableName, inMemory: false });
    try {
      const described = await second.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      const history = await second.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn }));

      expect(described).toMatchObject({ status: 'ABORTED', error: 'States.Aborted' });
      const events = history.events ?? [];
      expect(events.map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
        'TaskSubmitted',
        'ExecutionAborted',
      ]);
      expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await second.stop();
    }
  });
});
