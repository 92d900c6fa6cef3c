/**
 * Measures what one plan uses, in AWS's units: state transitions from the
 * execution histories, Lambda invocations and durations, DynamoDB capacity
 * units, EventBridge events; then prices them per tenant deployment.
 */
import { readFileSync } from 'node:fs';
import { ENGINE_CATALOG, engineFor } from '../engines/catalog.ts';
import { EVENT_SOURCE } from '../functions/core/model.ts';
import { DEFAULTS } from '../functions/core/settings.ts';
import { stateMachineSpec } from '../statemachines/index.ts';
import {
  type AslStates,
  type CostBreakdown,
  chargeableEvents,
  childPathLength,
  countStateTransitions,
  fargateUsage,
  lambdaGbSeconds,
  PRICES,
  priceUsage,
  scaleBreakdown,
  type Usage,
} from './cost.ts';
import { meter, resetMeter } from './instrument.ts';
import { executionHistory, type PlanRun, planBody, runPlan, type System } from './system.ts';

export interface CostResult {
  tenants: number;
  stagesPerTask: number;
  planStatus: string;
  transitions: {
    planMachine: number;
    taskMachines: number;
    distributedMapChildren: number;
    perTenant: number;
    /** Task-machine transitions per state name, summed over all tasks. */
    byState: Record<string, number>;
    retries: number;
    /** Task histories counted (the runtime keeps 1,000); the other tasks count as their average. */
    historiesRead: number;
  };
  lambda: Record<string, { invocations: number; gbSeconds: number; p50Ms: number; memoryMb: number }>;
  dynamodb: Record<
    string,
    { calls: number; writeUnits: number; readUnits: number; indexWriteUnits: number; failedCalls: number }
  >;
  putSizeCheck: { agree: number; differ: number };
  events: { count: number; chargeable: number; byType: Record<string, number> };
  /** Per tenant deployment, excluding the supervisor (a fixed per-minute cost, reported apart). */
  usagePerTenant: Usage;
  per1000Tenants: CostBreakdown;
  supervisor: { invocations: number; note: string };
  engineAssumption: string;
  prices: typeof PRICES;
}

const PER_PLAN_NOT_PER_TENANT = new Set(['supervisor', 'bench-noop', 'outside']);

export async function measureCost(
  system: System,
  options: { tenants: number; stages: number },
): Promise<CostResult> {
  resetMeter();
  meter.on = true;
  let run: PlanRun;
  try {
    run = await runPlan(system, planBody(system, { ...options, maxConcurrency: 50 }), 10 * 60_000);
    await outboxDrained(system, run.plan.planId);
  } finally {
    meter.on = false;
  }
  return costOfRun(system, run, options.stages);
}

