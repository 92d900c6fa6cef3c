import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForPlan } from '../integration/orchestration/harness.ts';
import { type ApiHarness, type Reply, startApiHarness, TOKEN, tenant } from './harness.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(async () => {
  await api?.stop();
});

interface Event {
  eventId: string;
  type: string;
  sequenceType: 'PLAN' | 'TASK';
  sequenceId: number;
  taskId?: string;
}

async function allEvents(planId: string): Promise<{ events: Event[]; last: string | null }> {
  const events: Event[] = [];
  let last: string | null = null;
  for (;;) {
    const page: Reply<{ events: Event[]; last: string | null }> = await api.call(
      'GET',
      `/v1/plans/${planId}/events${last ? `?after=${last}` : ''}`,
    );
    if (!page.body.events.length) return { events, last };
    events.push(...page.body.events);
    last = page.body.last;
  }
}

async function finishedPlan() {
  const created = await api.call('POST', '/v1/plans', { body: api.planBody([tenant('events')]) });
  await waitForPlan(api.h, created.body.planId, ['COMPLETED']);
  return created.body as { planId: string; taskIds: string[] };
}

it('pages through events in order, and `after` takes an eventId or a plan sequenceId', async () => {
  const plan = await finishedPlan();

  const { events, last } = await allEvents(plan.planId);
  const planEvents = events.filter((e) => e.sequenceType === 'PLAN');
  const afterFirstPlanEvent = await api.call('GET', `/v1/plans/${plan.planId}/events?after=1&limit=500`);
  const fromStart = await api.call('GET', `/v1/plans/${plan.planId}/events?after=0&limit=2`);

  expect(events.at(-1)?.type).toBe('PlanCompleted');
  expect(planEvents.map((e) => e.sequenceId)).toEqual(planEvents.map((_, i) => i + 1));
  expect(last).toBe(events.at(-1)?.eventId);
  const position = events.findIndex((e) => e.sequenceType === 'PLAN' && e.sequenceId === 1);
  expect(afterFirstPlanEvent.body.events.map((e: Event) => e.eventId)).toEqual(
    events.slice(position + 1).map((e) => e.eventId),
  );
  expect(fromStart.body.events.map((e: Event) => e.eventId)).toEqual(
    events.slice(0, 2).map((e) => e.eventId),
  );
});

it('returns an empty page at the deadline when nothing happens', async () => {
  const plan = await finishedPlan();
  const { last } = await allEvents(plan.planId);

  const page = await api.call('GET', `/v1/plans/${plan.planId}/events?after=${last}&waitSeconds=1`);

  expect(page.body).toEqual({ events: [], last });
});

it('long-poll returns as soon as a new event exists, well before waitSeconds', {
  timeout: 10_000,
}, async () => {
  const plan = await finishedPlan();
  const { last } = await allEvents(plan.planId);

  const waiting = api.call('GET', `/v1/plans/${plan.planId}/events?after=${last}&waitSeconds=20`);
  const rollback = await api.call('POST', `/v1/plans/${plan.planId}/rollback`);
  const page = await waiting;

  expect(rollback.status).toBe(200);
  expect(page.status).toBe(200);
  expect(page.body.events[0].type).toBe('PlanRollingBack');
  expect(page.body.last).toBe(page.body.events.at(-1).eventId);
  await waitForPlan(api.h, plan.planId, ['ROLLED_BACK', 'ROLLBACK_FAILED']);
});

it('streams NDJSON events as they happen and ends the stream when the plan ends', async () => {
  const created = await api.call('POST', '/v1/plans', {
    body: api.planBody([tenant('stream-a'), tenant('stream-b')], { maxConcurrency: 1 }),
  });

  const response = await fetch(`${api.url}/v1/plans/${created.body.planId}/events`, {
    headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/x-ndjson' },
  });
  const text = await response.text();

  expect(response.headers.get('content-type')).toBe('application/x-ndjson');
  const events = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Event);
  expect(events.filter((e) => e.type === 'TaskCompleted').map((e) => e.taskId)).toEqual(created.body.taskIds);
  expect(events.filter((e) => e.sequenceType === 'PLAN').at(-1)?.type).toBe('PlanCompleted');
  expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  expect((await api.call('GET', `/v1/plans/${created.body.planId}`)).body.status).toBe('COMPLETED');
});
