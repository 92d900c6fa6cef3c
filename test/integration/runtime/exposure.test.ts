import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { alive, isLoopback, listeningSockets, processTree } from '../../../chaos/processes.ts';
import { type RuntimeProcess, startRuntimeProcess } from '../../../chaos/runtime-process.ts';
import { eventually } from '../support.ts';

interface Reply {
  planId?: string;
  status?: string;
}

const TOKEN = 'exposure-test-token-0123456789';
let runtime: RuntimeProcess | undefined;
let home: string | undefined;

afterAll(async () => {
  await runtime?.stop('SIGKILL');
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

it('listens on loopback only, in every process of `npm start` (API, endpoints, DynamoDB Local, engines), and leaves none behind', async () => {
  home = await mkdtemp(join(tmpdir(), 'exposure-'));
  runtime = await startRuntimeProcess({ home, port: 0, token: TOKEN });
  const created = await api('POST', '/v1/plans', {
    healthCheck: { intervalSeconds: 0.1, maxAttempts: 50 },
    configs: [{ tenantId: 'exposed', deployUnitVersion: '2', serviceNames: ['media-engine'] }],
  });
  expect(created.status).toBe(201);
  await eventually(async () => {
    const plan = await api('GET', `/v1/plans/${created.body.planId!}`);
    if (plan.body.status === 'FAILED') throw new Error(JSON.stringify(plan.body));
    return plan.body.status === 'COMPLETED';
  }, 60_000);

  const tree = processTree(runtime.pid);
  const sockets = listeningSockets(tree);

  const holders = (pattern: RegExp) => sockets.filter((s) => pattern.test(s.command));
  expect(holders(/DynamoDBLocal/).length).toBeGreaterThan(0);
  expect(holders(/engines\/reference\/main\.ts/).length).toBeGreaterThan(0);
  // the API and the Step Functions, ECS and EventBridge endpoints
  expect(holders(/local\/main\.ts/).length).toBeGreaterThanOrEqual(4);
  expect(sockets.filter((s) => !isLoopback(s.address))).toEqual([]);

  const exit = await runtime.stop('SIGTERM');
  expect(exit.code).toBe(0);
  await eventually(async () => tree.every((p) => !alive(p.pid)), 10_000);
});
