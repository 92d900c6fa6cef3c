import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';
import { Terminal } from '@xterm/headless';
import stringWidth from 'string-width';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fillExamplePlan } from '../../examples/demo-plans.ts';
import { type ApiServer, startApiServer } from '../../local/api-server.ts';
import { type ApiHarness, startApiHarness, TOKEN, tenant } from './harness.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../cli/rollout.ts');
const DEMO_ENGINES = join(import.meta.dirname, '../../examples/start-demo-engines.ts');

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

const cliEnv = (env: Record<string, string> = {}) => ({
  ...process.env,
  ROLLOUT_URL: api.url,
  ROLLOUT_TOKEN: TOKEN,
  NO_COLOR: '',
  FORCE_COLOR: '',
  ...env,
});

async function rollout(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: cliEnv(env), cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A long-running CLI process whose output is collected as it arrives. */
function background(command: string, args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(command, args, {
    env: cliEnv(env),
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const seen = { stdout: '', stderr: '' };
  // Decoded as a stream: a character split across two chunks must not become two replacement characters.
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk) => {
    seen.stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    seen.stderr += chunk;
  });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return { child, seen, exited };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port nothing listens on (fetch refuses some well-known ones, such as 9, before connecting). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The example plan filled in for the test's reference engine, with fresh tenant ids. */
async function examplePlanFile(): Promise<{ file: string; tenants: string[] }> {
  let text = await fillExamplePlan('plan.json', api.h.engine.url);
  const example = JSON.parse(text) as { configs: { tenantId: string }[] };
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
  expect(final.plan).toMatchObject({ planId, status: 'COMPLETED', progressPercent: 100 });
  expect(final.plan.counts).toEqual({ COMPLETED: 4 });
  expect(final.tasks.map((t: { tenantId: string; status: string }) => [t.tenantId, t.status])).toEqual(
    tenants.map((t) => [t, 'COMPLETED']),
  );
  const slots = api.h.engine.state().services.filter((s) => tenants.includes(s.tenantId ?? ''));
  expect(slots.map((s) => s.version)).toEqual(Array(8).fill('2'));
});

it('exits 3 from plan watch when the plan fails, with the failure reason and durations in the summary', async () => {
  const { file, tenants } = await examplePlanFile();
  api.h.engine.setFaults({ tenantId: tenants[2]!, service: 'app', failBroadcast: 500 });

  const submitted = await rollout(['plan', 'submit', file, '--json', '--max-concurrency', '4']);
  const { planId } = JSON.parse(submitted.stdout);
  const watched = await rollout(['plan', 'watch', planId]);

  expect(watched.code).toBe(3);
  expect(watched.stdout).toMatch(
    new RegExp(`${tenants[2]}\\s+FAILED\\s+1 → 2\\s+0/2\\s+\\d+(\\.\\d)?s\\s+0\\s+BROADCAST`),
  );
  expect(watched.stdout).toMatch(new RegExp(`${tenants[0]}\\s+COMPLETED\\s+1 → 2\\s+2/2\\s+\\d`));
  expect(watched.stdout).toMatch(new RegExp(`plan ${planId} ended FAILED after \\d`));
});

it('filters plan show and events by tenant and status', async () => {
  const { file, tenants } = await examplePlanFile();
  api.h.engine.setFaults({ tenantId: tenants[1]!, service: 'app', failBroadcast: 500 });
  const { planId } = JSON.parse(
    (await rollout(['plan', 'submit', file, '--json', '--max-concurrency', '4'])).stdout,
  );
  await rollout(['plan', 'watch', planId, '--json']);

  const failed = JSON.parse((await rollout(['plan', 'show', planId, '--status', 'FAILED', '--json'])).stdout);
  const one = JSON.parse((await rollout(['plan', 'show', planId, '--tenant', tenants[3]!, '--json'])).stdout);
  const events = (await rollout(['events', planId, '--tenant', tenants[1]!, '--json'])).stdout
    .trim()
    .split('\n');
  const listed = JSON.parse((await rollout(['plan', 'list', '--tenant', tenants[1]!, '--json'])).stdout);

  expect(failed.tasks.map((t: { tenantId: string }) => t.tenantId)).toEqual([tenants[1]]);
  expect(one.tasks.map((t: { tenantId: string }) => t.tenantId)).toEqual([tenants[3]]);
  expect(events.length).toBeGreaterThan(1);
  expect(events.every((line) => JSON.parse(line).tenantId === tenants[1])).toBe(true);
  expect(listed.plans.map((p: { planId: string }) => p.planId)).toEqual([planId]);
});

it('shows a task with from → to version, stage durations, retries and the console link', async () => {
  const { file, tenants } = await examplePlanFile();
  const { planId } = JSON.parse(
    (await rollout(['plan', 'submit', file, '--json', '--max-concurrency', '4'])).stdout,
  );
  await rollout(['plan', 'watch', planId, '--json']);

  const shown = await rollout(['tenant', 'show', tenants[0]!]);

  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(/^version\s+1 → 2$/m);
  expect(shown.stdout).toMatch(/^stage runs\s+app succeeded \d+(\.\d)?s, db succeeded \d+(\.\d)?s$/m);
  expect(shown.stdout).toMatch(/^duration\s+\d/m);
  expect(shown.stdout).toMatch(/^retries\s+0$/m);
  expect(shown.stdout).toMatch(new RegExp(`^console\\s+${api.url}/console/tasks/${planId}-00000$`, 'm'));
});

it('dry-runs a plan file: tasks, stages, and which endpoints do not answer their health check (exit 1)', async () => {
  const { file, tenants } = await examplePlanFile();
  const plan = JSON.parse(await readFile(file, 'utf8'));
  const closed = await closedPort();
  plan.configs[1].networkEndpoints[1].value = `http://127.0.0.1:${closed}/t/nowhere/db`;
  await writeFile(file, JSON.stringify(plan));

  const preview = await rollout(['plan', 'submit', file, '--dry-run']);

  expect(preview.code).toBe(1);
  expect(preview.stdout).toContain('valid: 4 task(s)');
  expect(preview.stdout).toContain('7 of 8 endpoint(s) answer their health check');
  expect(preview.stdout).toMatch(new RegExp(`${tenants[0]}\\s+2\\s+app → db`));
  expect(preview.stdout).toMatch(
    new RegExp(
      `${tenants[1]}\\s+db@http://127.0.0.1:${closed}/t/nowhere/db\\s+unreachable \\(ECONNREFUSED\\)`,
    ),
  );
  const probed = api.h.engine.state().services.filter((s) => tenants.includes(s.tenantId ?? ''));
  expect(probed).toHaveLength(7);
  expect(probed.every((slot) => slot.configCount === 0)).toBe(true);
});

it('previews waves and config changes, shows a waiting wave, and approves it (plan approve)', async () => {
  const { file, tenants } = await examplePlanFile();
  const plan = JSON.parse(await readFile(file, 'utf8'));
  plan.maxConcurrency = 4;
  plan.strategy = {
    waves: [
      { name: 'canary', tenants: [tenants[0]] },
      { name: 'rest', approval: true },
    ],
  };
  await writeFile(file, JSON.stringify(plan));

  const preview = await rollout(['plan', 'submit', file, '--dry-run']);
  const submitted = await rollout(['plan', 'submit', file, '--json']);
  const { planId } = JSON.parse(submitted.stdout);
  let waiting = { stdout: '' };
  await waitFor(async () => {
    waiting = await rollout(['plan', 'show', planId]);
    return waiting.stdout.includes('waits for approval');
  }, 'the rest wave to wait for approval');
  const approved = await rollout(['plan', 'approve', planId]);
  const watched = await rollout(['plan', 'watch', planId]);

  expect(preview.stdout).toContain('valid: 4 task(s) in 2 wave(s)');
  expect(preview.stdout).toMatch(/^canary\s+1\s+4\s+/m);
  expect(preview.stdout).toMatch(/^rest\s+3\s+4\s+required\s+0$/m);
  expect(preview.stdout).toMatch(new RegExp(`${tenants[0]}\\s+canary\\s+2\\s+app → db\\s+app new; db new`));
  expect(waiting.stdout).toMatch(/^waves: canary COMPLETED 1\/1 {2}▸rest AWAITING_APPROVAL 0\/3$/m);
  expect(waiting.stdout).toContain(`wave rest waits for approval: rollout plan approve ${planId}`);
  expect(approved.stdout).toContain('wave rest approved: 3 tenant(s) start');
  expect(watched.code).toBe(0);
  expect(watched.stdout).toMatch(/^waves: canary COMPLETED 1\/1 {2}▸rest COMPLETED 3\/3$/m);
});

it('the demo engine writes the example plans pointed at whatever port it got, the waves one among them', async () => {
  const home = join(dir, 'demo-home');
  const demo = background(process.execPath, [DEMO_ENGINES], { DEMO_ENGINE_PORT: '0', ROLLOUT_HOME: home });
  try {
    await waitFor(() => demo.seen.stdout.includes('example plans for it'), 'the demo engine to start');
    const url = /demo reference engine on (http:\/\/127\.0\.0\.1:\d+)/.exec(demo.seen.stdout)![1]!;
    const written = JSON.parse(await readFile(join(home, 'examples', 'plan.json'), 'utf8'));

    expect(url).not.toBe('http://127.0.0.1:4100');
    expect(written.configs[0].networkEndpoints[0].value).toBe(`${url}/t/acme/app`);
    const preview = await rollout([
      'plan',
      'submit',
      join(home, 'examples', 'plan.json'),
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(preview.stdout).unreachableEndpoints).toEqual([]);
    const waves = await rollout(['plan', 'submit', join(home, 'examples', 'plan-waves.json'), '--dry-run']);
    expect(waves.stdout).toContain('valid: 4 task(s) in 2 wave(s)');
    expect(waves.stdout).toMatch(/^canary\s+1\s+2\s+10s\s+0$/m);
    expect(waves.stdout).toMatch(/^rest\s+3\s+2\s+required\s+0$/m);
  } finally {
    demo.child.kill('SIGTERM');
    await demo.exited;
  }
});

it("reports the server's code and message once, and usage errors with exit 2", async () => {
  const missing = await rollout(['task', 'show', '01ARZ3NDEKTSV4RRFFQ69G5FAV-00000']);
  const wrongToken = await rollout(['plan', 'list'], { ROLLOUT_TOKEN: 'nope' });
  const badFlag = await rollout(['plan', 'list', '--force']);
  const extra = await rollout(['plan', 'show', 'a', 'b']);
  const unreachable = await rollout(['health'], { ROLLOUT_URL: 'http://127.0.0.1:9' });
  const invalidPlan = join(dir, 'invalid.json');
  await writeFile(
    invalidPlan,
    JSON.stringify({ configs: [{ tenantId: 'bad id!', deployUnitVersion: '2' }] }),
  );
  const invalid = await rollout(['plan', 'submit', invalidPlan]);

  expect(missing.code).toBe(1);
  expect(missing.stderr).toBe('error: 404 NOT_FOUND: task 01ARZ3NDEKTSV4RRFFQ69G5FAV-00000 not found\n');
  expect(wrongToken.code).toBe(1);
  expect(wrongToken.stderr).toContain('401 UNAUTHORIZED: invalid token');
  expect(badFlag.code).toBe(2);
  expect(badFlag.stderr).toContain("error: unknown option '--force'");
  expect(extra.code).toBe(2);
  expect(extra.stderr).toContain("error: too many arguments for 'show'. Expected 1 argument but got 2");
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toContain('cannot reach the rollout API at http://127.0.0.1:9');
  expect(invalid.code).toBe(1);
  const reason = 'only letters, digits, ".", "_" and "-", starting with a letter or digit';
  expect(invalid.stderr.split(reason)).toHaveLength(2);
  expect(invalid.stderr).toContain(`  configs[0].tenantId: ${reason}`);
});

it('prints its version, suggests the command meant, and gives each command its own help', async () => {
  const pkg = JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8'));

  const version = await rollout(['--version']);
  const typo = await rollout(['plna', 'list']);
  const subTypo = await rollout(['plan', 'lsit']);
  const help = await rollout(['plan', 'watch', '--help']);

  expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain("unknown command 'plna'\n(Did you mean plan?)");
  expect(typo.stderr.match(/unknown command/g)).toHaveLength(1);
  expect(subTypo.stderr).toContain("unknown command 'lsit'\n(Did you mean list?)");
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: rollout plan watch \[options\] <planId>/);
  expect(help.stdout).toContain('--tenant <tenantId>');
  expect(help.stdout).not.toContain('plan submit');
});

it('finds the API from ROLLOUT_PORT when ROLLOUT_URL is not set', async () => {
  const port = new URL(api.url).port;

  const health = await rollout(['health', '--json'], { ROLLOUT_URL: '', ROLLOUT_PORT: port });
  const wrong = await rollout(['health'], { ROLLOUT_URL: '', ROLLOUT_PORT: 'abc' });

  expect(JSON.parse(health.stdout).status).toBe('healthy');
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain('ROLLOUT_PORT must be a port number');
});

it('prints yaml or json on request, and colours only when allowed (NO_COLOR, --no-color)', async () => {
  const yaml = await rollout(['health', '--output', 'yaml']);
  const json = await rollout(['health', '--json']);
  const forced = await rollout(['health'], { FORCE_COLOR: '1' });
  const noColor = await rollout(['health'], { FORCE_COLOR: '1', NO_COLOR: '1' });
  const flag = await rollout(['health', '--no-color'], { FORCE_COLOR: '1' });

  expect(yaml.stdout).toMatch(/^status: healthy$/m);
  expect(JSON.parse(json.stdout).status).toBe('healthy');
  expect(forced.stdout).toContain('\x1b[32mhealthy\x1b[39m');
  expect(noColor.stdout).not.toContain('\x1b[');
  expect(flag.stdout).not.toContain('\x1b[');
});

it('completes commands, subcommands and option values in bash', async () => {
  const script = (await rollout(['completion', 'bash'])).stdout;
  const complete = async (...words: string[]) => {
    const { stdout } = await run('bash', [
      '-c',
      `source /dev/stdin <<'EOS'\n${script}\nEOS\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _rollout_completion; echo "\${COMPREPLY[*]}"`,
    ]);
    return stdout.trim().split(' ');
  };

  expect(await complete('rollout', 'pl')).toEqual(['plan']);
  expect(await complete('rollout', 'plan', 'w')).toEqual(['watch']);
  expect(await complete('rollout', 'plan', 'list', '--status', 'ROLL')).toEqual([
    'ROLLING_BACK',
    'ROLLED_BACK',
    'ROLLBACK_FAILED',
  ]);
  expect(await complete('rollout', '--output', '')).toEqual(['table', 'json', 'yaml']);
  expect((await rollout(['completion', 'zsh'])).stdout).toMatch(/^#compdef rollout/);
});

it('plan watch in an 80x24 terminal never wraps a line and ends with the summary on screen', async () => {
  const tenants = Array.from({ length: 30 }, (_, i) => tenant(`wide-tenant-name-${i}`));
  const body = api.planBody(tenants, {
    name: '宽屏测试 🚀 a plan name long enough to overflow an eighty-column terminal on its own line',
    maxConcurrency: 4,
  });
  const { planId } = (await api.call('POST', '/v1/plans', { body })).body;
  const command = `stty cols 80 rows 24; exec '${process.execPath}' '${CLI}' plan watch ${planId}`;

  const watch = background('script', ['-q', '-e', '-f', '-c', command, '/dev/null'], {
    TERM: 'xterm-256color',
  });
  const code = await watch.exited;
  watch.child.stdin!.end();

  const terminal = new Terminal({ cols: 80, rows: 24, scrollback: 10_000, allowProposedApi: true });
  await new Promise<void>((resolve) => terminal.write(watch.seen.stdout, resolve));
  const buffer = terminal.buffer.active;
  const all = Array.from({ length: buffer.length }, (_, i) => buffer.getLine(i)!);
  const screen = all.slice(buffer.baseY).map((line) => line.translateToString(true));
  const written = stripVTControlCharacters(watch.seen.stdout).split(/\r?\n/);

  expect(code).toBe(0);
  expect(all.filter((line) => line.isWrapped)).toHaveLength(0);
  expect(written.filter((line) => stringWidth(line) > 80)).toEqual([]);
  expect(written.some((line) => line.startsWith(`plan ${planId} RUNNING`))).toBe(true);
  expect(screen.join('\n')).toContain('+30 completed');
  expect(screen.join('\n')).toMatch(new RegExp(`plan ${planId} ended COMPLETED after \\d`));
});

it('plan watch and events --follow reconnect across an API restart and exit with the verdict', async () => {
  const [name] = [tenant('restart')];
  // The first stage stays in its health check until the pause is accepted, so the pause lands at the
  // boundary after it however slow the machine (a pause that arrives during the last stage finds no
  // boundary left and the task would complete; one that arrives before the plan runs is refused).
  api.h.engine.setFaults([{ tenantId: name, service: 'app', neverHealthy: true }]);
  const body = api.planBody([name], {
    healthCheck: { intervalSeconds: 0.5, maxAttempts: 100, timeoutSeconds: 2 },
  });
  const { planId } = (await api.call('POST', '/v1/plans', { body })).body;
  const firstTask = async () => (await api.call('GET', `/v1/plans/${planId}/tasks`)).body.tasks[0];
  await waitFor(async () => (await firstTask())?.currentStage === 'app', 'the first stage to start');
  const pause = await api.call('POST', `/v1/plans/${planId}/pause`, { body: {} });
  expect(pause.status).toBeLessThan(300);
  await waitFor(async () => (await firstTask()).paused === true, 'the pause to be recorded');
  api.h.engine.setFaults([{ tenantId: name, service: 'app', neverHealthy: false }]);
  await waitFor(async () => (await firstTask()).status === 'PAUSED', 'the task to pause');
  const watch = background(process.execPath, [CLI, 'plan', 'watch', planId]);
  const follow = background(process.execPath, [CLI, 'events', planId, '--follow']);
  await waitFor(
    () => watch.seen.stdout.includes('PAUSED') && follow.seen.stdout.includes('TaskPaused'),
    'both to start',
  );

  const port = Number(new URL(api.url).port);
  await api.server.close();
  await waitFor(
    () => watch.seen.stdout.includes('reconnecting') && follow.seen.stderr.includes('reconnecting'),
    'both to notice the restart',
  );
  let restarted: ApiServer | undefined;
  try {
    restarted = await startApiServer({
      deps: api.h.deps,
      token: TOKEN,
      port,
      log: (line) => api.h.logs.push(line),
    });
    api.h.engine.setFaults([
      { tenantId: name, service: 'app', failBroadcast: 500 },
      { tenantId: name, service: 'db', failBroadcast: 500 },
    ]);
    await api.call('POST', `/v1/plans/${planId}/resume`, { body: {} });

    expect(await watch.exited).toBe(3);
    expect(await follow.exited).toBe(3);
  } finally {
    await restarted?.close();
  }
  expect(watch.seen.stdout).toContain(`reconnected to ${api.url}`);
  expect(watch.seen.stdout).toContain(`plan ${planId} ended FAILED`);
  expect(follow.seen.stderr).toContain(`reconnected to ${api.url}`);
  expect(follow.seen.stdout).toMatch(/TaskResumed[\s\S]*TaskFailed[\s\S]*PlanFailed/);
  expect(follow.seen.stdout.match(/TaskPaused/g)).toHaveLength(1);
});
