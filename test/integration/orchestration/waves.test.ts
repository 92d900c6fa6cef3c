import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict } from '../../../functions/core/errors.ts';
import type { RolloutEvent } from '../../../functions/core/model.ts';
import { operatePlan } from '../../../functions/core/orchestration/operations.ts';
import { approvePlan } from '../../../functions/core/orchestration/wave-flow.ts';
import type { WaveState } from '../../../functions/core/waves.ts';
import { accessKeyOf, LOCAL_SECRET_ACCESS_KEY } from '../../../local/iam.ts';
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

const configs = (tenants: string[]) => tenants.map((t) => tenantConfig(h.engine, t, '2'));

async function waitForWave(planId: string, index: number, check: (wave: WaveState) => boolean) {
  return eventually(
    async () => {
      const wave = (await h.deps.store.getStrategy(planId))?.waves[index];
      return wave && check(wave) ? wave : undefined;
    },
    60_000,
    50,
  );
}

const ofType = (events: RolloutEvent[], type: RolloutEvent['type']) => events.filter((e) => e.type === type);
const waveName = (event: RolloutEvent) => (event.detail?.wave as { name: string } | undefined)?.name;
/** Position of an event in the order the events were written. */
const order = (events: RolloutEvent[]) => new Map(events.map((e, i) => [e.eventId, i]));

