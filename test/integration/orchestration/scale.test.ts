/**
 * Ten thousand tenants in one plan, through the API: accepted at once as CREATING,
 * a plan item of constant size, listed whole only once every task is written, and
 * no state payload anywhere near Step Functions' 256 KiB.
 */
import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../../functions/api/dispatch.ts';
import { planKey, planPk, TASK_SK_PREFIX } from '../../../functions/core/keys.ts';
import { inPartition, queryPages } from '../../../functions/core/store/context.ts';
import { eventually } from '../support.ts';
import { FAST_HEALTH, type Harness, startHarness, tenantConfig } from './harness.ts';

const TENANTS = 10_000;
const TOKEN = 'scale-test-token';
/** Step Functions' limit on every state input and output. https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions */
const STATE_PAYLOAD_LIMIT = 256 * 1024;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
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
  it('is accepted as CREATING, keeps a small plan item, is whole once listed as created, and keeps every state payload small', async () => {
    const configs = Array.from({ length: TENANTS }, (_, i) => tenantConfig(h.engine, `scale-${i}`, '2'));

    const reply = await dispatch(
      h.deps,
      {
        method: 'POST',
        path: '/v1/plans',
        query: {},
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ten thousand', healthCheck: FAST_HEALTH, configs }),
      },
      { token: TOKEN },
    );

    expect(reply.status).toBe(202);
    const accepted = JSON.parse(reply.body!) as { planId: string; status: string; taskIds: string[] };
    expect(accepted.status).toBe('CREATING');
    expect(accepted.taskIds).toHaveLength(TENANTS);
    const { planId } = accepted;

    // Every time the plan is listed it is either still CREATING (nothing started), or whole.
    const listings: { status: string; totalTasks: number; tasks?: number }[] = [];
    const deadline = Date.now() + 240_000;
    for (;;) {
      const listed = (await h.deps.store.listPlans({ limit: 100 })).plans.find((p) => p.planId === planId);
      if (!listed) throw new Error(`plan ${planId} is not listed`);
      if (listed.status === 'CREATING') {
        listings.push({ status: listed.status, totalTasks: listed.totalTasks });
      } else {
        listings.push({
          status: listed.status,
          totalTasks: listed.totalTasks,
          tasks: await countTasks(planId),
        });
        break;
      }
      if (Date.now() > deadline) throw new Error('the plan was still CREATING after 240 s');
      await new Promise((r) => setTimeout(r, 250));
    }
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
