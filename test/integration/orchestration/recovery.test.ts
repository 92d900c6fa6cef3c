import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type ReferenceEngine, startReferenceEngine } from '../../../engines/reference/server.ts';
import { executionName, RECOVERY_BACKOFF } from '../../../functions/core/decisions.ts';
import { taskIdFor } from '../../../functions/core/keys.ts';
import type { RolloutEvent } from '../../../functions/core/model.ts';
import { createStore, type Store } from '../../../functions/core/store/index.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/aws-env.ts';
import { ensureTable } from '../../../local/dynamodb.ts';
import { enginePid, eventually, processGone } from '../support.ts';
import { gapless, tenantConfig } from './harness.ts';

const script = fileURLToPath(new URL('./fixtures/runtime-process.ts', import.meta.url));
const children: ChildProcess[] = [];
const homes: string[] = [];
let engine: ReferenceEngine;
let store: Store;
const tableName = `recovery-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  engine = await startReferenceEngine({ engineVersion: '1' });
  const client = new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  await ensureTable(client, tableName);
  store = createStore({ client, tableName });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await engine?.stop();
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

/** Starts the runtime process (see the fixture for `env`) and resolves with what it printed once ready. */
function startRuntimeProcess(
  planBody?: unknown,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; planId?: string }> {
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      DYNAMO_ENDPOINT: inject('dynamoEndpoint'),
      TABLE_NAME: tableName,
      ...(planBody ? { PLAN_BODY: JSON.stringify(planBody) } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let planId: string | undefined;
    child.once('exit', (code) => reject(new Error(`runtime process exited early with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { planId?: string; ready?: boolean };
      planId ??= message.planId;
      if (message.ready) resolve({ child, planId });
    });
  });
}

async function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL') {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** The task once the execution recorded on it runs `stage` itself, after `recoveries` recoveries. */
const inStage = (taskId: string, stage: string, recoveries: number) =>
  eventually(async () => {
    const task = await store.getTask(taskId);
    return task?.status === 'RUNNING' &&
      task.currentStage === stage &&
      task.stageStartedBy === task.executionArn &&
      (task.recoveryCount ?? 0) === recoveries
      ? task
      : undefined;
  }, 60_000);

const planEnded = (planId: string) =>
  eventually(async () => {
    const p = await store.getPlan(planId);
    return p?.status === 'COMPLETED' || p?.status === 'FAILED' ? p : undefined;
  }, 90_000);

async function eventsOf(planId: string): Promise<RolloutEvent[]> {
  const events: RolloutEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listEvents(planId, { afterEventId: after, limit: 500 });
    if (!page.events.length) return events;
    events.push(...page.events);
    after = page.last;
  }
}

it('finishes a plan after the runtime is killed mid-plan and started again, with no lost or repeated stage', async () => {
  const tenants = Array.from({ length: 6 }, (_, i) => `crash-${i}`);
  for (const t of tenants) engine.setFaults({ tenantId: t, healthyAfterPolls: 6 });
  const first = await startRuntimeProcess({
    maxConcurrency: 2,
    healthCheck: { intervalSeconds: 0.05, maxAttempts: 40 },
    configs: tenants.map((t) => tenantConfig(engine, t, '2')),
  });
  const planId = first.planId!;
  await eventually(async () => {
    const tasks = await store.listTasks(planId);
    return (
      tasks.filter((t) => t.status === 'COMPLETED').length >= 2 &&
      tasks.some((t) => t.status === 'RUNNING' && t.completedStages.length === 1)
    );
  }, 60_000);

  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  const atCrash = await store.listTasks(planId);
  expect(atCrash.some((t) => t.status !== 'COMPLETED')).toBe(true);
  const restarted = await startRuntimeProcess();

  const plan = await planEnded(planId);
  // The tests after this one run their own runtimes on the same table.
  await kill(restarted.child);

  expect(plan.status).toBe('COMPLETED');
  const tasks = await store.listTasks(planId);
  expect(tasks.every((t) => t.status === 'COMPLETED' && t.completedStages.join() === 'app,db')).toBe(true);
  const events = await eventsOf(planId);
  expect(gapless(events)).toBe(true);
  for (const task of tasks) {
    const succeeded = events.filter((e) => e.taskId === task.taskId && e.type === 'TaskStageSucceeded');
    expect(succeeded.map((e) => e.currentStage)).toEqual(['app', 'db']);
  }
  for (const task of atCrash.filter((t) => t.status === 'RUNNING')) {
    const retry = events.find((e) => e.taskId === task.taskId && e.type === 'TaskRetryStarted');
    expect(retry?.detail).toMatchObject({ fromCheckpoint: true, reason: 'EXECUTION_LOST' });
  }
  // A stage completed before the crash was never broadcast again.
  for (const task of atCrash) {
    for (const stage of task.completedStages) {
      const configs = engine
        .requests()
        .filter((r) => r.tenantId === task.tenantId && r.service === stage && r.kind === 'config');
      expect(configs.length).toBe(1);
    }
  }
  expect(
    engine
      .state()
      .services.filter((s) => s.tenantId?.startsWith('crash-'))
      .every((s) => s.version === '2'),
  ).toBe(true);
}, 180_000);

