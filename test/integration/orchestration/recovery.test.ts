import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type ReferenceEngine, startReferenceEngine } from '../../../engines/reference/server.ts';
import type { RolloutEvent } from '../../../functions/core/model.ts';
import { createStore, type Store } from '../../../functions/core/store/index.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/aws-env.ts';
import { ensureTable } from '../../../local/dynamodb.ts';
import { eventually } from '../support.ts';
import { gapless, tenantConfig } from './harness.ts';

const script = fileURLToPath(new URL('./fixtures/runtime-process.ts', import.meta.url));
const children: ChildProcess[] = [];
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
});

/** Starts the runtime process and resolves with what it printed once ready. */
function startRuntimeProcess(planBody?: unknown): Promise<{ child: ChildProcess; planId?: string }> {
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      DYNAMO_ENDPOINT: inject('dynamoEndpoint'),
      TABLE_NAME: tableName,
      ...(planBody ? { PLAN_BODY: JSON.stringify(planBody) } : {}),
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
  await startRuntimeProcess();

  const plan = await eventually(async () => {
    const p = await store.getPlan(planId);
    return p?.status === 'COMPLETED' || p?.status === 'FAILED' ? p : undefined;
  }, 90_000);

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
