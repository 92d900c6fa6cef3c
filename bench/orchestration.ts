/**
 * Orchestration overhead per stage, and its floor on the same machine: the
 * store calls one stage makes (timed alone, in a loop) plus the interpreter's
 * cost for the stage's states (fixture machines run by the same runtime).
 */
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { broadcast, checkHealth } from '../functions/core/health.ts';
import type { RolloutEvent } from '../functions/core/model.ts';
import { buildPlan } from '../functions/core/plans.ts';
import { parseOrThrow, planRequestSchema } from '../functions/core/schemas.ts';
import { type Summary, summarize } from './stats.ts';
import { allEvents, BENCH_HEALTH, planBody, runPlan, type System } from './system.ts';

export interface OverheadResult {
  tenants: number;
  stagesPerTask: number;
  planStatus: string;
  /** TaskStageStarted → TaskStageSucceeded of the same stage. */
  stageSpanMs: Summary;
  /** TaskStageStarted of a stage → TaskStageStarted of the next: one full Run next stage ↔ What next? loop. */
  stageCycleMs: Summary;
  /** A task's first event after TaskCreated to its last, divided by its stages. */
  taskPerStageMs: Summary;
  taskFirstToLastMs: Summary;
}

const ms = (event: RolloutEvent) => Date.parse(event.timestamp);

/** Sequential plan (maxConcurrency 1), so each stage is measured without contention. */
export async function measureOverhead(
  system: System,
  options: { tenants: number; stages: number },
): Promise<OverheadResult> {
  const body = planBody(system, { ...options, maxConcurrency: 1 });
  const { plan } = await runPlan(system, body, 10 * 60_000);
  const events = await allEvents(system, plan.planId);
  const byTask = new Map<string, RolloutEvent[]>();
  for (const event of events) {
    if (event.sequenceType !== 'TASK' || !event.taskId) continue;
    const list = byTask.get(event.taskId) ?? [];
    list.push(event);
    byTask.set(event.taskId, list);
  }
  const spans: number[] = [];
  const cycles: number[] = [];
  const perStage: number[] = [];
  const firstToLast: number[] = [];
  for (const list of byTask.values()) {
    list.sort((a, b) => a.sequenceId - b.sequenceId);
    const started = list.filter((e) => e.type === 'TaskStageStarted');
    for (const start of started) {
      const done = list.find((e) => e.type === 'TaskStageSucceeded' && e.currentStage === start.currentStage);
      if (done) spans.push(ms(done) - ms(start));
    }
    for (let i = 1; i < started.length; i++) cycles.push(ms(started[i]!) - ms(started[i - 1]!));
    // TaskCreated is written when the plan is submitted; a queued task's clock starts when it is validated.
    const active = list.filter((e) => e.type !== 'TaskCreated');
    if (!active.length) continue;
    const total = ms(active.at(-1)!) - ms(active[0]!);
    firstToLast.push(total);
    perStage.push(total / options.stages);
  }
  return {
    tenants: options.tenants,
    stagesPerTask: options.stages,
    planStatus: plan.status,
    stageSpanMs: summarize(spans),
    stageCycleMs: summarize(cycles),
    taskPerStageMs: summarize(perStage),
    taskFirstToLastMs: summarize(firstToLast),
  };
}

export interface FloorResult {
  /** The store calls runStage makes for one stage without an engine, in order. */
  storeCalls: string[];
  storeMs: Summary;
  /** p50 of each group of store calls, in runStage's order. */
  storeBreakdownMs: Record<string, number>;
  /** Broadcast POST + TenantConfigChanged PutEvents + one health GET against the instant endpoints. */
  endpointIoMs: Summary;
  /** One Lambda Task + one Choice per round (the stage's states), with a no-op function. */
  interpreterTaskChoiceMs: number;
  /** One Pass + one Choice per round: the interpreter alone. */
  interpreterPassChoiceMs: number;
}