/** A ROLLOUT_HOME of its own, as `npm start` keeps one: the restarted runtime finds the killed run's executions ended. */
async function runtimeHome() {
  const home = await mkdtemp(join(tmpdir(), 'recovery-home-'));
  homes.push(home);
  return { RUNTIME_HOME: home };
}

/** A runtime process that submits a one-tenant, two-stage plan, health polled every second (slow enough to kill mid-stage). */
async function startOneTenantPlan(tenant: string, version: string, env: Record<string, string>) {
  const { child, planId } = await startRuntimeProcess(
    {
      healthCheck: { intervalSeconds: 1, maxAttempts: 100 },
      configs: [tenantConfig(engine, tenant, version)],
    },
    env,
  );
  return { child, planId: planId!, taskId: taskIdFor(planId!, 0) };
}

it('resumes a task from its checkpoint however often its execution is lost, spending none of its retries', async () => {
  const tenant = 'lost-often';
  const env = await runtimeHome();
  // The db stage waits until the faults are cleared, so every kill lands in it.
  engine.setFaults({ tenantId: tenant, service: 'db', neverHealthy: true });
  let { child, planId, taskId } = await startOneTenantPlan(tenant, '2', env);

  // One loss more than the operator's 3 retries would have allowed.
  for (let loss = 0; loss < 4; loss++) {
    await inStage(taskId, 'db', loss);
    await kill(child);
    ({ child } = await startRuntimeProcess(undefined, env));
  }
  await inStage(taskId, 'db', 4);
  engine.clearFaults({ tenantId: tenant, service: 'db' });
  const plan = await planEnded(planId);

  expect(plan.status).toBe('COMPLETED');
  const task = await store.requireTask(taskId);
  expect(task).toMatchObject({ status: 'COMPLETED', retryCount: 0, recoveryCount: 4 });
  expect(task.failureInfo).toBeUndefined();
  const events = await eventsOf(planId);
  expect(gapless(events)).toBe(true);
  const recoveries = events.filter((e) => e.type === 'TaskRetryStarted');
  expect(recoveries.map((e) => e.detail)).toEqual(
    [1, 2, 3, 4].map((recovery) => ({ fromCheckpoint: true, reason: 'EXECUTION_LOST', recovery })),
  );
  expect(events.filter((e) => e.type === 'TaskRetryCompleted').map((e) => e.detail)).toEqual([
    { success: true },
  ]);
  // The app stage completed before the first loss and was never run again.
  const appConfigs = engine
    .requests()
    .filter((r) => r.tenantId === tenant && r.service === 'app' && r.kind === 'config');
  expect(appConfigs).toHaveLength(1);
  await kill(child);
}, 300_000);

it('recovers an operator-retried task the supervisor finds without its execution under a new name, keeping its retry count', async () => {
  const tenant = 'retried-lost';
  const env = await runtimeHome();
  engine.setFaults({ tenantId: tenant, service: 'db', failBroadcast: 500 });
  const first = await startOneTenantPlan(tenant, '2', env);
  const { planId, taskId } = first;
  expect((await planEnded(planId)).status).toBe('FAILED');
  await kill(first.child);
  engine.setFaults({ tenantId: tenant, service: 'db', neverHealthy: true });

  // The retry runs alone (the plan's Map is over), so only the supervisor can find it lost.
  const retried = await startRuntimeProcess(undefined, { ...env, RETRY_TASK_ID: taskId });
  await inStage(taskId, 'db', 0);
  await kill(retried.child);
  const restarted = await startRuntimeProcess(undefined, env);
  const recovered = await inStage(taskId, 'db', 1);

  expect(recovered.retryCount).toBe(1);
  expect(recovered.executionArn).toMatch(new RegExp(`:${executionName.recovery(taskId, 1)}$`));
  engine.clearFaults({ tenantId: tenant, service: 'db' });
  expect((await planEnded(planId)).status).toBe('COMPLETED');
  const events = (await eventsOf(planId)).filter((e) => e.taskId === taskId);
  expect(events.filter((e) => e.type === 'TaskRetryStarted').map((e) => e.detail)).toEqual([
    { fromCheckpoint: true },
    { fromCheckpoint: true, reason: 'EXECUTION_LOST', recovery: 1 },
  ]);
  expect((await store.requireTask(taskId)).retryCount).toBe(1);
  await kill(restarted.child);
}, 300_000);

