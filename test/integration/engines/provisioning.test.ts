/**
 * Engines on the real local runtime: the provision step starts the catalog's engine as a child
 * process behind the local ECS endpoint, the engine hands off over Step Functions, the stage
 * broadcasts to and health-checks it, and replaced / failed / rolled-back engines are stopped.
 */
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineRecord } from '../../../functions/core/model.ts';
import { rollbackTask } from '../../../functions/core/orchestration/operations.ts';
import { engineCommandsFromCatalog } from '../../../local/engines.ts';
import {
  allEvents,
  type Harness,
  startHarness,
  submit,
  tenantConfig,
  waitForPlan,
  waitForTask,
} from '../orchestration/harness.ts';
import { enginePid, eventually, processGone } from '../support.ts';

const SERVICES = ['app', 'media-engine'];

const getJson = async (url: string) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** True once nothing answers at `url` (the engine's socket is closed). */
const refuses = async (url: string) => {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
};

async function enginesOf(h: Harness, tenantId: string, taskId?: string): Promise<EngineRecord[]> {
  const engines = await h.deps.store.listEngines(tenantId);
  return engines.filter((e) => !taskId || e.taskId === taskId);
}

async function ecsTask(h: Harness, taskArn: string) {
  const described = await h.deps.ecs.send(
    new DescribeTasksCommand({ cluster: h.runtime.env.ECS_CLUSTER_ARN, tasks: [taskArn] }),
  );
  return described.tasks?.[0];
}

/** The URL an engine logged when it started listening (known before, or without, a hand-off). */
function loggedUrl(h: Harness, engineId: string): string | undefined {
  for (const line of h.logs) {
    if (!line.includes(`"engineId":"${engineId}"`) || !line.includes('reference engine listening')) continue;
    return (JSON.parse(line.slice(line.indexOf('{'))) as { url: string }).url;
  }
  return undefined;
}

async function onlyTask(h: Harness, planId: string) {
  const [task] = await h.deps.store.listTasks(planId);
  return task!;
}

// Handler modules read their table and endpoints once per process, so the whole file shares one runtime.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    // The public request never carries faults: they reach the engines through their local environment.
    engineCommands: engineCommandsFromCatalog({
      FAULTS: JSON.stringify([
        { tenantId: 'silent', neverHandOff: true },
        { tenantId: 'crashy', exitBeforeHandOff: 3 },
        { tenantId: 'refuser', service: 'media-engine', failBroadcast: 500 },
      ]),
    }),
  });
});
afterAll(async () => {
  await h?.stop();
});