/** Replays the store calls of runStage + applyStage for one stage on a task that is never driven by an execution. */
async function storeFloor(
  system: System,
  rounds: number,
): Promise<{ total: Summary; breakdown: Record<string, number> }> {
  const { deps } = system;
  const request = parseOrThrow(
    planRequestSchema,
    planBody(system, { tenants: 1, stages: 1, maxConcurrency: 1 }),
  );
  const built = buildPlan(request, deps.settings, { planId: deps.store.ctx.newId(), now: new Date() });
  await deps.store.createPlan(built.plan, built.tasks);
  const taskId = built.tasks[0]!.taskId;
  const planId = built.plan.planId;
  const owner = 'bench-floor';
  await deps.store.transitionTask(taskId, 'validate', { set: { executionArn: owner } });
  const lock = await deps.store.acquireLock(built.tasks[0]!.tenantId, { taskId, planId }, 600_000);
  if (!lock.acquired) throw new Error('the floor task could not take its tenant lock');
  await deps.store.transitionTask(taskId, 'start', { set: { executionArn: owner } });
  const samples: number[] = [];
  const parts: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    let mark = started;
    const lap = (name: string) => {
      const now = performance.now();
      const list = parts[name] ?? [];
      list.push(now - mark);
      parts[name] = list;
      mark = now;
    };
    let task = await deps.store.requireTask(taskId);
    lap('get task');
    await deps.store.requirePlan(planId);
    lap('get plan');
    const stage = task.stages[0]!;
    await deps.store.renewLock(task.tenantId, taskId, lock.lock.fencingToken, 600_000);
    lap('renew tenant lock');
    task = (
      await deps.store.transitionTask(
        taskId,
        'stageStarted',
        { set: { currentStage: stage, stageStartedBy: owner }, currentStage: stage },
        task,
      )
    ).item;
    lap('transition stageStarted (transact 2 items)');
    await deps.store.switchCurrentConfig(task.tenantId, stage, task.config, taskId);
    lap('config-update (get + put)');
    await deps.store.transitionTask(
      taskId,
      'stageSucceeded',
      {
        set: { completedStages: [stage] },
        currentStage: stage,
        detail: { rounds: 1, answers: [{ endpoint: stage, url: 'x', ok: true, status: 200, version: '2' }] },
      },
      task,
    );
    lap('transition stageSucceeded (transact 2 items)');
    samples.push(performance.now() - started);
  }
  const skip = Math.min(10, Math.floor(rounds / 10));
  const breakdown = Object.fromEntries(
    Object.entries(parts).map(([name, list]) => [name, summarize(list.slice(skip)).p50]),
  );
  // A CREATED plan would be started by the supervisor.
  await deps.store.transitionPlan(planId, 'cancel');
  return { total: summarize(samples.slice(skip)), breakdown };
}

async function endpointIo(system: System, rounds: number): Promise<Summary> {
  const { deps } = system;
  const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  const base = `${system.endpoints.url}/t/floor/svc1`;
  const settings = { ...BENCH_HEALTH, path: '/health', versionKey: 'version', timeoutSeconds: 5 };
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await broadcast([{ label: 'svc1', url: `${base}/config` }], { version: '2', config: {} }, 5, deps);
    await deps.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: deps.resources.eventBusName,
            Source: 'tenant-rollout',
            DetailType: 'BenchFloor',
            Detail: '{}',
          },
        ],
      }),
    );
    await checkHealth([{ label: 'svc1', url: `${base}/health` }], '2', settings, deps);
    samples.push(performance.now() - started);
  }
  return summarize(samples.slice(Math.min(10, Math.floor(rounds / 10))));
}

/** Milliseconds per loop round of a fixture machine (median of three executions). */
async function perRound(system: System, machine: string, rounds: number): Promise<number> {
  const arn = system.runtime.arns.stateMachines[machine]!;
  const results: number[] = [];
  for (let run = 0; run < 3; run++) {
    const { executionArn } = await system.deps.sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: JSON.stringify({ i: 0, n: rounds }) }),
    );
    for (;;) {
      const described = await system.deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (described.status !== 'RUNNING') {
        if (described.status !== 'SUCCEEDED')
          throw new Error(`${machine}: ${described.status} ${described.cause}`);
        results.push((described.stopDate!.getTime() - described.startDate!.getTime()) / rounds);
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return summarize(results).p50;
}

export async function measureFloor(
  system: System,
  options: { rounds: number; loopRounds: number },
): Promise<FloorResult> {
  const store = await storeFloor(system, options.rounds);
  return {
    storeCalls: [
      'GetItem task (the stage boundary)',
      'GetItem plan',
      'UpdateItem tenant lock (lease renewal, fencing check)',
      'TransactWriteItems [task, TaskStageStarted event] (stageStarted)',
      'GetItem + PutItem current config (config-update)',
      'TransactWriteItems [task, TaskStageSucceeded event, checkpoint] (stageSucceeded)',
    ],
    storeMs: store.total,
    storeBreakdownMs: store.breakdown,
    endpointIoMs: await endpointIo(system, options.rounds),
    interpreterTaskChoiceMs: await perRound(system, 'bench-stage-loop', options.loopRounds),
    interpreterPassChoiceMs: await perRound(system, 'bench-pass-loop', options.loopRounds),
  };
}