it('resumes a rollback whose execution is lost from the stages it restored, under the recovery backoff', async () => {
  const tenant = 'rollback-lost';
  const env = await runtimeHome();
  const planTo = async (version: string) => {
    const started = await startOneTenantPlan(tenant, version, env);
    expect((await planEnded(started.planId)).status).toBe('COMPLETED');
    await kill(started.child);
    return started;
  };
  await planTo('2');
  const { planId, taskId } = await planTo('3');
  // The rollback's first stage (db) waits until the faults are cleared, so every kill lands in it.
  engine.setFaults({ tenantId: tenant, service: 'db', neverHealthy: true });
  /** The task once the rollback execution recorded on it, after `recoveries` recoveries, restores db. */
  const rollingBackDb = (recoveries: number) =>
    eventually(async () => {
      const task = await store.getTask(taskId);
      if (task?.status !== 'ROLLING_BACK' || (task.recoveryCount ?? 0) !== recoveries) return undefined;
      const restoring = (await eventsOf(planId)).filter(
        (e) => e.taskId === taskId && e.type === 'TaskStageRollingBack' && e.currentStage === 'db',
      );
      return restoring.length === recoveries + 1 ? task : undefined;
    }, 60_000);

  let { child } = await startRuntimeProcess(undefined, { ...env, ROLLBACK_TASK_ID: taskId });
  for (let loss = 0; loss < 2; loss++) {
    await rollingBackDb(loss);
    await kill(child);
    ({ child } = await startRuntimeProcess(undefined, env));
  }
  const recovered = await rollingBackDb(2);
  engine.clearFaults({ tenantId: tenant, service: 'db' });
  const task = await eventually(async () => {
    const t = await store.getTask(taskId);
    return t?.status === 'ROLLED_BACK' || t?.status === 'ROLLBACK_FAILED' ? t : undefined;
  }, 90_000);

  expect(task).toMatchObject({ status: 'ROLLED_BACK', retryCount: 0, recoveryCount: 2 });
  expect(recovered.executionArn).toMatch(new RegExp(`:${executionName.rollback(taskId, 3)}$`));
  const events = (await eventsOf(planId)).filter((e) => e.taskId === taskId);
  expect(gapless(events)).toBe(true);
  const recoveries = events.filter((e) => e.type === 'TaskRetryStarted');
  expect(recoveries.map((e) => [e.status, e.detail])).toEqual(
    [1, 2].map((recovery) => ['ROLLING_BACK', { fromCheckpoint: true, reason: 'EXECUTION_LOST', recovery }]),
  );
  // The second recovery waited out the backoff counted from the first.
  const [firstAt, secondAt] = recoveries.map((e) => Date.parse(e.timestamp));
  expect(secondAt! - firstAt!).toBeGreaterThanOrEqual(RECOVERY_BACKOFF.firstMs);
  expect(events.filter((e) => e.type === 'TaskStageRolledBack').map((e) => e.currentStage)).toEqual([
    'db',
    'app',
  ]);
  expect(
    engine
      .state()
      .services.filter((s) => s.tenantId === tenant)
      .map((s) => s.version),
  ).toEqual(['2', '2']);
  await kill(child);
}, 300_000);

it('stops the engine of the lost attempt when a recovered task provisions its stage again', async () => {
  const tenant = 'engine-lost';
  const { RUNTIME_HOME: home } = await runtimeHome();
  // Engines answer unhealthy for their first polls, so the kill lands after the hand-off, mid-stage.
  const env = {
    RUNTIME_HOME: home,
    FAULTS: JSON.stringify([{ tenantId: tenant, service: 'media-engine', healthyAfterPolls: 30 }]),
  };
  const first = await startRuntimeProcess(
    {
      healthCheck: { intervalSeconds: 0.2, maxAttempts: 100 },
      configs: [
        { tenantId: tenant, deployUnitVersion: '2', serviceNames: ['media-engine'], networkEndpoints: [] },
      ],
    },
    env,
  );
  const planId = first.planId!;
  const lost = await eventually(async () => {
    const [e] = await store.listEngines(tenant);
    return e?.state === 'ready' ? e : undefined;
  }, 60_000);
  const lostPid = await enginePid(lost.endpoint!);
  await kill(first.child);
  expect(processGone(lostPid)).toBe(false);

  const second = await startRuntimeProcess(undefined, env);
  const plan = await planEnded(planId);

  expect(plan.status).toBe('COMPLETED');
  const engines = await store.listEngines(tenant);
  expect(engines.find((e) => e.engineId === lost.engineId)?.state).toBe('stopped');
  const serving = engines.filter((e) => e.state === 'ready');
  expect(serving).toHaveLength(1);
  await eventually(async () => processGone(lostPid), 15_000);
  const servingPid = await enginePid(serving[0]!.endpoint!);
  await kill(second.child, 'SIGTERM');
  await eventually(async () => processGone(servingPid), 15_000);
}, 300_000);
