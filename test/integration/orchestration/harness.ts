/**
 * The real system on the local runtime: the project's functions and state
 * machines, a fresh table on the shared DynamoDB Local (or a DynamoDB Local of
 * its own, see ownDynamoDb), and one in-process
 * reference engine serving every tenant's endpoints.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { type ReferenceEngine, startReferenceEngine } from '../../../engines/reference/server.ts';
import { dispatch } from '../../../functions/api/dispatch.ts';
import { type Deps, depsFromEnv } from '../../../functions/core/deps.ts';
import type { Plan, RolloutEvent, Task } from '../../../functions/core/model.ts';
import { submitPlan } from '../../../functions/core/orchestration/plan-flow.ts';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../../local/runtime.ts';
import { eventually } from '../support.ts';

export interface Harness {
  runtime: LocalRuntime;
  deps: Deps;
  engine: ReferenceEngine;
  logs: string[];
  stop(): Promise<void>;
}

export interface HarnessOptions extends LocalRuntimeOptions {
  /**
   * The runtime starts a DynamoDB Local of its own, stopped with it. For files that write tens of
   * thousands of items: DynamoDB Local serves every request on one thread and slows down with what
   * it holds, even after a table is deleted, so the shared one would slow every later test file.
   */
  ownDynamoDb?: boolean;
}

export async function startHarness({ ownDynamoDb, ...options }: HarnessOptions = {}): Promise<Harness> {
  const logs: string[] = [];
  const engine = await startReferenceEngine({ engineVersion: '1' });
  const runtime = await startLocalRuntime({
    ...(ownDynamoDb ? {} : { dynamoEndpoint: inject('dynamoEndpoint') }),
    tableName: `rollout-${randomUUID().slice(0, 8)}`,
    inMemory: true,
    ecsStopGraceMs: 2_000,
    scheduleEveryMs: { supervisor: 500 },
    extraEnv: { SUPERVISOR_SWEEPS: '1', ROLLOUT_DRAIN_GRACE_SECONDS: '1' },
    log: (line) => logs.push(line),
    ...options,
  });
  const deps = depsFromEnv();
  return {
    runtime,
    deps,
    engine,
    logs,
    async stop() {
      await runtime.stop();
      await engine.stop();
    },
  };
}

/** A tenant config whose endpoints (one per stage) are slots on the reference engine. */
export function tenantConfig(
  engine: ReferenceEngine,
  tenantId: string,
  version: string,
  serviceNames: string[] = ['app', 'db'],
  extra: Record<string, unknown> = {},
) {
  return {
    tenantId,
    deployUnitVersion: version,
    serviceNames,
    networkEndpoints: serviceNames.map((key) => ({ key, value: `${engine.url}/t/${tenantId}/${key}` })),
    ...extra,
  };
}

export const FAST_HEALTH = { intervalSeconds: 0.05, maxAttempts: 10, timeoutSeconds: 2 };

export async function submit(h: Harness, body: Record<string, unknown>) {
  return submitPlan(h.deps, { healthCheck: FAST_HEALTH, ...body });
}

/** A request to the HTTP API as the api function answers it (route table, validation, auth). */
export function callApi(
  h: Harness,
  request: { method: string; path: string; body?: string; headers?: Record<string, string> },
) {
  const token = 'harness-api-token';
  return dispatch(
    h.deps,
    {
      method: request.method,
      path: request.path,
      query: {},
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...request.headers },
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    { token },
  );
}

export async function waitForPlan(
  h: Harness,
  planId: string,
  statuses: Plan['status'][],
  timeoutMs = 60_000,
) {
  return eventually(
    async () => {
      const plan = await h.deps.store.getPlanWithCounts(planId);
      return plan && statuses.includes(plan.status) ? plan : undefined;
    },
    timeoutMs,
    100,
  );
}

export async function waitForTask(
  h: Harness,
  taskId: string,
  check: (task: Task) => boolean,
  timeoutMs = 60_000,
) {
  return eventually(
    async () => {
      const task = await h.deps.store.getTask(taskId);
      return task && check(task) ? task : undefined;
    },
    timeoutMs,
    50,
  );
}

export async function allEvents(h: Harness, planId: string): Promise<RolloutEvent[]> {
  const events: RolloutEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await h.deps.store.listEvents(planId, { afterEventId: after, limit: 500 });
    if (!page.events.length) return events;
    events.push(...page.events);
    after = page.last;
  }
}

/** Sequence ids of each task (and of the plan) are exactly 1..n. */
export function gapless(events: readonly RolloutEvent[]): boolean {
  const byStream = new Map<string, number[]>();
  for (const e of events) {
    const key = e.sequenceType === 'PLAN' ? 'PLAN' : e.taskId!;
    byStream.set(key, [...(byStream.get(key) ?? []), e.sequenceId]);
  }
  return [...byStream.values()].every((seqs) =>
    [...seqs].sort((a, b) => a - b).every((seq, i) => seq === i + 1),
  );
}
