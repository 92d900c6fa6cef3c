/**
 * Engine fault cases: tasks that provision an engine (the `media-engine` service) and then fail,
 * time out, lose their engine, are rolled back or force-deleted, or have the runtime SIGKILLed under
 * them. Afterwards, per tenant, the engine processes still alive are compared with the registry:
 * no engine may outlive its purpose, and the registry must never call a dead engine `ready`.
 */
import type { FaultSpec } from '../engines/reference/faults.ts';
import type { EngineRecord } from '../functions/core/model.ts';
import { type ChaosContext, RuntimeUnderTest, sleep, until } from './context.ts';

const ENGINE_SERVICE = 'media-engine';

interface Case {
  name: string;
  tenantId: string;
  services: string[];
  faults?: Omit<FaultSpec, 'tenantId'>;
  plan?: Record<string, unknown>;
  /** What the task should end as. */
  expect: string;
  /** Whether one engine should still serve the tenant afterwards. */
  serving: boolean;
}

export interface EngineCaseFigures {
  case: string;
  taskStatus: string;
  expectedStatus: string;
  /** Engine processes of this tenant alive after the task ended (and settled). */
  enginesAlive: number;
  expectedAlive: number;
  /** Registry entries in `ready` whose process is gone. */
  readyButStopped: number;
  /** Live engine processes the registry does not hold as `ready`. */
  aliveButNotReady: number;
}

export interface EngineFaultFigures {
  cases: EngineCaseFigures[];
  exitCode: number | null;
  enginesLeftAfterShutdown: number;
  processesLeftAfterShutdown: number;
  nonLoopbackSockets: number;
  durationSeconds: number;
}

function cases(prefix: string): Case[] {
  const tenant = (name: string) => `${prefix}-${name}`;
  return [
    {
      name: 'broadcast to the new engine refused (stage fails after hand-off)',
      tenantId: tenant('broadcast'),
      services: [ENGINE_SERVICE],
      faults: { service: ENGINE_SERVICE, failBroadcast: 500 },
      expect: 'FAILED',
      serving: false,
    },
    {
      name: 'new engine reports the wrong version (health check fails after hand-off)',
      tenantId: tenant('version'),
      services: [ENGINE_SERVICE],
      faults: { service: ENGINE_SERVICE, wrongVersion: 'old' },
      plan: { healthCheck: { intervalSeconds: 0.1, maxAttempts: 5 } },
      expect: 'FAILED',
      serving: false,
    },
    {
      name: 'engine never hands off (provision timeout)',
      tenantId: tenant('silent'),
      services: [ENGINE_SERVICE],
      faults: { service: ENGINE_SERVICE, neverHandOff: true },
      plan: { provisionTimeoutSeconds: 5 },
      expect: 'FAILED',
      serving: false,
    },
    {
      name: 'engine exits before its hand-off',
      tenantId: tenant('exits'),
      services: [ENGINE_SERVICE],
      faults: { service: ENGINE_SERVICE, exitBeforeHandOff: 7 },
      expect: 'FAILED',
      serving: false,
    },
    {
      name: 'later stage fails after the engine stage completed',
      tenantId: tenant('later'),
      services: [ENGINE_SERVICE, 'app'],
      faults: { service: 'app', failBroadcast: 503 },
      expect: 'FAILED',
      // Its completed stage switched the tenant to this engine; a retry from the checkpoint relies on it.
      serving: true,
    },
    {
      name: 'completed, then rolled back',
      tenantId: tenant('rollback'),
      services: [ENGINE_SERVICE],
      expect: 'ROLLED_BACK',
      serving: false,
    },
    {
      name: 'completed (the engine serves the tenant)',
      tenantId: tenant('serving'),
      services: [ENGINE_SERVICE],
      expect: 'COMPLETED',
      serving: true,
    },
  ];
}

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLED_BACK', 'ROLLBACK_FAILED'];

function endpointsOf(ctx: ChaosContext, c: Case) {
  return c.services
    .filter((s) => s !== ENGINE_SERVICE)
    .map((key) => ({ key, value: `${ctx.engine.url}/t/${c.tenantId}/${key}` }));
}

async function submit(ctx: ChaosContext, run: RuntimeUnderTest, c: Case) {
  const { planId, taskIds } = await run.api.ok<{ planId: string; taskIds: string[] }>('POST', '/v1/plans', {
    name: `chaos: ${c.name}`,
    healthCheck: { intervalSeconds: 0.1, maxAttempts: 50 },
    provisionTimeoutSeconds: 60,
    ...c.plan,
    configs: [
      {
        tenantId: c.tenantId,
        deployUnitVersion: '2',
        serviceNames: c.services,
        networkEndpoints: endpointsOf(ctx, c),
        sourceTenantDeployConfig: { tenantId: c.tenantId, deployUnitVersion: '1' },
      },
    ],
  });
  return { planId, taskId: taskIds[0]! };
}

async function taskStatus(run: RuntimeUnderTest, taskId: string): Promise<string> {
  return (await run.api.ok<{ status: string }>('GET', `/v1/tasks/${taskId}`)).status;
}

