/**
 * `npm start` to a healthy `GET /v1/health`: spawns `node local/main.ts` with a
 * fresh ROLLOUT_HOME and a free ROLLOUT_PORT, and times the "ready" line and
 * the first 200 from the health route. Run twice: cold (empty home: the table
 * is created) and warm (the same home again).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../local/ports.ts';

export interface StartupResult {
  readyLineMs?: number;
  healthyMs?: number;
  healthStatus?: string;
  /** Set when /v1/health never answered 200 before the deadline. */
  note?: string;
}

const repoRoot = new URL('../', import.meta.url).pathname;

async function startOnce(home: string, timeoutMs: number): Promise<StartupResult> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['local/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ROLLOUT_HOME: home, ROLLOUT_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: StartupResult = {};
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (result.readyLineMs === undefined && /ready/i.test(output))
      result.readyLineMs = performance.now() - started;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });

  const deadline = started + timeoutMs;
  while (alive && performance.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/health`, {
        signal: AbortSignal.timeout(1000),
      });
      const body = (await response.json().catch(() => ({}))) as { status?: string };
      if (response.status === 200) {
        result.healthyMs = performance.now() - started;
        result.healthStatus = body.status;
        break;
      }
    } catch {
      // not listening yet
    }
    // Without the API route, stop a few seconds after the runtime said it was ready.
    if (result.readyLineMs !== undefined && performance.now() - started > result.readyLineMs + 5_000) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (result.healthyMs === undefined) {
    result.note = alive
      ? 'GET /v1/health did not answer 200 (no API server in local/main.ts yet?); timed to the "ready" line'
      : `local/main.ts exited before it was healthy: ${output.slice(-500)}`;
  }
  if (alive) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  return result;
}

export async function measureStartup(
  options: { warm: boolean; timeoutMs?: number } = { warm: true },
): Promise<{ cold: StartupResult; warm?: StartupResult }> {
  const home = mkdtempSync(join(tmpdir(), 'rollout-bench-'));
  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    const cold = await startOnce(home, timeoutMs);
    if (!options.warm) return { cold };
    return { cold, warm: await startOnce(home, timeoutMs) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
