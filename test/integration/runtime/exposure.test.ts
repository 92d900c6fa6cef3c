/**
 * `npm start` as a user runs it (its own process, a real ROLLOUT_HOME, DynamoDB Local on disk) with
 * a provisioned engine: what it exposes, what survives a SIGKILL, and what a clean shutdown leaves.
 * The steps share one runtime and run in order.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  alive,
  isEngine,
  isLoopback,
  listeningSockets,
  processesOfHome,
  processTree,
} from '../../../chaos/processes.ts';
import { type RuntimeProcess, startRuntimeProcess } from '../../../chaos/runtime-process.ts';
import type { EngineRecord } from '../../../functions/core/model.ts';
import { eventually } from '../support.ts';

interface Reply {
  planId?: string;
  status?: string;
  engines?: EngineRecord[];
}

const TOKEN = 'exposure-test-token-0123456789';
const TENANT = 'exposed';
let home: string;
let runtime: RuntimeProcess | undefined;
let port = 0;

afterAll(async () => {
  await runtime?.stop('SIGKILL');
  for (const p of home ? processesOfHome(home) : []) process.kill(p.pid, 'SIGKILL');
  if (home) await rm(home, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Reply }> {
  const response = await fetch(`${runtime!.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Reply };
}

const engines = async () => (await api('GET', `/v1/engines?tenantId=${TENANT}`)).body.engines ?? [];
const start = async () => {
  runtime = await startRuntimeProcess({ home, port, token: TOKEN });
  port = Number(new URL(runtime.apiUrl).port);
};

describe('npm start with a provisioned engine', () => {
  it('listens on loopback only, in every process (API, endpoints, DynamoDB Local, engines)', async () => {
    home = await mkdtemp(join(tmpdir(), 'exposure-'));
    await start();
    const created = await api('POST', '/v1/plans', {
      healthCheck: { intervalSeconds: 0.1, maxAttempts: 50 },
      configs: [{ tenantId: TENANT, deployUnitVersion: '2', serviceNames: ['media-engine'] }],
    });
    expect(created.status).toBe(201);
    await eventually(async () => {
      const plan = await api('GET', `/v1/plans/${created.body.planId!}`);
      if (plan.body.status === 'FAILED') throw new Error(JSON.stringify(plan.body));
      return plan.body.status === 'COMPLETED';
    }, 60_000);

    const sockets = listeningSockets(processTree(runtime!.pid));

    const holders = (pattern: RegExp) => sockets.filter((s) => pattern.test(s.command));
    expect(holders(/DynamoDBLocal/).length).toBeGreaterThan(0);
    expect(holders(/engines\/reference\/main\.ts/).length).toBeGreaterThan(0);
    // the API and the Step Functions, ECS and EventBridge endpoints
    expect(holders(/local\/main\.ts/).length).toBeGreaterThanOrEqual(4);
    expect(sockets.filter((s) => !isLoopback(s.address))).toEqual([]);
  });

  it('after a SIGKILL, DynamoDB Local dies with the runtime and the restarted runtime adopts the running engine', async () => {
    const [engine] = processesOfHome(home).filter(isEngine);
    const java = processTree(runtime!.pid).find((p) => /DynamoDBLocal/.test(p.command));
    expect(engine && java).toBeTruthy();

    await runtime!.stop('SIGKILL');

    await eventually(async () => !alive(java!.pid), 10_000);
    expect(alive(engine!.pid)).toBe(true);
    await start();
    expect((await engines()).map((e) => e.state)).toEqual(['ready']);

    // The adopted engine is watched: when it dies, the registry stops calling it ready.
    process.kill(-engine!.pid, 'SIGKILL');
    await eventually(async () => (await engines())[0]?.state === 'failed', 15_000);
  });

  it('leaves no process behind after a clean shutdown', async () => {
    const tree = processesOfHome(home);

    const exit = await runtime!.stop('SIGTERM');

    expect(exit.code).toBe(0);
    await eventually(
      async () => tree.every((p) => !alive(p.pid)) && processesOfHome(home).length === 0,
      15_000,
    );
  });
});