/** Compares live engine processes of a tenant with its registry entries. */
async function inspect(run: RuntimeUnderTest, tenantId: string) {
  const alive = run.enginesAlive().filter((p) => p.env.TENANT_ID === tenantId);
  const aliveIds = new Set(alive.map((p) => p.env.ENGINE_ID));
  const registry: EngineRecord[] = await run.api.engines(tenantId);
  const ready = registry.filter((e) => e.state === 'ready');
  const readyIds = new Set(ready.map((e) => e.engineId));
  return {
    alive: alive.length,
    readyButStopped: ready.filter((e) => !aliveIds.has(e.engineId)).length,
    aliveButNotReady: alive.filter((p) => !readyIds.has(p.env.ENGINE_ID ?? '')).length,
  };
}

/** Waits until the tenant's engines match what the case expects, or the settle time passed; then measures. */
async function settle(run: RuntimeUnderTest, c: Case, settleMs: number) {
  const expected = c.serving ? 1 : 0;
  await until(async () => {
    const seen = await inspect(run, c.tenantId);
    return seen.alive === expected && seen.readyButStopped === 0 && seen.aliveButNotReady === 0;
  }, settleMs);
  return inspect(run, c.tenantId);
}

export async function engineFaults(ctx: ChaosContext, options: { timeoutMs: number; settleMs: number }) {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const prefix = `engines-${started.toString(36)}`;
  const all = cases(prefix);
  const crashReady: Case = {
    name: 'runtime SIGKILLed while the engine serves, then restarted',
    tenantId: `${prefix}-crash-ready`,
    services: [ENGINE_SERVICE],
    expect: 'COMPLETED',
    serving: true,
  };
  const crashMidStage: Case = {
    name: 'runtime SIGKILLed mid-stage after the hand-off, then restarted',
    tenantId: `${prefix}-crash-mid`,
    services: [ENGINE_SERVICE],
    faults: { service: ENGINE_SERVICE, healthyAfterPolls: 40 },
    expect: 'COMPLETED',
    serving: true,
  };
  const faults = [...all, crashMidStage].flatMap((c) =>
    c.faults ? [{ tenantId: c.tenantId, ...c.faults }] : [],
  );
  // Provisioned engines read their faults from FAULTS (inherited through the runtime); the shared
  // engine serving `app` takes the same rules directly.
  ctx.engine.setFaults(faults);
  const run = await RuntimeUnderTest.create(ctx, 'engines', { FAULTS: JSON.stringify(faults) });
  await run.start();

  const figures: EngineCaseFigures[] = [];
  const submitted = await Promise.all(all.map(async (c) => ({ c, ...(await submit(ctx, run, c)) })));
  for (const { c, planId, taskId } of submitted) {
    let status = await until(async () => {
      const s = await taskStatus(run, taskId);
      return TERMINAL.includes(s) ? s : undefined;
    }, deadline - Date.now());
    if (c.expect === 'ROLLED_BACK' && status === 'COMPLETED') {
      await run.api.ok('POST', `/v1/plans/${planId}/rollback`);
      status = await until(async () => {
        const s = await taskStatus(run, taskId);
        return ['ROLLED_BACK', 'ROLLBACK_FAILED'].includes(s) ? s : undefined;
      }, deadline - Date.now());
    }
    run.sampleSockets();
    const seen = await settle(run, c, options.settleMs);
    figures.push(caseFigures(c, status, seen));
    ctx.log(`engines: ${c.name}: ${status}, ${seen.alive} engine(s) alive`);
  }

  // SIGKILL with an engine serving: the restarted runtime must know it (adopt it or stop it).
  const ready = await submit(ctx, run, crashReady);
  const readyStatus = await until(async () => {
    const s = await taskStatus(run, ready.taskId);
    return TERMINAL.includes(s) ? s : undefined;
  }, deadline - Date.now());
  // SIGKILL between the hand-off and the end of the engine's stage: recovery must not leave two engines.
  const mid = await submit(ctx, run, crashMidStage);
  await until(
    async () => (await run.api.engines(crashMidStage.tenantId)).some((e) => e.state === 'ready'),
    deadline - Date.now(),
  );
  run.sampleSockets();
  await run.stop('SIGKILL');
  ctx.log(`engines: SIGKILL with ${run.enginesAlive().length} engine(s) running`);
  await sleep(500);
  await run.start();
  const midStatus = await until(async () => {
    const s = await taskStatus(run, mid.taskId);
    return TERMINAL.includes(s) ? s : undefined;
  }, deadline - Date.now());
  run.sampleSockets();
  figures.push(caseFigures(crashReady, readyStatus, await settle(run, crashReady, options.settleMs)));
  figures.push(caseFigures(crashMidStage, midStatus, await settle(run, crashMidStage, options.settleMs)));

  const end = await run.shutdown();
  return {
    cases: figures,
    exitCode: end.exitCode,
    enginesLeftAfterShutdown: end.enginesLeft,
    processesLeftAfterShutdown: end.processesLeft,
    nonLoopbackSockets: run.exposed.size,
    durationSeconds: Math.round((Date.now() - started) / 1000),
  } satisfies EngineFaultFigures;
}

function caseFigures(
  c: Case,
  status: string | undefined,
  seen: { alive: number; readyButStopped: number; aliveButNotReady: number },
): EngineCaseFigures {
  return {
    case: c.name,
    taskStatus: status ?? 'NOT FINISHED',
    expectedStatus: c.expect,
    enginesAlive: seen.alive,
    expectedAlive: c.serving ? 1 : 0,
    readyButStopped: seen.readyButStopped,
    aliveButNotReady: seen.aliveButNotReady,
  };
}
