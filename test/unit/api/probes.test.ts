import { describe, expect, it } from 'vitest';
import { probeSystem } from '../../../functions/api/probes.ts';
import type { Deps } from '../../../functions/core/deps.ts';

/** An AWS SDK service error as the client raises it: the service answered, with this error. */
function serviceError(name: string, httpStatusCode: number) {
  return Object.assign(new Error(`${name} from the service`), { name, $metadata: { httpStatusCode } });
}

/** Clients that answer every call, except the event bus, which answers with `busError`. */
function depsWith(busError: Error): Deps {
  const answer = { send: async () => ({}) };
  return {
    store: { ctx: { doc: answer, tableName: 't' }, listHeldLocks: async () => [] },
    sfn: answer,
    events: {
      send: async () => {
        throw busError;
      },
    },
    resources: { planStateMachineArn: 'arn:aws:states:us-east-1:1:stateMachine:plan', eventBusName: 'bus' },
    now: () => new Date(),
  } as unknown as Deps;
}

describe('the event bus probe', () => {
  it.each([
    ['AccessDeniedException', 400],
    ['UnknownOperationException', 400],
    ['ResourceNotFoundException', 400],
    ['InternalException', 500],
  ])('reports the bus down when DescribeEventBus answers %s', async (name, status) => {
    const inputs = await probeSystem(depsWith(serviceError(name, status)), '1.0.0');

    expect(inputs.eventBus).toMatchObject({ ok: false, error: expect.stringContaining(name) });
    expect(inputs.store.ok && inputs.orchestrator.ok).toBe(true);
  });
});
