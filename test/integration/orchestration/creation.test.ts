/**
 * A large plan whose asynchronous creation fails: the plan machine's Start plan is given
 * one second (by configuration) to write 3,000 tasks and their 3,000 events, several times
 * what DynamoDB Local writes in a second, so its invocation times out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planPk } from '../../../functions/core/keys.ts';
import { inPartition, queryAll } from '../../../functions/core/store/context.ts';
import { SORT_KEY } from '../../../functions/core/table.ts';
import { FUNCTIONS } from '../../../functions/manifest.ts';
import { callApi, FAST_HEALTH, type Harness, startHarness, tenantConfig, waitForPlan } from './harness.ts';

const TENANTS = 3_000;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    ownDynamoDb: true,
    functions: FUNCTIONS.map((f) => (f.name === 'start-plan' ? { ...f, timeoutSeconds: 1 } : f)),
  });
});
afterAll(async () => {
  await h?.stop();
});

const post = (body: string) =>
  callApi(h, { method: 'POST', path: '/v1/plans', body, headers: { 'idempotency-key': 'doomed' } });

describe('a large plan whose creation fails', () => {
  it('ends FAILED with the reason, leaves no task, staged chunk or count behind, and keeps answering its key with it', async () => {
    const configs = Array.from({ length: TENANTS }, (_, i) => tenantConfig(h.engine, `doomed-${i}`, '2'));
    const body = JSON.stringify({ name: 'doomed', healthCheck: FAST_HEALTH, configs });

    const reply = await post(body);
    expect(reply.status).toBe(202);
    const { planId } = JSON.parse(reply.body!) as { planId: string };
    const failed = await waitForPlan(h, planId, ['FAILED'], 120_000);
    // The timed-out invocation goes on writing in the background (as middy leaves it): whatever it sends now
    // must be refused, or tasks would show up here.
    const left = await queryAll(h.deps.store.ctx, { ...inPartition(planPk(planId)), ConsistentRead: true });
    const repeated = await post(body);

    // middy ends the handler just before Lambda's own timeout, as TimeoutError.
    expect(failed.failureInfo?.message).toMatch(/^TimeoutError/);
    expect(failed.failureInfo?.message).toContain(`while writing the plan's ${TENANTS} tasks; none was kept`);
    // The plan holds no task: it counts none, in any status.
    expect(failed).toMatchObject({ totalTasks: 0, counts: {} });
    const kinds = new Set(left.map((item) => String(item[SORT_KEY]).split('#')[0]));
    expect([...kinds].sort()).toEqual(['EVENT', 'PLAN']);
    const events = left.filter((item) => String(item[SORT_KEY]).startsWith('EVENT'));
    expect(events.map((e) => e.type)).toEqual(['PlanFailed']);
    expect(await h.deps.store.getLock('doomed-0')).toBeUndefined();
    expect(repeated.status).toBe(200);
    expect(JSON.parse(repeated.body!)).toMatchObject({ planId, status: 'FAILED' });
  }, 300_000);
});
