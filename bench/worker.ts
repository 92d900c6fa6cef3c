/**
 * One measurement in a fresh process (so peak RSS belongs to it alone), on the
 * DynamoDB Local the parent started. Usage: node bench/worker.ts '<json job>'.
 * Prints one `BENCH_RESULT <json>` line.
 */

import { startDynamoDbLocal } from '../local/dynamodb.ts';
import { measureCost } from './cost-run.ts';
import { installInstrumentation } from './instrument.ts';
import { type Job, RESULT_PREFIX } from './jobs.ts';
import { measureLocks } from './locks.ts';
import { measureFloor, measureOverhead } from './orchestration.ts';
import { dynamoPid, planBody, runPlan, sampleRss, startSystem, vmKb } from './system.ts';

async function runJob(job: Job): Promise<unknown> {
  // Before any handler module is loaded: handlers build their store clients at import.
  installInstrumentation();
  // A fresh in-memory DynamoDB Local per measurement: its single SQLite thread slows down as data accumulates.
  const dynamoStartedAt = performance.now();
  const db = await startDynamoDbLocal();
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
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    const sampler = sampleRss(dynamo.pid);
    const body = planBody(system, {
      tenants: job.tenants,
      stages: job.stages,
      maxConcurrency: job.maxConcurrency,
    });
    const run = await runPlan(system, body, job.timeoutMs, { partialOnTimeout: true });
    const rss = sampler.stop();
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
      tenantsPerSecond: (run.plan.completedTasks + run.plan.failedTasks) / (run.wallMs / 1000),
      rssBeforeMb: rssBefore,
      peakRssMb: rss.peakRssMb,
      dynamoPeakRssMb: rss.otherPeakRssMb,
      dynamoHwmMb: dynamo.pid ? (vmKb(dynamo.pid, 'VmHWM') ?? 0) / 1024 : undefined,
      failureReasons,
    };
  } finally {
    await system.stop();
    await db.stop();
  }
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