describe('engines from the catalog', () => {
  it('starts one engine per tenant per service, hands off, health-checks it, and drains it once replaced', async () => {
    const first = await submit(h, {
      maxConcurrency: 2,
      configs: ['alpha', 'beta'].map((t) => tenantConfig(h.engine, t, '2', SERVICES)),
    });
    expect((await waitForPlan(h, first.plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    const tasks = await h.deps.store.listTasks(first.plan.planId);
    const registry = await Promise.all(['alpha', 'beta'].map((t) => enginesOf(h, t)));
    const [alphaEngine, betaEngine] = registry.map((engines) => {
      expect(engines).toHaveLength(1);
      return engines[0]!;
    });
    expect(alphaEngine).toMatchObject({
      tenantId: 'alpha',
      service: 'media-engine',
      state: 'ready',
      version: '2',
      taskId: tasks.find((t) => t.tenantId === 'alpha')!.taskId,
      endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      taskArn: expect.stringContaining(':task/'),
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(betaEngine!.endpoint).not.toBe(alphaEngine!.endpoint);
    const old = alphaEngine!;
    const endpoint = old.endpoint!;

    // The engine at the registry's endpoint is this tenant's, and the broadcast switched it to the rolled-out version.
    const health = await getJson(`${endpoint}/health`);
    expect(health).toEqual({
      status: 200,
      body: {
        status: 'UP',
        tenantId: 'alpha',
        service: 'media-engine',
        engineId: old.engineId,
        version: '2',
      },
    });
    expect((await getJson(`${endpoint}/config`)).body).toMatchObject({ tenantId: 'alpha', version: '2' });
    // The stage's health check polled the engine itself (not only the engine's own readiness probe).
    const polls = (await getJson(`${endpoint}/_admin/requests?kind=health`)).body.requests as {
      selfCheck?: boolean;
      reportedVersion?: string;
    }[];
    expect(polls.some((p) => !p.selfCheck && p.reportedVersion === '2')).toBe(true);
    const events = await allEvents(h, first.plan.planId);
    const engineStage = events.find(
      (e) => e.type === 'TaskStageSucceeded' && e.tenantId === 'alpha' && e.currentStage === 'media-engine',
    );
    expect(JSON.stringify(engineStage?.detail)).toContain(`engine ${old.engineId}`);
    const oldPid = await enginePid(endpoint);

    const second = await submit(h, { configs: [tenantConfig(h.engine, 'alpha', '3', SERVICES)] });
    expect((await waitForPlan(h, second.plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');

    const secondTask = await onlyTask(h, second.plan.planId);
    const [replacement] = await enginesOf(h, 'alpha', secondTask.taskId);
    expect(replacement).toMatchObject({ state: 'ready', version: '3' });
    expect((await getJson(`${replacement!.endpoint}/health`)).body.version).toBe('3');
    const drained = await eventually(async () => {
      const [e] = (await enginesOf(h, 'alpha')).filter((e) => e.engineId === old.engineId);
      return e?.state === 'stopped' ? e : undefined;
    }, 15_000);
    expect(drained.drainAfter).toBeDefined();
    // StopTask only asks: the task is STOPPED once its process has exited.
    await eventually(async () => (await ecsTask(h, old.taskArn!))?.lastStatus === 'STOPPED');
    await eventually(async () => (await refuses(`${endpoint}/health`)) && processGone(oldPid), 10_000);
    // Another tenant's engine is not touched by alpha's drain.
    expect((await enginesOf(h, 'beta'))[0]?.state).toBe('ready');
    expect((await getJson(`${betaEngine!.endpoint}/health`)).body.version).toBe('2');
  });

  it('stops an engine that never calls back once the provision timeout passes, and fails the stage', async () => {
    const { plan } = await submit(h, {
      provisionTimeoutSeconds: 2,
      configs: [tenantConfig(h.engine, 'silent', '2', SERVICES)],
    });

    const engine = await eventually(async () => (await enginesOf(h, 'silent'))[0]);
    const url = await eventually(async () => loggedUrl(h, engine.engineId));
    const pid = await enginePid(url);
    const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED']);

    expect(done.status).toBe('FAILED');
    const task = await onlyTask(h, plan.planId);
    expect(task.status).toBe('FAILED');
    expect(task.failureInfo).toEqual({
      type: 'PROVISION',
      stage: 'media-engine',
      message: `engine ${engine.engineId} for media-engine did not hand off within 2 s (States.Timeout); it was stopped`,
    });
    const failed = await eventually(async () => {
      const [e] = await enginesOf(h, 'silent');
      return e?.state === 'failed' && e.taskArn ? e : undefined;
    });
    const stopped = await ecsTask(h, failed.taskArn!);
    expect(stopped).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'UserInitiated' });
    const running = await h.deps.ecs.send(
      new ListTasksCommand({ cluster: h.runtime.env.ECS_CLUSTER_ARN, startedBy: engine.engineId }),
    );
    expect(running.taskArns).toEqual([]);
    await eventually(async () => (await refuses(`${url}/health`)) && processGone(pid), 10_000);
  });

  it('rollback stops the engine the task started and the previous engine keeps serving', async () => {
    const stages = ['media-engine', 'app'];
    const first = await submit(h, { configs: [tenantConfig(h.engine, 'gamma', '2', stages)] });
    expect((await waitForPlan(h, first.plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const [previous] = await enginesOf(h, 'gamma');

    // The second rollout gets its new engine ready, then fails at the next stage, so nothing is drained.
    h.engine.setFaults({ tenantId: 'gamma', service: 'app', failBroadcast: 500 });
    const second = await submit(h, { configs: [tenantConfig(h.engine, 'gamma', '3', stages)] });
    expect((await waitForPlan(h, second.plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('FAILED');
    h.engine.clearFaults();
    const failedTask = await onlyTask(h, second.plan.planId);
    expect(failedTask.completedStages).toEqual(['media-engine']);
    const [started] = await enginesOf(h, 'gamma', failedTask.taskId);
    expect(started).toMatchObject({ state: 'ready', version: '3' });
    const startedPid = await enginePid(started!.endpoint!);

    await rollbackTask(h.deps, failedTask.taskId);
    const rolledBack = await waitForTask(h, failedTask.taskId, (t) =>
      ['ROLLED_BACK', 'ROLLBACK_FAILED'].includes(t.status),
    );

    expect(rolledBack.status).toBe('ROLLED_BACK');
    const after = await enginesOf(h, 'gamma');
    expect(after.find((e) => e.engineId === started!.engineId)?.state).toBe('stopped');
    expect(after.find((e) => e.engineId === previous!.engineId)?.state).toBe('ready');
    expect((await ecsTask(h, started!.taskArn!))?.lastStatus).toBe('STOPPED');
    await eventually(
      async () => (await refuses(`${started!.endpoint}/health`)) && processGone(startedPid),
      10_000,
    );
    const serving = await getJson(`${previous!.endpoint}/health`);
    expect(serving.body).toMatchObject({ status: 'UP', engineId: previous!.engineId, version: '2' });
  });

  it('rolls back a first-ever engine stage by stopping the engine it started', async () => {
    const source = tenantConfig(h.engine, 'delta', '1', SERVICES);
    const { plan } = await submit(h, {
      configs: [tenantConfig(h.engine, 'delta', '2', SERVICES, { sourceTenantDeployConfig: source })],
    });
    expect((await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const [started] = await enginesOf(h, 'delta');
    expect(started).toMatchObject({ state: 'ready', version: '2' });

    await rollbackTask(h.deps, plan.taskIds[0]!);

    const task = await waitForTask(h, plan.taskIds[0]!, (t) =>
      ['ROLLED_BACK', 'ROLLBACK_FAILED'].includes(t.status),
    );
    expect(task.status).toBe('ROLLED_BACK');
    expect((await enginesOf(h, 'delta'))[0]?.state).toBe('stopped');
    await eventually(() => refuses(`${started!.endpoint}/health`), 10_000);
    const app = h.engine.state().services.find((s) => s.tenantId === 'delta' && s.service === 'app');
    expect(app?.version).toBe('1');
  });

  it('stops the engine of a stage that failed after its hand-off, so the registry never shows it ready', async () => {
    const { plan } = await submit(h, { configs: [tenantConfig(h.engine, 'refuser', '2', SERVICES)] });
    const handedOff = await eventually(async () => {
      const [e] = await enginesOf(h, 'refuser');
      return e?.state === 'ready' ? e : undefined;
    });
    const pid = await enginePid(handedOff.endpoint!);

    expect((await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('FAILED');

    const task = await onlyTask(h, plan.planId);
    expect(task.failureInfo).toMatchObject({ type: 'BROADCAST', stage: 'media-engine' });
    const [after] = await enginesOf(h, 'refuser');
    expect(after).toMatchObject({ engineId: handedOff.engineId, state: 'stopped' });
    await eventually(async () => (await ecsTask(h, handedOff.taskArn!))?.lastStatus === 'STOPPED');
    await eventually(async () => (await refuses(`${handedOff.endpoint}/health`)) && processGone(pid), 10_000);
  });

  it('fails the stage at once with the exit code in failureInfo, not at the provision timeout', async () => {
    const startedAt = Date.now();
    const { plan } = await submit(h, {
      provisionTimeoutSeconds: 120,
      configs: [tenantConfig(h.engine, 'crashy', '2', SERVICES)],
    });

    const done = await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED'], 30_000);

    expect(done.status).toBe('FAILED');
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    const [engine] = await enginesOf(h, 'crashy');
    const task = await onlyTask(h, plan.planId);
    expect(task.failureInfo).toEqual({
      type: 'PROVISION',
      stage: 'media-engine',
      message: `engine ${engine!.engineId} for media-engine exited with code 3 before hand-off: Essential container in task exited`,
    });
    expect(task.completedStages).toEqual(['app']);
    const failed = await eventually(async () => {
      const [e] = await enginesOf(h, 'crashy');
      return e?.state === 'failed' && e.taskArn ? e : undefined;
    });
    const stopped = await ecsTask(h, failed.taskArn!);
    expect(stopped).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'EssentialContainerExited' });
    expect(stopped?.containers?.[0]?.exitCode).toBe(3);
    const failedEvent = (await allEvents(h, plan.planId)).find((e) => e.type === 'TaskFailed');
    expect(failedEvent?.failureInfo?.message).toContain('exited with code 3');
  });
});

describe('stopping the runtime', () => {
  // Last in the file: it stops the shared runtime (afterAll's stop is then a no-op).
  it('leaves no engine process behind', async () => {
    const { plan } = await submit(h, {
      maxConcurrency: 2,
      configs: ['delta', 'epsilon'].map((t) => tenantConfig(h.engine, t, '2', SERVICES)),
    });
    expect((await waitForPlan(h, plan.planId, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const serving = (await h.deps.store.listEngines()).filter((e) => e.state === 'ready');
    expect(serving.filter((e) => ['delta', 'epsilon'].includes(e.tenantId))).toHaveLength(2);
    const endpoints = serving.map((e) => e.endpoint!);
    const pids = await Promise.all(endpoints.map(enginePid));
    expect(pids.filter(processGone)).toEqual([]);

    await h.stop();

    expect(pids.filter((pid) => !processGone(pid))).toEqual([]);
    for (const endpoint of endpoints) expect(await refuses(`${endpoint}/health`)).toBe(true);
  });
});
