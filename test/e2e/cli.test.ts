import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness, TOKEN, tenant } from './harness.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../cli/rollout.ts');
const EXAMPLE = join(import.meta.dirname, '../../examples/plan.json');
const EXAMPLE_ENGINE = 'http://127.0.0.1:4100';

let api: ApiHarness;
let dir: string;
beforeAll(async () => {
  api = await startApiHarness();
  dir = await mkdtemp(join(tmpdir(), 'rollout-cli-'));
});
afterAll(async () => {
  await api?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rollout(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, ROLLOUT_URL: api.url, ROLLOUT_TOKEN: TOKEN, ...env },
      cwd: dir,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The example plan with its engine URLs pointed at the test's reference engine (and fresh tenant ids). */
async function examplePlanFile(): Promise<{ file: string; tenants: string[] }> {
  const example = JSON.parse(await readFile(EXAMPLE, 'utf8')) as { configs: { tenantId: string }[] };
  let text = JSON.stringify(example).replaceAll(EXAMPLE_ENGINE, api.h.engine.url);
  const tenants = example.configs.map((c) => {
    const fresh = tenant(c.tenantId);
    text = text.replaceAll(`"${c.tenantId}"`, `"${fresh}"`).replaceAll(`/t/${c.tenantId}/`, `/t/${fresh}/`);
    return fresh;
  });
  const file = join(dir, `plan-${tenants[0]}.json`);
  await writeFile(file, text);
  return { file, tenants };
}

it('submits the example plan and watches it to COMPLETED (--json, exit 0)', async () => {
  const { file, tenants } = await examplePlanFile();

  const submitted = await rollout(['plan', 'submit', file, '--json']);
  expect(submitted.code).toBe(0);
  const { planId, taskIds } = JSON.parse(submitted.stdout);
  expect(taskIds).toHaveLength(4);

  const watched = await rollout(['plan', 'watch', planId, '--json']);
  expect(watched.code).toBe(0);
  const final = JSON.parse(watched.stdout);
  expect(final.plan).toMatchObject({ planId, status: 'COMPLETED', completedTasks: 4, progressPercent: 100 });
  expect(final.tasks.map((t: { tenantId: string; status: string }) => [t.tenantId, t.status])).toEqual(
    tenants.map((t) => [t, 'COMPLETED']),
  );
  const slots = api.h.engine.state().services.filter((s) => tenants.includes(s.tenantId ?? ''));
  expect(slots.map((s) => s.version)).toEqual(Array(8).fill('2'));
});

it('exits 3 from plan watch when the plan fails, and prints a summary table for people', async () => {
  const { file, tenants } = await examplePlanFile();
  api.h.engine.setFaults({ tenantId: tenants[2]!, service: 'app', failBroadcast: 500 });

  const submitted = await rollout(['plan', 'submit', file, '--json', '--max-concurrency', '4']);
  const { planId } = JSON.parse(submitted.stdout);
  const watched = await rollout(['plan', 'watch', planId]);

  expect(watched.code).toBe(3);
  expect(watched.stdout).toMatch(
    new RegExp(`${tenants[2]}\\s+${planId}-00002\\s+FAILED\\s+0/2\\s+0\\s+BROADCAST`),
  );
  expect(watched.stdout).toContain(`plan ${planId} ended FAILED`);
});

it('dry-runs a plan file and shows tasks and their stages', async () => {
  const { file, tenants } = await examplePlanFile();

  const preview = await rollout(['plan', 'submit', file, '--dry-run']);

  expect(preview.code).toBe(0);
  expect(preview.stdout).toContain('valid: 4 task(s)');
  expect(preview.stdout).toMatch(new RegExp(`${tenants[0]}\\s+2\\s+app → db`));
});

it("reports the server's code and message, and usage errors with exit 2", async () => {
  const missing = await rollout(['task', 'show', '01ARZ3NDEKTSV4RRFFQ69G5FAV-00000']);
  const wrongToken = await rollout(['plan', 'list'], { ROLLOUT_TOKEN: 'nope' });
  const usage = await rollout(['plan', 'list', '--force']);
  const unreachable = await rollout(['health'], { ROLLOUT_URL: 'http://127.0.0.1:9' });

  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('error: 404 NOT_FOUND: task 01ARZ3NDEKTSV4RRFFQ69G5FAV-00000 not found');
  expect(wrongToken.code).toBe(1);
  expect(wrongToken.stderr).toContain('401 UNAUTHORIZED: invalid token');
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain('plan list does not take --force');
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toContain('cannot reach the rollout API at http://127.0.0.1:9');
});

it('reads the token from .rollout/token under ROLLOUT_HOME when ROLLOUT_TOKEN is not set', async () => {
  const home = join(dir, 'home');
  await run('mkdir', ['-p', home]);
  await writeFile(join(home, 'token'), `${TOKEN}\n`);

  const health = await rollout(['health', '--json'], { ROLLOUT_TOKEN: '', ROLLOUT_HOME: home });
  const plans = await rollout(['plan', 'list', '--json'], { ROLLOUT_TOKEN: '', ROLLOUT_HOME: home });

  expect(JSON.parse(health.stdout).status).toBe('healthy');
  expect(plans.code).toBe(0);
  expect(Array.isArray(JSON.parse(plans.stdout).plans)).toBe(true);
});