/** What a metered plan run used and costs, per tenant deployment (the meter must have been on during it). */
export async function costOfRun(system: System, run: PlanRun, stages: number): Promise<CostResult> {
  const { plan } = run;

  // State transitions, with AWS's counting rules.
  const planHistory = await executionHistory(system, plan.executionArn!);
  const planMachine = countStateTransitions(planHistory).total;
  const tasks = await system.deps.store.listTasks(plan.planId);
  let taskMachines = 0;
  let retries = 0;
  let sampled = 0;
  const byState: Record<string, number> = {};
  for (const task of tasks) {
    const history = await executionHistory(system, task.executionArn!);
    // The in-memory runtime keeps the histories of its last 1,000 finished executions only.
    if (!history.length) continue;
    sampled++;
    const counted = countStateTransitions(history);
    taskMachines += counted.total;
    retries += counted.retries;
    for (const event of history) {
      const name = event.stateEnteredEventDetails?.name;
      if (name && event.type?.endsWith('StateEntered')) byState[name] = (byState[name] ?? 0) + 1;
    }
  }
  // A task's transitions hardly vary with the plan's size: the tasks without a kept history count as the average.
  const perSampled = sampled ? tasks.length / sampled : 0;
  taskMachines *= perSampled;
  retries *= perSampled;
  for (const name of Object.keys(byState)) byState[name]! *= perSampled;
  const planAsl = JSON.parse(readFileSync(stateMachineSpec('plan').file, 'utf8')) as {
    States: Record<string, { ItemProcessor?: AslStates }>;
  };
  const processor = Object.values(planAsl.States).find((s) => s.ItemProcessor)!.ItemProcessor!;
  const failed = tasks.filter((t) => t.status !== 'COMPLETED').length;
  const distributedMapChildren =
    (tasks.length - failed) * childPathLength(processor, 'success') +
    failed * childPathLength(processor, 'caught');
  const transitionsTotal = planMachine + taskMachines + distributedMapChildren;

  // Lambda.
  const lambda: CostResult['lambda'] = {};
  const durations = new Map<string, number[]>();
  for (const inv of meter.invocations) {
    const entry = lambda[inv.name] ?? { invocations: 0, gbSeconds: 0, p50Ms: 0, memoryMb: inv.memoryMb };
    lambda[inv.name] = entry;
    entry.invocations++;
    entry.gbSeconds += lambdaGbSeconds(inv.memoryMb, inv.durationMs);
    durations.set(inv.name, [...(durations.get(inv.name) ?? []), inv.durationMs]);
  }
  for (const [name, list] of durations) {
    const sorted = [...list].sort((a, b) => a - b);
    lambda[name]!.p50Ms = Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
  }

  // DynamoDB.
  const dynamodb: CostResult['dynamodb'] = {};
  for (const [fn, use] of meter.dynamo) {
    dynamodb[fn] = {
      calls: use.calls,
      writeUnits: use.writeUnits,
      readUnits: use.readUnits,
      indexWriteUnits: use.indexWriteUnits,
      failedCalls: use.failedCalls,
    };
  }

  // EventBridge: every event put for this plan (the outbox's and the stages' TenantConfigChanged).
  const published = system.busEventsOf(plan.planId);
  const byType: Record<string, number> = {};
  for (const e of published) byType[e.detailType] = (byType[e.detailType] ?? 0) + 1;
  const chargeable = chargeableEvents(published.map((e) => e.bytes));

  const perTenant = 1 / tasks.length;
  const counted = (fn: string) => !PER_PLAN_NOT_PER_TENANT.has(fn);
  const sum = <T>(record: Record<string, T>, pick: (v: T) => number) =>
    Object.entries(record)
      .filter(([fn]) => counted(fn))
      .reduce((total, [, v]) => total + pick(v), 0);

  // Engines: one engine stage per tenant at the catalog's size, running next to the old engine until it is drained.
  const engine = engineFor(ENGINE_CATALOG[0]!.service)!;
  const engineSeconds =
    DEFAULTS.drainGraceSeconds + run.wallMs / 1000 / Math.ceil(tasks.length / plan.maxConcurrency);
  const fargate = fargateUsage(engine.cpu, engine.memoryMb, engineSeconds);

  const usagePerTenant: Usage = {
    stateTransitions: transitionsTotal * perTenant,
    lambdaRequests: sum(lambda, (v) => v.invocations) * perTenant,
    lambdaGbSeconds: sum(lambda, (v) => v.gbSeconds) * perTenant,
    writeUnits: sum(dynamodb, (v) => v.writeUnits) * perTenant,
    readUnits: sum(dynamodb, (v) => v.readUnits) * perTenant,
    events: chargeable * perTenant,
    fargateVcpuHours: fargate.vcpuHours,
    fargateGbHours: fargate.gbHours,
  };
  return {
    tenants: tasks.length,
    stagesPerTask: stages,
    planStatus: plan.status,
    transitions: {
      planMachine,
      taskMachines,
      distributedMapChildren,
      perTenant: transitionsTotal * perTenant,
      byState,
      retries,
      historiesRead: sampled,
    },
    lambda,
    dynamodb,
    putSizeCheck: { ...meter.putCheck },
    events: { count: published.length, chargeable, byType },
    usagePerTenant,
    per1000Tenants: scaleBreakdown(priceUsage(usagePerTenant), 1000),
    supervisor: {
      invocations: lambda.supervisor?.invocations ?? 0,
      note: 'scheduled every minute whatever runs: a fixed ~43,800 invocations/month, not per tenant',
    },
    engineAssumption:
      `engines included: one ${engine.service} engine per tenant (${engine.cpu} CPU units, ${engine.memoryMb} MB, arm64) ` +
      `running next to the old one for the drain grace (${DEFAULTS.drainGraceSeconds} s) plus the measured time per task ` +
      `(${Math.round(engineSeconds)} s in all), billed with Fargate's one-minute minimum`,
    prices: PRICES,
  };
}

/** The publisher runs off the table's stream; wait until every event item of the plan reached the bus. */
export async function outboxDrained(system: System, planId: string) {
  // A 10,000-tenant plan's 100,000 events may still be publishing when it ends.
  const deadline = Date.now() + 180_000;
  let stored = 0;
  for (;;) {
    stored = 0;
    let after: string | undefined;
    for (;;) {
      const page = await system.deps.store.listEvents(planId, { afterEventId: after, limit: 1000 });
      if (!page.events.length) break;
      stored += page.events.length;
      after = page.last;
    }
    const published = system
      .busEventsOf(planId)
      .filter((e) => e.source === EVENT_SOURCE && e.detailType !== 'TenantConfigChanged').length;
    if (published >= stored) return;
    if (Date.now() > deadline) {
      process.stderr.write(
        `[bench] outbox of ${planId} not drained: ${published} of ${stored} events published\n`,
      );
      return;
    }
    // Each round reads every event of the plan: not so often that it slows the publisher down.
    await new Promise((r) => setTimeout(r, 1000));
  }
}
