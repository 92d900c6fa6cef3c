/**
 * The repeated-crash rollout: one plan (N tenants, two services, maxConcurrency 5) while the runtime
 * is SIGKILLed at random moments and started again on the same ROLLOUT_HOME, as often as asked.
 */
import type { RolloutEvent } from '../functions/core/model.ts';
import { type ChaosContext, RuntimeUnderTest, sleep } from './context.ts';

export interface CrashOptions {
  tenants: number;
  kills: number;
  /** Uptime before each kill, drawn uniformly (ms). */
  uptimeMs: [number, number];
  /** Health polls each stage's endpoint answers unhealthy after a config, so stages take a while. */
  stagePolls: number;
  timeoutMs: number;
}

export interface CrashFigures {
  kills: number;
  killsWhilePlanRunning: number;
  failedRestarts: number;
  planStatus: string;
  tasksCompleted: number;
  tasks: number;
  eventGaps: number;
  eventDuplicates: number;
  completedStagesRerun: number;
  lostExecutionsRecovered: number;
  operatorRetriesSpent: number;
  failures: string[];
  exitCode: number | null;
  processesLeft: number;
  enginesLeft: number;
  nonLoopbackSockets: number;
  socketSamples: number;
  durationSeconds: number;
}

export const tenantConfig = (ctx: ChaosContext, tenantId: string, version: string, services: string[]) => ({
  tenantId,
  deployUnitVersion: version,
  serviceNames: services,
  networkEndpoints: services.map((key) => ({ key, value: `${ctx.engine.url}/t/${tenantId}/${key}` })),
});

/** Per stream (the plan, each task): sequence numbers missing from 1..max, and numbers seen twice. */
export function sequenceFaults(events: readonly RolloutEvent[]): { gaps: number; duplicates: number } {
  const streams = new Map<string, number[]>();
  for (const e of events) {
    const key = e.sequenceType === 'PLAN' ? 'PLAN' : `TASK ${e.taskId}`;
    streams.set(key, [...(streams.get(key) ?? []), e.sequenceId]);
  }
  let gaps = 0;
  let duplicates = 0;
  for (const seqs of streams.values()) {
    const distinct = new Set(seqs);
    duplicates += seqs.length - distinct.size;
    gaps += Math.max(...seqs) - distinct.size;
  }
  return { gaps, duplicates };
}

/**
 * A stage re-run after it completed: a second TaskStageSucceeded for it, or a config broadcast to
 * its endpoint after its first TaskStageSucceeded (the reference engine logs every request).
 */
export function completedStageReruns(ctx: ChaosContext, events: readonly RolloutEvent[]): number {
  const succeeded = new Map<string, number>();
  let reruns = 0;
  for (const e of events) {
    if (e.type !== 'TaskStageSucceeded' || !e.tenantId || !e.currentStage) continue;
    const key = `${e.tenantId}/${e.currentStage}`;
    if (succeeded.has(key)) reruns++;
    else succeeded.set(key, Date.parse(e.timestamp));
  }
  for (const request of ctx.engine.requests()) {
    if (request.kind !== 'config' || !request.tenantId || !request.service) continue;
    const at = succeeded.get(`${request.tenantId}/${request.service}`);
    if (at !== undefined && request.at > at) reruns++;
  }
  return reruns;
}

export async function repeatedKills(ctx: ChaosContext, options: CrashOptions): Promise<CrashFigures> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const run = await RuntimeUnderTest.create(ctx, 'crash');
  const prefix = `crash-${started.toString(36)}`;
  const tenants = Array.from({ length: options.tenants }, (_, i) => `${prefix}-${i}`);
  ctx.engine.setFaults(tenants.map((tenantId) => ({ tenantId, healthyAfterPolls: options.stagePolls })));

  await run.start();
  const { planId } = await run.api.ok<{ planId: string }>('POST', '/v1/plans', {
    name: `chaos: ${options.kills} SIGKILLs`,
    maxConcurrency: 5,
    healthCheck: { intervalSeconds: 0.1, maxAttempts: options.stagePolls + 40, timeoutSeconds: 2 },
    configs: tenants.map((t) => tenantConfig(ctx, t, '2', ['app', 'db'])),
  });
  ctx.log(`crash: plan ${planId} for ${tenants.length} tenants`);

  let kills = 0;
  let killsWhilePlanRunning = 0;
  while (kills < options.kills && Date.now() < deadline) {
    const [low, high] = options.uptimeMs;
    await sleep(low + ctx.random() * (high - low));
    run.sampleSockets();
    const status = await run.api
      .plan(planId)
      .then((p) => p.status)
      .catch(() => 'unknown');
    await run.stop('SIGKILL');
    kills++;
    if (status === 'RUNNING') killsWhilePlanRunning++;
    ctx.log(`crash: SIGKILL ${kills}/${options.kills} (plan ${status})`);
    await run.start();
  }

  const plan = await run.api.planEnd(planId, deadline);
  run.sampleSockets();
  const tasks = await run.api.tasks(planId);
  const events = await run.api.events(planId);
  const { gaps, duplicates } = sequenceFaults(events);
  const figures = {
    kills,
    killsWhilePlanRunning,
    failedRestarts: run.failedStarts,
    planStatus: plan?.status ?? 'NOT FINISHED',
    tasksCompleted: tasks.filter((t) => t.status === 'COMPLETED').length,
    tasks: tasks.length,
    eventGaps: gaps,
    eventDuplicates: duplicates,
    completedStagesRerun: completedStageReruns(ctx, events),
    lostExecutionsRecovered: events.filter(
      (e) => e.type === 'TaskRetryStarted' && e.detail?.reason === 'EXECUTION_LOST',
    ).length,
    operatorRetriesSpent: tasks.reduce((sum, t) => sum + t.retryCount, 0),
    failures: tasks
      .filter((t) => t.status !== 'COMPLETED')
      .map((t) => `${t.tenantId} ${t.status} ${t.failureInfo ? JSON.stringify(t.failureInfo) : ''}`),
  };
  const end = await run.shutdown();
  return {
    ...figures,
    exitCode: end.exitCode,
    processesLeft: end.processesLeft,
    enginesLeft: end.enginesLeft,
    nonLoopbackSockets: run.exposed.size,
    socketSamples: run.socketSamples,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  };
}
