import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type AslStates,
  attributeValueSize,
  chargeableEvents,
  childPathLength,
  countStateTransitions,
  fargateUsage,
  itemSize,
  lambdaGbSeconds,
  numberSize,
  PRICES,
  priceUsage,
  readUnits,
  scaleBreakdown,
  type Usage,
  writeUnits,
} from '../../../bench/cost.ts';
import { stateMachineSpec } from '../../../statemachines/index.ts';

const NO_USAGE: Usage = {
  stateTransitions: 0,
  lambdaRequests: 0,
  lambdaGbSeconds: 0,
  writeUnits: 0,
  readUnits: 0,
  events: 0,
  fargateVcpuHours: 0,
  fargateGbHours: 0,
};

describe('countStateTransitions (Standard workflows)', () => {
  it('counts every state entered, whatever its type', () => {
    const history = [
      { type: 'ExecutionStarted' },
      { type: 'TaskStateEntered' },
      { type: 'TaskScheduled' },
      { type: 'TaskSucceeded' },
      { type: 'TaskStateExited' },
      { type: 'ChoiceStateEntered' },
      { type: 'ChoiceStateExited' },
      { type: 'MapStateEntered' },
      { type: 'MapIterationStarted' },
      { type: 'PassStateEntered' },
      { type: 'SucceedStateEntered' },
      { type: 'ExecutionSucceeded' },
    ];
    expect(countStateTransitions(history)).toEqual({ entered: 5, retries: 0, total: 5 });
  });

  it('bills each retry of a Task as one more transition', () => {
    const history = [
      { type: 'TaskStateEntered' },
      { type: 'TaskScheduled' },
      { type: 'TaskFailed' },
      { type: 'TaskScheduled' },
      { type: 'TaskFailed' },
      { type: 'TaskScheduled' },
      { type: 'TaskSucceeded' },
      { type: 'TaskStateExited' },
    ];
    expect(countStateTransitions(history)).toEqual({ entered: 1, retries: 2, total: 3 });
  });

  it('does not mistake interleaved parallel Map iterations for retries', () => {
    const history = [
      { type: 'TaskStateEntered' },
      { type: 'TaskStateEntered' },
      { type: 'TaskScheduled' },
      { type: 'TaskScheduled' },
      { type: 'TaskSucceeded' },
      { type: 'TaskSucceeded' },
    ];
    expect(countStateTransitions(history).retries).toBe(0);
  });
});

describe('childPathLength (Distributed Map child workflows)', () => {
  const processor: AslStates = {
    StartAt: 'Deploy',
    States: {
      Deploy: { Type: 'Task', Next: 'Note', Catch: [{ Next: 'Record' }] },
      Note: { Type: 'Pass', End: true },
      Record: { Type: 'Pass', Next: 'Failed' },
      Failed: { Type: 'Fail' },
    },
  };

  it('follows Next from StartAt on success', () => {
    expect(childPathLength(processor, 'success')).toBe(2);
  });

  it('follows the first Catch when the start state fails', () => {
    expect(childPathLength(processor, 'caught')).toBe(3);
  });

  it("matches the plan machine's item processor: one state per tenant, two when it failed", () => {
    const plan = JSON.parse(readFileSync(stateMachineSpec('plan').file, 'utf8')) as {
      States: Record<string, { ItemProcessor?: AslStates }>;
    };
    const itemProcessor = Object.values(plan.States).find((s) => s.ItemProcessor)!.ItemProcessor!;
    expect(childPathLength(itemProcessor, 'success')).toBe(1);
    expect(childPathLength(itemProcessor, 'caught')).toBe(2);
  });

  it('refuses a path that loops', () => {
    const looping: AslStates = {
      StartAt: 'A',
      States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', Next: 'A' } },
    };
    expect(() => childPathLength(looping, 'success')).toThrow(/loop/);
  });
});

describe('DynamoDB item size and request units', () => {
  it('sizes strings by UTF-8 bytes and names by their length', () => {
    expect(itemSize({ pk: { S: 'abc' } })).toBe(2 + 3);
    expect(attributeValueSize({ S: 'é' })).toBe(2);
  });

  it('sizes numbers by significant digits', () => {
    expect(numberSize('1')).toBe(2);
    expect(numberSize('12345')).toBe(4);
    expect(numberSize('-0.00120')).toBe(2);
  });

  it('adds 3 bytes per document and one per element', () => {
    expect(attributeValueSize({ M: { a: { S: 'xy' } } })).toBe(3 + 1 + 2 + 1);
    expect(attributeValueSize({ L: [{ BOOL: true }, { NULL: true }] })).toBe(3 + 2 + 2);
  });

  it('charges one write unit per started KB, and two for a transactional write', () => {
    expect(writeUnits(10)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(writeUnits(1025, { transactional: true })).toBe(4);
  });

  it('charges one read unit per started 4 KB consistently read, half when eventually consistent', () => {
    expect(readUnits(4096, { consistent: true })).toBe(1);
    expect(readUnits(4097, { consistent: true })).toBe(2);
    expect(readUnits(100)).toBe(0.5);
    expect(readUnits(100, { transactional: true })).toBe(2);
  });
});

describe('Lambda, EventBridge and Fargate units', () => {
  it('rounds Lambda durations up to the millisecond before multiplying by memory', () => {
    expect(lambdaGbSeconds(1024, 1000)).toBe(1);
    expect(lambdaGbSeconds(256, 10.2)).toBeCloseTo(0.25 * 0.011, 12);
  });

  it('counts each started 64 KB of an event as one event', () => {
    expect(chargeableEvents([100, 65_536, 65_537])).toBe(1 + 1 + 2);
  });

  it('bills Fargate for at least one minute', () => {
    expect(fargateUsage(1024, 2048, 10)).toEqual({ vcpuHours: 60 / 3600, gbHours: (2 * 60) / 3600 });
    expect(fargateUsage(256, 512, 120).vcpuHours).toBeCloseTo(0.25 * (120 / 3600), 12);
  });
});

describe('priceUsage', () => {
  it('prices 1,000 state transitions at $0.025', () => {
    expect(priceUsage({ ...NO_USAGE, stateTransitions: 1000 }).stepFunctions).toBeCloseTo(0.025, 12);
  });

  it('prices a million requests and write/read units at the published rates', () => {
    const cost = priceUsage({
      ...NO_USAGE,
      lambdaRequests: 1e6,
      writeUnits: 1e6,
      readUnits: 1e6,
      events: 1e6,
    });
    expect(cost.lambda).toBeCloseTo(0.2, 12);
    expect(cost.dynamodb).toBeCloseTo(0.625 + 0.125, 12);
    expect(cost.eventBridge).toBeCloseTo(1, 12);
  });

  it('keeps engines out of the engines-excluded total', () => {
    const cost = priceUsage({ ...NO_USAGE, stateTransitions: 8, fargateVcpuHours: 1, fargateGbHours: 2 });
    expect(cost.excludingEngines).toBeCloseTo(8 * PRICES.stepFunctionsPerTransition, 15);
    expect(cost.includingEngines).toBeCloseTo(
      cost.excludingEngines + PRICES.fargatePerVcpuHour + 2 * PRICES.fargatePerGbHour,
      12,
    );
  });

  it('scales a per-tenant breakdown to 1,000 tenants', () => {
    const perTenant = priceUsage({ ...NO_USAGE, stateTransitions: 8 });
    expect(scaleBreakdown(perTenant, 1000).stepFunctions).toBeCloseTo(0.2, 12);
  });
});
