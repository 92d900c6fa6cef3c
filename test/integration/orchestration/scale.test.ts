/**
 * Ten thousand tenants in one plan, through the API: accepted at once as CREATING,
 * a plan item of constant size, listed whole only once every task is written, the
 * idempotency key answering with the first plan, and no state payload anywhere near
 * Step Functions' 256 KiB. A plan requested on EventBridge is created the same way.
 */

import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resource } from '../../../functions/core/deps.ts';
import { planKey, planPk, TASK_SK_PREFIX } from '../../../functions/core/keys.ts';
import { PLAN_REQUESTED_DETAIL_TYPE } from '../../../functions/core/resources.ts';
import { inPartition, queryPages } from '../../../functions/core/store/context.ts';
import { eventually } from '../support.ts';
import {
  allEvents,
  callApi,
  FAST_HEALTH,
  type Harness,
  startHarness,
  tenantConfig,
  waitForPlan,
} from './harness.ts';

const TENANTS = 10_000;
/** Step Functions' limit on every state input and output. https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions */
const STATE_PAYLOAD_LIMIT = 256 * 1024;

let h: Harness;
beforeAll(async () => {
  // Tens of thousands of items: on a DynamoDB Local of its own (see ownDynamoDb).
  h = await startHarness({ ownDynamoDb: true });
});
afterAll(async () => {
  await h?.stop();
});

async function countTasks(planId: string): Promise<number> {
  let count = 0;
  for await (const page of queryPages(h.deps.store.ctx, {
    ...inPartition(planPk(planId), TASK_SK_PREFIX),
    Select: 'COUNT',
    ConsistentRead: true,
  })) {
    count += page.Count ?? 0;
  }
  return count;
}

/**
 * Lists the plan until it is no longer CREATING; each listing records the total it showed and, once
 * it is past CREATING, how many tasks were stored at that moment.
 */
