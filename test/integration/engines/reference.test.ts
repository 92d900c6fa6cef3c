import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ReferenceEngine, startReferenceEngine } from '../../../engines/reference/server.ts';
import { eventually } from '../support.ts';

const MAIN = fileURLToPath(new URL('../../../engines/reference/main.ts', import.meta.url));

const json = async (res: Response) => ({
  status: res.status,
  body: (await res.json()) as Record<string, unknown>,
});
const get = async (url: string) => json(await fetch(url));
const send = async (method: string, url: string, body: unknown) =>
  json(
    await fetch(url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
const broadcast = (
  base: string,
  tenantId: string,
  service: string,
  version: string | number,
  planId?: string,
) =>
  send('POST', `${base}/config`, {
    tenantId,
    service,
    version,
    config: { tenantId, deployUnitVersion: version, planId },
  });

describe('reference engine in-process', () => {
  let engine: ReferenceEngine;
  beforeEach(async () => {
    engine = await startReferenceEngine({ engineVersion: '1', tenantId: 'solo', service: 'app' });
  });
  afterEach(async () => {
    await engine.stop();
  });

  it('reports its start version for any tenant path and for the bare single-tenant path', async () => {
    const keyed = await get(`${engine.url}/t/tenant-a/app/health`);
    const bare = await get(`${engine.url}/health`);

    expect(keyed).toEqual({
      status: 200,
      body: { status: 'UP', version: '1', tenantId: 'tenant-a', service: 'app', engineId: engine.engineId },
    });
    expect(bare.body).toMatchObject({ status: 'UP', version: '1', tenantId: 'solo', service: 'app' });
  });

  it('reports the broadcast version as a string afterwards, for that tenant/service only', async () => {
    const base = `${engine.url}/t/tenant-a/app`;

    const accepted = await broadcast(base, 'tenant-a', 'app', 42, 'plan-1');

    expect(accepted).toEqual({ status: 200, body: { accepted: true, version: '42' } });
    expect((await get(`${base}/health`)).body.version).toBe('42');
    expect((await get(`${engine.url}/t/tenant-a/db/health`)).body.version).toBe('1');
    expect((await get(`${engine.url}/t/tenant-b/app/health`)).body.version).toBe('1');
    expect((await get(`${base}/config`)).body).toEqual({
      tenantId: 'tenant-a',
      service: 'app',
      version: '42',
      config: { tenantId: 'tenant-a', deployUnitVersion: 42, planId: 'plan-1' },
    });
    expect(engine.state().services).toContainEqual(
      expect.objectContaining({
        tenantId: 'tenant-a',
        service: 'app',
        version: '42',
        configCount: 1,
        planId: 'plan-1',
      }),
    );
  });

  it('shares one slot between the bare path and the prefix of its own TENANT_ID/SERVICE_NAME', async () => {
    await broadcast(engine.url, 'solo', 'app', '7');

    expect((await get(`${engine.url}/t/solo/app/health`)).body.version).toBe('7');
  });

  it('answers the version under the configured version key', async () => {
    const keyed = await startReferenceEngine({ versionKey: 'buildVersion', engineVersion: '9' });
    try {
      const { body } = await get(`${keyed.url}/t/t1/app/health`);
      expect(body.buildVersion).toBe('9');
      expect(body).not.toHaveProperty('version');
    } finally {
      await keyed.stop();
    }
  });

  it('rejects malformed broadcasts with 400 and leaves the version alone', async () => {
    const base = `${engine.url}/t/tenant-a/app`;

    const notJson = await send('POST', `${base}/config`, '{nope');
    const noVersion = await send('POST', `${base}/config`, {
      tenantId: 'tenant-a',
      service: 'app',
      config: {},
    });
    const configNotObject = await send('POST', `${base}/config`, {
      tenantId: 'tenant-a',
      service: 'app',
      version: '2',
      config: 'x',
    });

    expect([notJson.status, noVersion.status, configNotObject.status]).toEqual([400, 400, 400]);
    expect(noVersion.body.message).toMatch(/version/);
    expect((await get(`${base}/health`)).body.version).toBe('1');
  });

  it("refuses another tenant's config with 409", async () => {
    const res = await broadcast(`${engine.url}/t/tenant-a/app`, 'tenant-b', 'app', '2');

    expect(res).toEqual({
      status: 409,
      body: { code: 'TENANT_MISMATCH', message: 'config for tenant-b sent to tenant-a' },
    });
  });

  it('logs each public request with method, path, tenant, service, version and status', async () => {
    await broadcast(`${engine.url}/t/tenant-a/app`, 'tenant-a', 'app', '3', 'plan-1');
    await get(`${engine.url}/t/tenant-a/app/health`);

    const { body } = await get(`${engine.url}/_admin/requests?tenantId=tenant-a`);

    expect(body.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/t/tenant-a/app/config',
        kind: 'config',
        tenantId: 'tenant-a',
        service: 'app',
        version: '3',
        planId: 'plan-1',
        status: 200,
      }),
      expect.objectContaining({
        method: 'GET',
        path: '/t/tenant-a/app/health',
        kind: 'health',
        reportedVersion: '3',
        status: 200,
      }),
    ]);
    expect(engine.requests()).toHaveLength(2);
  });

  describe('faults set through the admin API', () => {
    it('neverHealthy answers the configured unhealthy status, for the scoped tenant only', async () => {
      await send('PUT', `${engine.url}/_admin/faults`, {
        tenantId: 'bad',
        neverHealthy: true,
        unhealthyStatus: 500,
      });

      const bad = await get(`${engine.url}/t/bad/app/health`);
      const good = await get(`${engine.url}/t/good/app/health`);

      expect(bad).toMatchObject({ status: 500, body: { status: 'DOWN', reason: 'neverHealthy' } });
      expect(good.status).toBe(200);
    });

    it('healthyAfterPolls counts the polls after the last config change', async () => {
      const base = `${engine.url}/t/tenant-a/app`;
      await send('PUT', `${engine.url}/_admin/faults`, { tenantId: 'tenant-a', healthyAfterPolls: 2 });
      await get(`${base}/health`);
      await get(`${base}/health`);
      expect((await get(`${base}/health`)).status).toBe(200);

      await broadcast(base, 'tenant-a', 'app', '2');
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(`${base}/health`)).status);

      expect(statuses).toEqual([503, 503, 200]);
    });

    it('wrongVersion reports a version other than the one loaded', async () => {
      await send('PUT', `${engine.url}/_admin/faults`, {
        tenantId: 'tenant-a',
        service: 'app',
        wrongVersion: 'x',
      });
      await broadcast(`${engine.url}/t/tenant-a/app`, 'tenant-a', 'app', '2');

      expect(await get(`${engine.url}/t/tenant-a/app/health`)).toMatchObject({
        status: 200,
        body: { version: 'x' },
      });
    });

    it('slowMs delays the answer', async () => {
      await send('PUT', `${engine.url}/_admin/faults`, { slowMs: 300 });

      const started = performance.now();
      const res = await get(`${engine.url}/t/tenant-a/app/health`);

      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('failBroadcast answers the set status and does not load the config', async () => {
      await send('PUT', `${engine.url}/_admin/faults`, { service: 'app', failBroadcast: 503 });

      const res = await broadcast(`${engine.url}/t/tenant-a/app`, 'tenant-a', 'app', '2');

      expect(res).toMatchObject({ status: 503, body: { accepted: false } });
      expect((await get(`${engine.url}/t/tenant-a/app/health`)).body.version).toBe('1');
    });

    it('DELETE with a scope clears that scope; without one clears everything', async () => {
      await send('PUT', `${engine.url}/_admin/faults`, [
        { tenantId: 'a', neverHealthy: true },
        { tenantId: 'b', neverHealthy: true },
      ]);

      await fetch(`${engine.url}/_admin/faults?tenantId=a`, { method: 'DELETE' });
      const afterScoped = [
        (await get(`${engine.url}/t/a/app/health`)).status,
        (await get(`${engine.url}/t/b/app/health`)).status,
      ];
      await fetch(`${engine.url}/_admin/faults`, { method: 'DELETE' });
      const afterAll = (await get(`${engine.url}/t/b/app/health`)).status;

      expect(afterScoped).toEqual([200, 503]);
      expect(afterAll).toBe(200);
    });

    it('rejects an unknown fault switch with 400', async () => {
      const res = await send('PUT', `${engine.url}/_admin/faults`, { neverHealty: true });

      expect(res.status).toBe(400);
      expect((await get(`${engine.url}/_admin/faults`)).body.faults).toEqual([]);
    });

    it('crashOnBroadcast cuts the connection and closes the in-process server', async () => {
      await send('PUT', `${engine.url}/_admin/faults`, { crashOnBroadcast: true });

      await expect(broadcast(`${engine.url}/t/tenant-a/app`, 'tenant-a', 'app', '2')).rejects.toThrow();
      await eventually(async () => {
        await fetch(`${engine.url}/health`).then(
          () => {
            throw new Error('still serving');
          },
          () => undefined,
        );
        return true;
      });
    });
  });

  describe('overlap detector', () => {
    it('reports a tenant whose requests from two plans interleave (A…B…A)', async () => {
      const app = `${engine.url}/t/tenant-a/app`;
      const db = `${engine.url}/t/tenant-a/db`;
      await broadcast(app, 'tenant-a', 'app', '2', 'plan-A');
      await get(`${app}/health`);
      await broadcast(db, 'tenant-a', 'db', '5', 'plan-B');
      await broadcast(db, 'tenant-a', 'db', '2', 'plan-A');

      const { body } = await get(`${engine.url}/_admin/overlaps`);

      expect(body.overlaps).toEqual([
        expect.objectContaining({
          tenantId: 'tenant-a',
          interleaved: [['plan-A', 'plan-B']],
          sequence: ['plan-A', 'plan-B', 'plan-A'],
        }),
      ]);
    });

    it('stays quiet when plans touch a tenant one after the other', async () => {
      const app = `${engine.url}/t/tenant-b/app`;
      await broadcast(app, 'tenant-b', 'app', '2', 'plan-A');
      await get(`${app}/health`);
      await broadcast(app, 'tenant-b', 'app', '3', 'plan-B');
      await get(`${app}/health`);

      const { body } = await get(`${engine.url}/_admin/overlaps`);

      expect(body.overlaps).toEqual([]);
      expect(body.windows).toEqual({
        'tenant-b': [
          expect.objectContaining({ planId: 'plan-A', touches: 2 }),
          expect.objectContaining({ planId: 'plan-B', touches: 2 }),
        ],
      });
    });

    it('attributes a rollback broadcast to the acting plan when the body names it', async () => {
      const app = `${engine.url}/t/tenant-c/app`;
      await broadcast(app, 'tenant-c', 'app', '1', 'plan-0');
      await broadcast(app, 'tenant-c', 'app', '2', 'plan-A');
      await send('POST', `${app}/config`, {
        tenantId: 'tenant-c',
        service: 'app',
        version: '1',
        planId: 'plan-A',
        config: { planId: 'plan-0' },
      });

      expect((await get(`${engine.url}/_admin/overlaps`)).body.overlaps).toEqual([]);
    });
  });
});

