import { fileURLToPath } from 'node:url';
import { GetExecutionHistoryCommand, InvalidName, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINES } from '../../../statemachines/index.ts';
import { fixtureFunctions } from '../../fixtures/runtime/specs.ts';
import { type FixtureRuntime, finished, startFixtureRuntime } from './harness.ts';

const fixture = (file: string) => fileURLToPath(new URL(`../../fixtures/runtime/${file}`, import.meta.url));
const limits = { ...fixtureFunctions[0]!, name: 'limits', entry: 'test/fixtures/runtime/limits.ts' };
const machine = (name: string, file: string) => ({ name, file, description: 'limits fixture' });

let fx: FixtureRuntime;
const arn = (name: string) => fx.runtime.arns.stateMachines[name]!;

beforeAll(async () => {
  fx = await startFixtureRuntime({
    // The real plan machine, its steps served by the fixture and each tenant by a machine that returns its input.
    functions: [
      ...fixtureFunctions,
      limits,
      { ...limits, name: 'start-plan' },
      { ...limits, name: 'finish-plan' },
    ],
    stateMachines: [
      STATE_MACHINES.find((m) => m.name === 'plan')!,
      machine('task', fixture('child.asl.json')),
      machine('big-result', fixture('big-result.asl.json')),
      machine('fractional-timeout', fixture('fractional-timeout.asl.json')),
      machine('endless', fixture('endless.asl.json')),
    ],
  });
});
afterAll(async () => {
  await fx?.stop();
});

async function run(name: string, input: unknown, timeoutMs?: number) {
  const { executionArn } = await fx.clients.sfn.send(
    new StartExecutionCommand({ stateMachineArn: arn(name), input: JSON.stringify(input) }),
  );
  return { executionArn: executionArn!, described: await finished(fx.clients.sfn, executionArn!, timeoutMs) };
}

describe('payload quota (256 KiB)', () => {
  it('refuses StartExecution with a 300 KB input, starting nothing', async () => {
    const input = JSON.stringify({ blob: 'x'.repeat(300_000) });

    const start = fx.clients.sfn.send(new StartExecutionCommand({ stateMachineArn: arn('endless'), input }));

    await expect(start).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('fails the execution with States.DataLimitExceeded when a task result passes it, past a States.ALL catch', async () => {
    const { executionArn, described } = await run('big-result', { bytes: 300_000 });

    expect(described).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(described.cause).toContain("'Produce'");
    const history = await fx.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.events?.some((e) => e.stateEnteredEventDetails?.name === 'Caught')).toBe(false);
  });

  it('lets a task result just under the quota through', async () => {
    const { described } = await run('big-result', { bytes: 200_000 });

    expect(described.status).toBe('SUCCEEDED');
  });

  it('runs the plan machine over 5,000 tenants without collecting their outputs past the quota', async () => {
    const { described } = await run('plan', { planId: '01M83WC4YHQN0S20AKEP4E2QPM', attempt: 0 }, 120_000);

    expect(described.status).toBe('SUCCEEDED');
  });
});

describe('Lambda payload quota (6 MB, synchronous)', () => {
  it('refuses an invocation whose event is over 6 MiB before the function runs', async () => {
    const invoke = fx.runtime.invokeFunction('limits', { bytes: 0, padding: 'x'.repeat(6 * 1024 * 1024) });

    await expect(invoke).rejects.toMatchObject({ name: 'RequestTooLargeException', status: 413 });
  });

  it('fails an invocation whose response is over 6 MB with Function.ResponseSizeTooLarge', async () => {
    const invoke = fx.runtime.invokeFunction('limits', { bytes: 6_400_000 });

    await expect(invoke).rejects.toMatchObject({
      name: 'Function.ResponseSizeTooLarge',
      message: expect.stringContaining('exceeded maximum allowed payload size'),
    });
  });

  it('returns a response just under the quota', async () => {
    const result = await fx.runtime.invokeFunction('limits', { bytes: 6_000_000 });

    expect((result as { blob: string }).blob).toHaveLength(6_000_000);
  });
});

describe('TimeoutSecondsPath', () => {
  it('fails with States.Runtime, uncaught and before the task calls anything, when the path resolves to a fraction', async () => {
    const before = fx.runtime.bus.archive().length;

    const { described } = await run('fractional-timeout', { timeoutSeconds: 1.5 });

    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(
      fx.runtime.bus
        .archive()
        .slice(before)
        .some((e) => e['detail-type'] === 'Announced'),
    ).toBe(false);
  });
});

describe('execution history quota', () => {
  it('fails an execution whose history reaches 25,000 events', async () => {
    const { executionArn, described } = await run('endless', {}, 120_000);

    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    const last = await fx.clients.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 }),
    );
    expect(last.events?.[0]).toMatchObject({ type: 'ExecutionFailed' });
    expect(last.events?.[0]?.id).toBe(25_000);
  });
});

describe('execution names', () => {
  it('accepts the characters AWS accepts and refuses the ones it forbids', async () => {
    const start = (name: string) =>
      fx.clients.sfn.send(new StartExecutionCommand({ stateMachineArn: arn('task'), name, input: '{}' }));

    await expect(start('plan.v2_ünïcode-1')).resolves.toMatchObject({ executionArn: expect.any(String) });
    for (const bad of ['has space', 'a/b', 'a:b', 'x'.repeat(81), '', 'tab\there', 'curly{']) {
      await expect(start(bad), bad).rejects.toBeInstanceOf(InvalidName);
    }
  });
});
