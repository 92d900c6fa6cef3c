import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allEvents,
  gapless,
  type Harness,
  startHarness,
  submit,
  tenantConfig,
  waitForPlan,
} from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

it('rolls a three-tenant plan out to every endpoint', async () => {
  const { plan } = await submit(h, {
    maxConcurrency: 2,
    configs: ['a', 'b', 'c'].map((t) => tenantConfig(h.engine, t, '2')),
  });

  const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

  if (done.status !== 'COMPLETED')
    console.log(
      h.logs.slice(-40).join('\n'),
      JSON.stringify(await h.deps.store.listTasks(plan.planId), null, 1),
    );
  expect(done.status).toBe('COMPLETED');
  expect(h.engine.state().services.filter((s) => s.version === '2').length).toBe(6);
  expect(gapless(await allEvents(h, plan.planId))).toBe(true);
});