interface EngineProcess {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
  url: () => Promise<string>;
}

function spawnEngine(env: Record<string, string>): EngineProcess {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const url = () =>
    eventually(async () => {
      const listening = lines
        .map((l) => l.startsWith('{') && JSON.parse(l))
        .find((l) => l?.msg?.includes('listening'));
      return listening?.url as string | undefined;
    }, 15_000);
  return { child, lines, exit, url };
}

function fakeStepFunctions(answer: { status: number; body: unknown }) {
  const calls: { target: string; body: Record<string, unknown> }[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    calls.push({
      target: String(req.headers['x-amz-target']),
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
    });
    res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(answer.body));
  });
  return {
    calls,
    start: async () => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('reference engine as a process', () => {
  const children: ChildProcess[] = [];
  const started = (engine: EngineProcess) => {
    children.push(engine.child);
    return engine;
  };
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('serves with FAULTS from env, logs its URL, and exits 0 within a second of SIGTERM', async () => {
    const engine = started(
      spawnEngine({
        TENANT_ID: 't1',
        SERVICE_NAME: 'app',
        ENGINE_VERSION: '4',
        FAULTS: '{"tenantId":"t2","neverHealthy":true}',
      }),
    );
    const url = await engine.url();

    expect((await get(`${url}/health`)).body).toMatchObject({ status: 'UP', version: '4', tenantId: 't1' });
    expect((await get(`${url}/t/t2/app/health`)).status).toBe(503);

    const signalled = performance.now();
    engine.child.kill('SIGTERM');
    expect(await engine.exit).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(1_000);
  });

  it('exits with code 3 when a crashOnBroadcast fault fires', async () => {
    const engine = started(
      spawnEngine({ FAULTS: '[{"tenantId":"t1","service":"app","crashOnBroadcast":true}]' }),
    );
    const url = await engine.url();

    await expect(broadcast(`${url}/t/t1/app`, 't1', 'app', '2')).rejects.toThrow();

    expect(await engine.exit).toBe(3);
  });

  it('exits 2 on an unusable environment', async () => {
    const engine = started(spawnEngine({ FAULTS: '{"explode":true}' }));

    expect(await engine.exit).toBe(2);
    expect(engine.lines.join('\n')).toMatch(/invalid faults/);
  });

  describe('hand-off', () => {
    let sfn: ReturnType<typeof fakeStepFunctions> | undefined;
    afterEach(async () => {
      await sfn?.stop();
      sfn = undefined;
    });

    it('sends SendTaskSuccess with its endpoint and version once healthy', async () => {
      sfn = fakeStepFunctions({ status: 200, body: {} });
      const endpoint = await sfn.start();
      const engine = started(
        spawnEngine({
          AWS_ENDPOINT_URL_SFN: endpoint,
          TASK_TOKEN: 'token-123',
          ENGINE_ID: 'engine-t1-app',
          ENGINE_VERSION: '8',
          TENANT_ID: 't1',
          SERVICE_NAME: 'app',
          TASK_ARN: 'arn:aws:ecs:us-east-1:000000000000:task/local/abc',
        }),
      );
      const url = await engine.url();

      const call = await eventually(async () => sfn?.calls[0]);

      expect(call.target).toBe('AWSStepFunctions.SendTaskSuccess');
      expect(call.body.taskToken).toBe('token-123');
      expect(JSON.parse(String(call.body.output))).toEqual({
        engineId: 'engine-t1-app',
        endpoint: url,
        version: '8',
        tenantId: 't1',
        service: 'app',
        taskArn: 'arn:aws:ecs:us-east-1:000000000000:task/local/abc',
      });
      const self = await get(`${url}/_admin/requests`);
      expect(self.body.requests).toEqual([
        expect.objectContaining({ path: '/health', selfCheck: true, status: 200 }),
      ]);
    });

    it('exits 1 when the hand-off call fails', async () => {
      sfn = fakeStepFunctions({ status: 400, body: { __type: 'TaskTimedOut', message: 'Task Timed Out' } });
      const engine = started(spawnEngine({ AWS_ENDPOINT_URL_SFN: await sfn.start(), TASK_TOKEN: 'stale' }));

      expect(await engine.exit).toBe(1);
      expect(sfn.calls).toHaveLength(1);
      expect(engine.lines.join('\n')).toMatch(/hand-off failed/);
    });

    it('withholds the hand-off under neverHandOff while serving healthy', async () => {
      sfn = fakeStepFunctions({ status: 200, body: {} });
      const engine = started(
        spawnEngine({
          AWS_ENDPOINT_URL_SFN: await sfn.start(),
          TASK_TOKEN: 'token',
          FAULTS: '{"neverHandOff":true}',
        }),
      );
      const url = await engine.url();

      await eventually(async () => engine.lines.some((l) => l.includes('hand-off withheld by fault')));

      expect((await get(`${url}/health`)).status).toBe(200);
      expect(sfn.calls).toEqual([]);
    });

    it('waits HANDOFF_DELAY_MS before handing off', async () => {
      sfn = fakeStepFunctions({ status: 200, body: {} });
      const engine = started(
        spawnEngine({
          AWS_ENDPOINT_URL_SFN: await sfn.start(),
          TASK_TOKEN: 'token',
          HANDOFF_DELAY_MS: '600',
        }),
      );
      await engine.url();
      const listeningAt = performance.now();

      await eventually(async () => sfn?.calls[0]);

      expect(performance.now() - listeningAt).toBeGreaterThanOrEqual(500);
    });
  });
});
