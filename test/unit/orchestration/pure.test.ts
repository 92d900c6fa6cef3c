import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  PUT_EVENTS_MAX_BYTES,
  putEventsBatches,
  putEventsEntrySize,
} from '../../../functions/core/bus-limits.ts';
import { failureFromStateError } from '../../../functions/core/orchestration/errors.ts';
import { entriesFromRecords } from '../../../functions/core/orchestration/publisher.ts';
import { stagesToRollBack } from '../../../functions/core/orchestration/rollback-flow.ts';
import { executionArnFor } from '../../../functions/core/resources.ts';

describe('rollback order', () => {
  it('walks the completed stages and the interrupted one in reverse', () => {
    expect(
      stagesToRollBack({ stages: ['a', 'b', 'c', 'd'], completedStages: ['a', 'b'], currentStage: 'c' }),
    ).toEqual(['c', 'b', 'a']);
  });

  it('skips stages already rolled back and stages never touched', () => {
    expect(
      stagesToRollBack({
        stages: ['a', 'b', 'c'],
        completedStages: ['a', 'b'],
        currentStage: 'b',
        rolledBackStages: ['b'],
      }),
    ).toEqual(['a']);
  });
});

describe('failure from a Catch', () => {
  it('takes the Lambda errorMessage out of the cause', () => {
    expect(
      failureFromStateError({
        Error: 'TenantLocked',
        Cause: JSON.stringify({ errorMessage: 'held by t-1', errorType: 'TenantLocked' }),
      }),
    ).toEqual({ type: 'LOCK', message: 'TenantLocked: held by t-1' });
  });

  it('reports a timeout as TIMEOUT with the stage', () => {
    expect(failureFromStateError({ Error: 'States.Timeout', Cause: 'timed out' }, 'app')).toEqual({
      type: 'TIMEOUT',
      message: 'States.Timeout: timed out',
      stage: 'app',
    });
  });
});

describe('publisher', () => {
  const record = (eventName: string, item: Record<string, unknown>) => ({
    eventName,
    dynamodb: { NewImage: marshall(item) as Record<string, unknown> },
  });

  it('publishes inserted event items only, with the event type as detail-type and no key attributes', () => {
    const event = {
      pk: 'PLAN#p',
      sk: 'EVENT#e1',
      expiresAt: 1,
      eventId: 'e1',
      type: 'TaskStarted',
      planId: 'p',
      timestamp: '2026-01-01T00:00:00.000Z',
    };

    const entries = entriesFromRecords(
      [
        record('INSERT', event),
        record('MODIFY', event),
        record('INSERT', { pk: 'PLAN#p', sk: 'TASK#t', status: 'RUNNING' }),
      ],
      'bus',
    );

    expect(entries.length).toBe(1);
    expect(entries[0]).toMatchObject({
      EventBusName: 'bus',
      Source: 'tenant-rollout',
      DetailType: 'TaskStarted',
    });
    expect(JSON.parse(entries[0]!.Detail!)).toEqual({
      eventId: 'e1',
      type: 'TaskStarted',
      planId: 'p',
      timestamp: '2026-01-01T00:00:00.000Z',
    });
  });
});

describe('PutEvents batches', () => {
  const entry = (detailBytes: number) => ({ Source: 's', DetailType: 'T', Detail: 'd'.repeat(detailBytes) });

  it('count an entry as EventBridge does: Time 14 bytes, the strings in UTF-8', () => {
    expect(
      putEventsEntrySize({ Source: 'ab', DetailType: 'é', Detail: '{}', Resources: ['r'], Time: new Date() }),
    ).toBe(14 + 2 + 2 + 2 + 1);
  });

  it('hold at most 10 entries and stay under 256 KB, keeping the order', () => {
    const small = Array.from({ length: 23 }, () => entry(10));
    const large = [entry(100_000), entry(100_000), entry(100_000), entry(10)];

    expect(putEventsBatches(small).map((b) => b.length)).toEqual([10, 10, 3]);
    const batches = putEventsBatches(large);
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    expect(batches.flat()).toEqual(large);
    for (const batch of batches) {
      expect(batch.reduce((n, e) => n + putEventsEntrySize(e), 0)).toBeLessThan(PUT_EVENTS_MAX_BYTES);
    }
  });

  it('send an entry too large on its own alone, so only it is refused', () => {
    expect(putEventsBatches([entry(10), entry(300_000), entry(10)]).map((b) => b.length)).toEqual([1, 1, 1]);
  });
});

describe('execution ARNs', () => {
  it('are derived from the state machine ARN and the execution name', () => {
    expect(executionArnFor('arn:aws:states:us-east-1:123456789012:stateMachine:task', 'x-r1')).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:task:x-r1',
    );
    expect(() => executionArnFor('arn:aws:lambda:us-east-1:1:function:f', 'x')).toThrow(
      /not a state machine ARN/,
    );
  });
});