async function listingsUntilCreated(planId: string, timeoutMs: number) {
  const listings: { status: string; totalTasks: number; tasks?: number }[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = (await h.deps.store.listPlans({ limit: 100 })).plans.find((p) => p.planId === planId);
    if (listed && listed.status !== 'CREATING') {
      listings.push({
        status: listed.status,
        totalTasks: listed.totalTasks,
        tasks: await countTasks(planId),
      });
      return listings;
    }
    if (listed) listings.push({ status: listed.status, totalTasks: listed.totalTasks });
    if (Date.now() > deadline) throw new Error(`plan ${planId} was still CREATING after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const post = (body: string, idempotencyKey: string) =>
  callApi(h, { method: 'POST', path: '/v1/plans', body, headers: { 'idempotency-key': idempotencyKey } });

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await h.deps.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** The largest input or output any state of the execution had so far, in bytes. */
function largestPayload(events: readonly HistoryEvent[]): number {
  let largest = 0;
  for (const event of events) {
    for (const details of Object.values(event)) {
      if (!details || typeof details !== 'object') continue;
      for (const field of ['input', 'output'] as const) {
        const payload = (details as Record<string, unknown>)[field];
        if (typeof payload === 'string') largest = Math.max(largest, Buffer.byteLength(payload));
      }
    }
  }
  return largest;
}

describe('a plan of ten thousand tenants', () => {
  it('is accepted as CREATING, keeps a small plan item, is whole once listed as created, answers a repeated key with the first plan, and keeps every state payload small', async () => {
    const configs = Array.from({ length: TENANTS }, (_, i) => tenantConfig(h.engine, `scale-${i}`, '2'));
    // maxConcurrency 1: the test needs the Map started, not ten thousand rollouts.
    const body = JSON.stringify({
      name: 'ten thousand',
      maxConcurrency: 1,
      healthCheck: FAST_HEALTH,
      configs,
    });

    const reply = await post(body, 'ten-thousand');
    const repeated = await post(body, 'ten-thousand');

    expect(reply.status).toBe(202);
    const accepted = JSON.parse(reply.body!) as { planId: string; status: string; taskIds: string[] };
    expect(accepted.status).toBe('CREATING');
    expect(accepted.taskIds).toHaveLength(TENANTS);
    const { planId } = accepted;
    expect(repeated.status).toBe(200);
    expect(JSON.parse(repeated.body!)).toMatchObject({ planId, taskIds: accepted.taskIds });

    // Every time the plan is listed it is either still CREATING (nothing started), or whole.
    const listings = await listingsUntilCreated(planId, 240_000);
    expect(listings.every((l) => l.totalTasks === TENANTS)).toBe(true);
    expect(listings.at(-1)).toMatchObject({ tasks: TENANTS });
    expect(listings.at(-1)?.status).not.toBe('FAILED');

    const item = await h.deps.store.ctx.doc.send(
      new GetCommand({ TableName: h.deps.store.ctx.tableName, Key: planKey(planId), ConsistentRead: true }),
    );
    expect(Buffer.byteLength(JSON.stringify(item.Item))).toBeLessThan(4096);

    const plan = await eventually(async () => {
      const current = await h.deps.store.getPlan(planId);
      return current?.status === 'RUNNING' && current.executionArn ? current : undefined;
    }, 60_000);
    // Once the Map runs, every later payload repeats one seen here: the Map keeps its input (ResultPath null,
    // and its items output nothing), and Finish plan reads that same input.
    const events = await eventually(async () => {
      const seen = await history(plan.executionArn!);
      return seen.some((e) => e.type === 'MapRunStarted') ? seen : undefined;
    }, 60_000);
    expect(largestPayload(events)).toBeLessThan(STATE_PAYLOAD_LIMIT / 4);
  }, 360_000);
});

describe('a large plan requested on EventBridge', () => {
  it('is created the same way: CREATING, then whole, and a redelivered event returns the first plan', async () => {
    // Large enough to be created asynchronously, small enough for an EventBridge entry (256 KB).
    const tenants = 600;
    const name = 'requested on the bus';
    const configs = Array.from({ length: tenants }, (_, i) =>
      tenantConfig(h.engine, `bus-${i}`, '2', ['app']),
    );
    const detail = JSON.stringify({ name, maxConcurrency: 1, healthCheck: FAST_HEALTH, configs });

    const put = await h.deps.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: resource(h.deps, 'eventBusName'),
            Source: 'scale.test',
            DetailType: PLAN_REQUESTED_DETAIL_TYPE,
            Detail: detail,
          },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    const planId = await eventually(async () => {
      const { plans } = await h.deps.store.listPlans({ limit: 100 });
      return plans.find((p) => p.name === name)?.planId;
    }, 60_000);
    const listings = await listingsUntilCreated(planId, 120_000);
    const event = h.runtime.bus.archive().find((e) => e.id === put.Entries?.[0]?.EventId);
    const redelivered = await h.runtime.invokeFunction('plan-requested', event);

    expect(listings.every((l) => l.totalTasks === tenants)).toBe(true);
    expect(listings.at(-1)).toMatchObject({ tasks: tenants });
    expect(listings.at(-1)?.status).not.toBe('FAILED');
    expect(redelivered).toEqual({ planId, created: false });
  }, 180_000);
});

describe('an action on a plan of 500 tasks or more', () => {
  /** A plan of `tenants` one-service tasks, running one at a time. */
  async function runningPlan(name: string, tenants: number): Promise<string> {
    const configs = Array.from({ length: tenants }, (_, i) =>
      tenantConfig(h.engine, `${name}-${i}`, '2', ['app']),
    );
    const created = await post(
      JSON.stringify({ name, maxConcurrency: 1, healthCheck: FAST_HEALTH, configs }),
      name,
    );
    const { planId } = JSON.parse(created.body!) as { planId: string };
    await waitForPlan(h, planId, ['RUNNING'], 120_000);
    return planId;
  }

  it('moves the plan in the request (202) and cancels every task after the answer, each exactly once', async () => {
    const tenants = 600;
    const planId = await runningPlan('cancelled-whole', tenants);

    const reply = await callApi(h, { method: 'POST', path: `/v1/plans/${planId}/cancel`, body: '{}' });

    expect(reply.status).toBe(202);
    const result = JSON.parse(reply.body!) as { appliedBy: string; finalStatus: string; success: boolean };
    expect(result).toMatchObject({ success: true, finalStatus: 'CANCELLED' });
    const ended = await eventually(async () => {
      const plan = await h.deps.store.getPlanWithCounts(planId);
      const counts = plan?.counts ?? {};
      return (counts.CANCELLED ?? 0) + (counts.COMPLETED ?? 0) === tenants ? plan : undefined;
    }, 120_000);
    // The last page's invocation returns after its tasks ended: wait for the execution to end as well.
    const execution = await eventually(async () => {
      const described = await h.deps.sfn.send(
        new DescribeExecutionCommand({ executionArn: result.appliedBy }),
      );
      return described.status === 'RUNNING' ? undefined : described;
    }, 60_000);
    const cancelled = (await allEvents(h, planId)).filter((e) => e.type === 'TaskCancelled');

    expect(ended?.status).toBe('CANCELLED');
    // At most the one task running at the cancel may have finished its last stage first.
    expect(ended?.counts.CANCELLED).toBeGreaterThanOrEqual(tenants - 1);
    expect(execution.status).toBe('SUCCEEDED');
    expect(cancelled).toHaveLength(ended?.counts.CANCELLED ?? -1);
    expect(new Set(cancelled.map((e) => e.taskId)).size).toBe(cancelled.length);
  }, 300_000);

  it('refuses a retry when no task failed, naming the reason', async () => {
    const planId = await runningPlan('nothing-to-retry', 500);

    const reply = await callApi(h, { method: 'POST', path: `/v1/plans/${planId}/retry`, body: '{}' });
    await callApi(h, { method: 'POST', path: `/v1/plans/${planId}/cancel`, body: '{}' });

    expect(reply.status).toBe(409);
    expect(reply.body).toContain('no failed task can be retried');
  }, 300_000);
});