describe('waves', () => {
  it('runs the canary first: no tenant of the next wave starts before the canary has finished and baked', async () => {
    const tenants = ['canary-first-0', 'canary-first-1', 'canary-first-2', 'canary-first-3'];
    const { plan } = await submit(h, {
      maxConcurrency: 3,
      configs: configs(tenants),
      strategy: { waves: [{ name: 'canary', count: 1, bakeSeconds: 0.5 }, { name: 'rest' }] },
    });

    const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

    expect(done.status).toBe('COMPLETED');
    expect(done.completedTasks).toBe(4);
    const events = (await allEvents(h, plan.planId)).sort((a, b) => a.eventId.localeCompare(b.eventId));
    expect(gapless(events)).toBe(true);
    const at = order(events);
    const canaryCompleted = ofType(events, 'PlanWaveCompleted').find((e) => waveName(e) === 'canary')!;
    const canaryBaking = ofType(events, 'PlanWaveBaking').find((e) => waveName(e) === 'canary')!;
    const canaryDone = ofType(events, 'TaskCompleted').find((e) => e.tenantId === tenants[0])!;
    expect(at.get(canaryDone.eventId)!).toBeLessThan(at.get(canaryBaking.eventId)!);
    const laterStarts = ofType(events, 'TaskStarted').filter((e) => e.tenantId !== tenants[0]);
    expect(laterStarts).toHaveLength(3);
    for (const start of laterStarts)
      expect(at.get(start.eventId)!).toBeGreaterThan(at.get(canaryCompleted.eventId)!);
    expect(ofType(events, 'PlanWaveStarted').map(waveName)).toEqual(['canary', 'rest']);
    const strategy = await h.deps.store.getStrategy(plan.planId);
    expect(strategy?.waves.map((w) => [w.name, w.status, w.tenantCount])).toEqual([
      ['canary', 'COMPLETED', 1],
      ['rest', 'COMPLETED', 3],
    ]);
  });

  it('halts the plan when the canary fails: no tenant of a later wave is touched', async () => {
    const tenants = ['halt-0', 'halt-1', 'halt-2'];
    h.engine.setFaults({ tenantId: 'halt-0', service: 'app', neverHealthy: true });
    try {
      const { plan } = await submit(h, {
        healthCheck: { intervalSeconds: 0.05, maxAttempts: 2, timeoutSeconds: 2 },
        configs: configs(tenants),
        strategy: { waves: [{ name: 'canary', tenants: ['halt-0'] }, { name: 'rest' }] },
      });

      const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

      expect(done.status).toBe('FAILED');
      expect(done.failureInfo).toMatchObject({ type: 'WAVE_FAILED', wave: 'canary' });
      const later = (await h.deps.store.listTasks(plan.planId)).filter((t) => t.tenantId !== 'halt-0');
      expect(later.map((t) => [t.status, t.failureInfo?.type])).toEqual([
        ['CANCELLED', 'WAVE_HALTED'],
        ['CANCELLED', 'WAVE_HALTED'],
      ]);
      const events = await allEvents(h, plan.planId);
      expect(ofType(events, 'TaskStarted').map((e) => e.tenantId)).toEqual(['halt-0']);
      expect(ofType(events, 'PlanWaveFailed').map(waveName)).toEqual(['canary']);
      expect(await h.deps.store.getCurrentConfig('halt-1', 'app')).toBeUndefined();
      const strategy = await h.deps.store.getStrategy(plan.planId);
      expect(strategy?.waves.map((w) => w.status)).toEqual(['FAILED', 'SKIPPED']);
    } finally {
      h.engine.clearFaults();
    }
  });

  it('fails the wave when an endpoint regresses while it bakes', async () => {
    const tenants = ['bake-0', 'bake-1'];
    const { plan } = await submit(h, {
      configs: configs(tenants),
      strategy: { waves: [{ name: 'canary', count: 1, bakeSeconds: 60 }, { name: 'rest' }] },
    });
    await waitForWave(plan.planId, 0, (wave) => wave.status === 'BAKING');

    h.engine.setFaults({ tenantId: 'bake-0', service: 'db', wrongVersion: '9' });
    try {
      const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

      expect(done.status).toBe('FAILED');
      expect(done.failureInfo?.type).toBe('BAKE_REGRESSION');
      expect(done.failureInfo?.wave).toBe('canary');
      expect(done.failureInfo?.message).toContain('tenant bake-0');
      expect(done.failureInfo?.message).toContain('reported version 9, expected 2');
      const rest = await h.deps.store.tasksAt(plan.planId, [1]);
      expect(rest[0]?.status).toBe('CANCELLED');
    } finally {
      h.engine.clearFaults();
    }
  });

  it("halts a wave when one of the plan's alarms goes to ALARM while it runs", async () => {
    const cloudwatch = new CloudWatchClient({});
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: 'checkout-5xx',
        Namespace: 'Shop',
        MetricName: '5xx',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
    // The first wave's tenant takes a few health rounds, so the alarm fires while the wave runs.
    h.engine.setFaults({ tenantId: 'alarm-0', service: 'app', healthyAfterPolls: 10 });
    try {
      const { plan } = await submit(h, {
        healthCheck: { intervalSeconds: 0.1, maxAttempts: 30, timeoutSeconds: 2 },
        configs: configs(['alarm-0', 'alarm-1']),
        strategy: { waves: [{ name: 'first', count: 1 }, { name: 'rest' }], alarms: ['checkout-5xx'] },
      });
      await waitForWave(plan.planId, 0, (wave) => wave.status === 'RUNNING');

      await cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: 'checkout-5xx',
          StateValue: 'ALARM',
          StateReason: 'errors spiked',
        }),
      );

      const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);
      expect(done.status).toBe('FAILED');
      expect(done.failureInfo).toMatchObject({ type: 'ALARM', wave: 'first' });
      expect(done.failureInfo?.message).toContain('alarm checkout-5xx is in ALARM while it ran');
      expect((await h.deps.store.tasksAt(plan.planId, [1]))[0]).toMatchObject({
        status: 'CANCELLED',
        failureInfo: { type: 'WAVE_HALTED' },
      });
    } finally {
      h.engine.clearFaults();
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: 'checkout-5xx', StateValue: 'OK', StateReason: 'test over' }),
      );
    }
  });

  it('does not start a wave while an alarm is in ALARM, nor when a named alarm does not exist', async () => {
    const cloudwatch = new CloudWatchClient({});
    await cloudwatch.send(
      new PutMetricAlarmCommand({ AlarmName: 'already-firing', MetricName: 'm', Namespace: 'n' }),
    );
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'already-firing', StateValue: 'ALARM', StateReason: 'on fire' }),
    );

    const firing = await submit(h, {
      configs: configs(['fired-0']),
      strategy: { waves: [{ name: 'all' }], alarms: ['already-firing'] },
    });
    const missing = await submit(h, {
      configs: configs(['nameless-0']),
      strategy: { waves: [{ name: 'all' }], alarms: ['no-such-alarm'] },
    });

    const [firingDone, missingDone] = await Promise.all([
      waitForPlan(h, firing.plan.planId, ['COMPLETED', 'FAILED']),
      waitForPlan(h, missing.plan.planId, ['COMPLETED', 'FAILED']),
    ]);
    expect(firingDone.failureInfo?.message).toContain('alarm already-firing is in ALARM before it started');
    expect(missingDone.failureInfo?.message).toContain('alarm(s) no-such-alarm not found');
    expect(firingDone.completedTasks + missingDone.completedTasks).toBe(0);
    expect(await h.deps.store.getCurrentConfig('fired-0', 'app')).toBeUndefined();
  });

  it('lets the wave function read alarms and nothing more of CloudWatch', async () => {
    await new CloudWatchClient({}).send(
      new PutMetricAlarmCommand({ AlarmName: 'read-only', MetricName: 'm', Namespace: 'n' }),
    );
    const asWave = new CloudWatchClient({
      credentials: { accessKeyId: accessKeyOf('wave'), secretAccessKey: LOCAL_SECRET_ACCESS_KEY },
    });

    const described = await asWave.send(new DescribeAlarmsCommand({ AlarmNames: ['read-only'] }));
    const moved = asWave.send(
      new SetAlarmStateCommand({ AlarmName: 'read-only', StateValue: 'OK', StateReason: 'x' }),
    );

    expect(described.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['read-only']);
    await expect(moved).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        'cloudwatch:SetAlarmState on resource: arn:aws:cloudwatch:us-east-1:000000000000:alarm:read-only',
      ),
    });
  });

  it('with onFailure ROLLBACK rolls back every tenant that changed something, confirmed by health checks', async () => {
    const tenants = ['undo-0', 'undo-1', 'undo-2'];
    const { plan } = await submit(h, {
      configs: tenants.map((t) =>
        tenantConfig(h.engine, t, '2', ['app', 'db'], {
          sourceTenantDeployConfig: { tenantId: t, deployUnitVersion: '1' },
        }),
      ),
      strategy: {
        waves: [{ name: 'canary', count: 2, maxConcurrency: 2, bakeSeconds: 60 }, { name: 'rest' }],
        onFailure: 'ROLLBACK',
      },
    });
    await waitForWave(plan.planId, 0, (wave) => wave.status === 'BAKING');

    // The canary's first tenant falls back to reporting the old version: a regression the rollback then confirms.
    h.engine.setFaults({ tenantId: 'undo-0', wrongVersion: '1' });
    try {
      const done = await waitForPlan(h, plan.planId, ['ROLLED_BACK', 'ROLLBACK_FAILED', 'COMPLETED']);

      expect(done.status).toBe('ROLLED_BACK');
      expect(done.failureInfo).toMatchObject({ type: 'BAKE_REGRESSION', wave: 'canary' });
      const tasks = await h.deps.store.listTasks(plan.planId);
      expect(tasks.map((t) => [t.tenantId, t.status])).toEqual([
        ['undo-0', 'ROLLED_BACK'],
        ['undo-1', 'ROLLED_BACK'],
        ['undo-2', 'CANCELLED'],
      ]);
      expect((await h.deps.store.getCurrentConfig('undo-1', 'db'))?.version).toBe('1');
      expect(
        h.engine
          .state()
          .services.filter((s) => s.tenantId === 'undo-1')
          .map((s) => s.version),
      ).toEqual(['1', '1']);
      expect(await h.deps.store.getCurrentConfig('undo-2', 'app')).toBeUndefined();
    } finally {
      h.engine.clearFaults();
    }
  });

  it('waits for approval before a gated wave, and starts it once approved', async () => {
    const tenants = ['gate-0', 'gate-1'];
    const { plan } = await submit(h, {
      configs: configs(tenants),
      strategy: {
        waves: [
          { name: 'canary', count: 1 },
          { name: 'rest', approval: true },
        ],
      },
    });
    await waitForWave(plan.planId, 1, (wave) => wave.status === 'AWAITING_APPROVAL');
    expect((await h.deps.store.tasksAt(plan.planId, [1]))[0]?.status).toBe('CREATED');

    const approved = await approvePlan(h.deps, plan.planId);

    expect(approved).toMatchObject({ targetType: 'PLAN', success: true });
    const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const events = await allEvents(h, plan.planId);
    expect(ofType(events, 'PlanWaveAwaitingApproval').map(waveName)).toEqual(['rest']);
    expect(ofType(events, 'PlanWaveApproved').map(waveName)).toEqual(['rest']);
    await expect(approvePlan(h.deps, plan.planId)).rejects.toBeInstanceOf(Conflict);
  });

  it('cancels the plan while a wave waits for approval, ending its plan execution', async () => {
    const { plan } = await submit(h, {
      configs: configs(['wait-0', 'wait-1']),
      strategy: { waves: [{ name: 'first', count: 1, approval: true }, { name: 'rest' }] },
    });
    await waitForWave(plan.planId, 0, (wave) => wave.approvalToken !== undefined);

    await operatePlan(h.deps, plan.planId, 'cancel');

    const done = await waitForPlan(h, plan.planId, ['CANCELLED']);
    expect(done.cancelledTasks).toBe(2);
    await eventually(
      async () => {
        const current = await h.deps.store.requirePlan(plan.planId);
        const execution = await h.deps.sfn.send(
          new DescribeExecutionCommand({ executionArn: current.executionArn }),
        );
        return execution.status === 'SUCCEEDED';
      },
      30_000,
      50,
    );
    expect(await h.deps.store.getCurrentConfig('wait-0', 'app')).toBeUndefined();
  });
});
