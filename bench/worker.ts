/**
 * One measurement in a fresh process (so peak RSS belongs to it alone), on the
 * DynamoDB Local the parent started. Usage: node bench/worker.ts '<json job>'.
 * Prints one `BENCH_RESULT <json>` line.
 */

import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { planKey } from '../functions/core/keys.ts';
import { startDynamoDbLocal } from '../local/dynamodb.ts';
import { costOfRun, measureCost, outboxDrained } from './cost-run.ts';
import { installInstrumentation, meter, resetMeter, writePeaks } from './instrument.ts';
import { type Job, RESULT_PREFIX } from './jobs.ts';
import { measureLocks } from './locks.ts';
import { measureFloor, measureOverhead } from './orchestration.ts';
import { dynamoPid, type PlanRun, planBody, runPlan, sampleRss, startSystem, vmKb } from './system.ts';

async function runJob(job: Job): Promise<unknown> {
  // Before any handler module is loaded: handlers build their store clients at import.
  installInstrumentation();
  // A fresh in-memory DynamoDB Local per measurement: its single SQLite thread slows down as data accumulates.
  const dynamoStartedAt = performance.now();
  // The bench machine is shared: the JVM may take well over the default 30 s to answer when it is busy.
  const db = await startDynamoDbLocal({ startTimeoutMs: 180_000 });
  const dynamo = { startMs: performance.now() - dynamoStartedAt, pid: dynamoPid(db.port) };
  const startedAt = performance.now();
  const system = await startSystem(db.endpoint);
  const runtimeStartMs = performance.now() - startedAt;
  try {
    if (job.kind === 'orchestration') {
      // Warm-up: handler modules load and connections open outside the measured plans.
      await runPlan(system, planBody(system, { tenants: 3, stages: 2, maxConcurrency: 3 }), 60_000);
      const overhead = await measureOverhead(system, job.overhead);
      const floor = await measureFloor(system, job.floor);
      const cost = await measureCost(system, job.cost);
      const locks = await measureLocks(system, job.locks);
      return { dynamo, runtimeStartMs, overhead, floor, cost, locks };
    }
    // The same warm-up as the orchestration job: handler modules load and connections open outside
    // the measured plan (in a fresh process they would load inside the first invocations of it).
    await runPlan(system, planBody(system, { tenants: 3, stages: 2, maxConcurrency: 3 }), 60_000);
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    const sampler = sampleRss(dynamo.pid);
    const body = planBody(system, {
      tenants: job.tenants,
      stages: job.stages,
      maxConcurrency: job.maxConcurrency,
    });
    resetMeter();
    meter.on = true;
    let run: PlanRun;
    try {
      run = await runPlan(system, body, job.timeoutMs, { partialOnTimeout: true, overHttp: true });
      if (run.finished) await outboxDrained(system, run.plan.planId);
    } finally {
      meter.on = false;
    }
    const rss = sampler.stop();
    const peaks = writePeaks();
    // Per-tenant cost only of a plan that ran to its end: a stopped one has half-run tasks.
    const cost = run.finished ? await costOfRun(system, run, job.stages) : undefined;
    const failureReasons = run.plan.failedTasks ? await failureCounts(system, run.plan.planId) : {};
    return {
      tenants: job.tenants,
      stages: job.stages,
      maxConcurrency: job.maxConcurrency,
      status: run.finished ? run.plan.status : `STOPPED after ${Math.round(job.timeoutMs / 1000)} s`,
      finished: run.finished,
      completedTasks: run.plan.completedTasks,
      failedTasks: run.plan.failedTasks,
      wallSeconds: run.wallMs / 1000,
      acceptSeconds: (run.acceptMs ?? 0) / 1000,
      tenantsPerSecond: (run.plan.completedTasks + run.plan.failedTasks) / (run.wallMs / 1000),
      rssBeforeMb: rssBefore,
      peakRssMb: rss.peakRssMb,
      dynamoPeakRssMb: rss.otherPeakRssMb,
      dynamoHwmMb: dynamo.pid ? (vmKb(dynamo.pid, 'VmHWM') ?? 0) / 1024 : undefined,
      failureReasons,
      planItemBytes: await planItemBytes(system, run.plan.planId),
      peakWrites: peaks,
      ...(cost
        ? {
            cost: {
              usagePerTenant: cost.usagePerTenant,
              per1000Tenants: cost.per1000Tenants,
              transitionsPerTenant: cost.transitions.perTenant,
            },
          }
        : {}),
    };
  } finally {
    await system.stop();
    await db.stop();
  }
}

/** The plan item's size as stored (JSON of its attributes; DynamoDB's own measure is within a few bytes). */
async function planItemBytes(system: Awaited<ReturnType<typeof startSystem>>, planId: string) {
  const { Item } = await system.deps.store.ctx.doc.send(
    new GetCommand({ TableName: system.deps.store.ctx.tableName, Key: planKey(planId) }),
  );
  return Item ? Buffer.byteLength(JSON.stringify(Item)) : 0;
}

/** Failed tasks by the first words of their failure message. */
async function failureCounts(system: Awaited<ReturnType<typeof startSystem>>, planId: string) {
  const counts: Record<string, number> = {};
  const tasks = await system.deps.store.listTasks(planId);
  for (const task of tasks) {
    if (task.status !== 'FAILED') continue;
    const key = `${task.failureInfo?.type}: ${(task.failureInfo?.message ?? '').slice(0, 120)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
try {
  const result = await runJob(job);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
}
