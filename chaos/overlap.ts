/**
 * Two plans over the same tenants, submitted together: the tenant lock must serialise them per
 * tenant. The reference engine's overlap detector sees every broadcast and health poll with the plan
 * it belongs to and reports any tenant touched A…B…A.
 */
import { type ChaosContext, RuntimeUnderTest } from './context.ts';
import { tenantConfig } from './crash.ts';

export interface OverlapOptions {
  tenants: number;
  maxConcurrency: number;
  stagePolls: number;
  timeoutMs: number;
}

export interface OverlapFigures {
  planA: { status: string; completed: number };
  planB: { status: string; completed: number };
  tenants: number;
  overlaps: number;
  overlapExamples: string[];
  nonLoopbackSockets: number;
  durationSeconds: number;
}

/** Leaves the runtime running: the malformed-request storm aims at the plans, tasks and tenants it made. */
export async function overlappingPlans(
  ctx: ChaosContext,
  options: OverlapOptions,
): Promise<{ figures: OverlapFigures; run: RuntimeUnderTest; planIds: string[]; tenants: string[] }> {
  const started = Date.now();
  const run = await RuntimeUnderTest.create(ctx, 'overlap');
  const prefix = `overlap-${started.toString(36)}`;
  const tenants = Array.from({ length: options.tenants }, (_, i) => `${prefix}-${i}`);
  ctx.engine.setFaults(tenants.map((tenantId) => ({ tenantId, healthyAfterPolls: options.stagePolls })));
  await run.start();

  const body = (version: string) => ({
    name: `chaos: overlapping plan, version ${version}`,
    maxConcurrency: options.maxConcurrency,
    healthCheck: { intervalSeconds: 0.1, maxAttempts: options.stagePolls + 40, timeoutSeconds: 2 },
    configs: tenants.map((t) => tenantConfig(ctx, t, version, ['app'])),
  });
  const [a, b] = await Promise.all([
    run.api.ok<{ planId: string }>('POST', '/v1/plans', body('2')),
    run.api.ok<{ planId: string }>('POST', '/v1/plans', body('3')),
  ]);
  ctx.log(`overlap: plans ${a.planId} and ${b.planId} over ${tenants.length} tenants`);
  const deadline = started + options.timeoutMs;
  const outcome = async (planId: string) => {
    const plan = await run.api.planEnd(planId, deadline);
    run.sampleSockets();
    const tasks = await run.api.tasks(planId);
    return {
      status: plan?.status ?? 'NOT FINISHED',
      completed: tasks.filter((t) => t.status === 'COMPLETED').length,
    };
  };
  const planA = await outcome(a.planId);
  const planB = await outcome(b.planId);
  const ours = new Set(tenants);
  const overlaps = ctx.engine.overlaps().overlaps.filter((o) => ours.has(o.tenantId));
  return {
    figures: {
      planA,
      planB,
      tenants: tenants.length,
      overlaps: overlaps.length,
      overlapExamples: overlaps.slice(0, 3).map((o) => `${o.tenantId}: ${o.sequence.join(' → ')}`),
      nonLoopbackSockets: run.exposed.size,
      durationSeconds: Math.round((Date.now() - started) / 1000),
    },
    run,
    planIds: [a.planId, b.planId],
    tenants,
  };
}
