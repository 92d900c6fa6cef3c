import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitPlan } from '../../../functions/core/orchestration/plan-flow.ts';
import { eventually } from '../support.ts';
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

describe('rolling a plan out', () => {
  it('completes a 20-tenant plan at maxConcurrency 5 with gapless events for every task and the plan', async () => {
    const tenants = Array.from({ length: 20 }, (_, i) => `wide-${i}`);
    const { plan } = await submit(h, {
      maxConcurrency: 5,
      configs: tenants.map((t) => tenantConfig(h.engine, t, '2')),
    });

    const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

    expect(done.status).toBe('COMPLETED');
    expect(done.completedTasks).toBe(20);
    const events = await allEvents(h, plan.planId);
    expect(gapless(events)).toBe(true);
    const slots = h.engine.state().services.filter((s) => s.tenantId?.startsWith('wide-'));
    expect(slots.length).toBe(40);
    expect(slots.every((s) => s.version === '2')).toBe(true);
    const tasks = await h.deps.store.listTasks(plan.planId);
    expect(tasks.every((t) => t.status === 'COMPLETED' && t.completedStages.join() === 'app,db')).toBe(true);
    expect(await h.deps.store.getLock('wide-0')).toBeUndefined();
    expect((await h.deps.store.getGoodConfig('wide-7', 'db'))?.version).toBe('2');
  });

  it('never runs more than maxConcurrency tenants at once', async () => {
    const tenants = Array.from({ length: 8 }, (_, i) => `conc-${i}`);
    h.engine.setFaults({ service: 'app', healthyAfterPolls: 3 });
    try {
      const { plan } = await submit(h, {
        maxConcurrency: 3,
        configs: tenants.map((t) => tenantConfig(h.engine, t, '2')),
      });
      await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

      const events = (await allEvents(h, plan.planId)).filter(
        (e) => e.type === 'TaskStarted' || e.type === 'TaskCompleted',
      );
      events.sort((a, b) => a.eventId.localeCompare(b.eventId));
      let running = 0;
      let peak = 0;
      for (const e of events) {
        running += e.type === 'TaskStarted' ? 1 : -1;
        peak = Math.max(peak, running);
      }
      expect(peak).toBe(3);
    } finally {
      h.engine.clearFaults();
    }
  });

  it('runs tenants strictly in request order at maxConcurrency 1', async () => {
    const tenants = ['fifo-e', 'fifo-a', 'fifo-d', 'fifo-b', 'fifo-c'];
    const { plan } = await submit(h, {
      maxConcurrency: 1,
      configs: tenants.map((t) => tenantConfig(h.engine, t, '2')),
    });

    await waitForPlan(h, plan.planId, ['COMPLETED']);

    const events = await allEvents(h, plan.planId);
    const at = (type: string, tenant: string) =>
      Date.parse(events.find((e) => e.type === type && e.tenantId === tenant)!.timestamp);
    expect([...tenants].sort((x, y) => at('TaskStarted', x) - at('TaskStarted', y))).toEqual(tenants);
    for (let i = 1; i < tenants.length; i++) {
      expect(at('TaskStarted', tenants[i]!)).toBeGreaterThanOrEqual(at('TaskCompleted', tenants[i - 1]!));
    }
  });

  it('fails a tenant whose endpoint never becomes healthy after exactly 10 rounds, naming the endpoint, while the others complete', async () => {
    h.engine.setFaults({ tenantId: 'sick', service: 'app', neverHealthy: true });
    try {
      const { plan } = await submitPlan(h.deps, {
        maxConcurrency: 3,
        healthCheck: { intervalSeconds: 0.02 },
        configs: ['well-1', 'sick', 'well-2'].map((t) => tenantConfig(h.engine, t, '2')),
      });

      const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

      expect(done.status).toBe('FAILED');
      expect(done.failureInfo?.type).toBe('TASKS_FAILED');
      const tasks = await h.deps.store.listTasks(plan.planId);
      const sick = tasks.find((t) => t.tenantId === 'sick')!;
      expect(sick.status).toBe('FAILED');
      expect(sick.failureInfo).toMatchObject({ type: 'HEALTH_CHECK', stage: 'app' });
      expect(sick.failureInfo?.message).toContain('after 10 round(s)');
      expect(sick.failureInfo?.message).toContain(`app@${h.engine.url}/t/sick/app`);
      const polls = h.engine
        .requests()
        .filter((r) => r.tenantId === 'sick' && r.kind === 'health' && !r.selfCheck);
      expect(polls.length).toBe(10);
      expect(tasks.filter((t) => t.tenantId !== 'sick').every((t) => t.status === 'COMPLETED')).toBe(true);
      expect(h.engine.requests().some((r) => r.tenantId === 'sick' && r.service === 'db')).toBe(false);
      const stageFailed = (await allEvents(h, plan.planId)).find((e) => e.type === 'TaskStageFailed');
      expect(stageFailed).toMatchObject({ tenantId: 'sick', currentStage: 'app' });
      expect(await h.deps.store.getLock('sick')).toBeUndefined();
    } finally {
      h.engine.clearFaults();
    }
  });

  it('fails a stage whose broadcast is refused, without health-checking it', async () => {
    h.engine.setFaults({ tenantId: 'refuser', service: 'db', failBroadcast: 503 });
    try {
      const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'refuser', '2')] });

      await waitForPlan(h, plan.planId, ['FAILED']);

      const [task] = await h.deps.store.listTasks(plan.planId);
      expect(task!.failureInfo).toMatchObject({ type: 'BROADCAST', stage: 'db' });
      expect(task!.failureInfo!.message).toContain('HTTP 503');
      expect(task!.completedStages).toEqual(['app']);
      expect(
        h.engine
          .requests()
          .some((r) => r.tenantId === 'refuser' && r.service === 'db' && r.kind === 'health'),
      ).toBe(false);
    } finally {
      h.engine.clearFaults();
    }
  });

  it('stops starting tenants once the failure threshold is exceeded', async () => {
    h.engine.setFaults({ tenantId: 'thr-0', service: 'app', neverHealthy: true });
    try {
      const { plan } = await submitPlan(h.deps, {
        maxConcurrency: 1,
        failureThreshold: 0,
        healthCheck: { intervalSeconds: 0.01, maxAttempts: 2 },
        configs: ['thr-0', 'thr-1', 'thr-2'].map((t) => tenantConfig(h.engine, t, '2')),
      });

      const done = await waitForPlan(h, plan.planId, ['FAILED', 'COMPLETED']);

      expect(done.status).toBe('FAILED');
      expect(done.failureInfo?.type).toBe('FAILURE_THRESHOLD');
      const tasks = await h.deps.store.listTasks(plan.planId);
      expect(tasks.map((t) => t.status)).toEqual(['FAILED', 'CANCELLED', 'CANCELLED']);
      expect(tasks[1]!.failureInfo?.type).toBe('FAILURE_THRESHOLD');
      expect(h.engine.requests().some((r) => r.tenantId === 'thr-1')).toBe(false);
    } finally {
      h.engine.clearFaults();
    }
  });

  it('publishes every event item on the bus with source tenant-rollout and the event type as detail-type', async () => {
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'published', '2')] });
    await waitForPlan(h, plan.planId, ['COMPLETED']);
    const stored = await allEvents(h, plan.planId);

    const published = await eventually(async () => {
      const mine = h.runtime.bus
        .archive()
        .filter(
          (e) =>
            e.source === 'tenant-rollout' &&
            e['detail-type'] !== 'TenantConfigChanged' &&
            (e.detail as { planId?: string }).planId === plan.planId,
        );
      const ids = new Set(mine.map((e) => (e.detail as { eventId: string }).eventId));
      return stored.every((e) => ids.has(e.eventId)) ? mine : undefined;
    });

    expect(new Set(published.map((e) => (e.detail as { eventId: string }).eventId))).toEqual(
      new Set(stored.map((e) => e.eventId)),
    );
    expect(published.find((e) => e['detail-type'] === 'PlanCompleted')).toBeDefined();
    const configChanged = h.runtime.bus.archive().filter((e) => e['detail-type'] === 'TenantConfigChanged');
    expect(configChanged.some((e) => (e.detail as { tenantId?: string }).tenantId === 'published')).toBe(
      true,
    );
  });
});
