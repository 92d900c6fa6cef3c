/**
 * `npm start`: the whole system on this machine. Each part registers a stop
 * step, so shutdown on SIGINT/SIGTERM unwinds everything in reverse order.
 */
import { join } from 'node:path';
import { depsFromEnv } from '../functions/core/deps.ts';
import { EVENT_SOURCE, type RolloutEvent } from '../functions/core/model.ts';
import { sweep } from '../functions/core/orchestration/supervisor.ts';
import { localToken, startApiServer } from './api-server.ts';
import { CONSOLE_LEVEL_ENV, consoleLevel, lifecycleLine } from './lifecycle.ts';
import { localPorts } from './ports.ts';
import { startLocalRuntime } from './runtime.ts';

const SUPERVISOR_EVERY_MS = 10_000;

const started = Date.now();
const home = process.env.ROLLOUT_HOME || join(process.cwd(), '.rollout');
const { api: port, ...endpointPorts } = localPorts();
const level = consoleLevel(process.env[CONSOLE_LEVEL_ENV]);
const runtime = await startLocalRuntime({
  home,
  ports: endpointPorts,
  scheduleEveryMs: { supervisor: SUPERVISOR_EVERY_MS },
  extraEnv: { SUPERVISOR_SWEEPS: '1' },
  // The terminal shows plans and tasks as they move; the functions' own logs go to files.
  extraRules: [
    {
      name: 'print-lifecycle',
      pattern: { source: [EVENT_SOURCE] },
      target: {
        listener: (event) => {
          const line = lifecycleLine(event.detail as RolloutEvent, level);
          if (line) console.log(line);
        },
      },
    },
  ],
});
const stops: (() => Promise<void>)[] = [runtime.stop];

let stopping = false;
async function shutdown(signal: string, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  for (const stop of stops.reverse()) await stop();
  process.exit(exitCode);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

try {
  // After the runtime: it set the environment the SDK clients read. One set of clients per function, as
  // on Lambda: a client signs with the credentials of the function it first runs in (local/iam.ts).
  const apiDeps = depsFromEnv();
  const supervisorDeps = depsFromEnv();
  const { token, source, file } = await localToken(home);
  const api = await startApiServer({
    deps: apiDeps,
    token,
    port,
    asApiFunction: (dispatch) => runtime.asFunction('api', dispatch),
  });
  stops.push(api.close);

  // Start-up recovery: executions that died with the previous process are restarted from their checkpoints.
  const recovery = await runtime.asFunction('supervisor', () => sweep(supervisorDeps));
  const recovered = recovery.recoveredTasks.length + recovery.restartedPlans.length;

  console.log(`tenant-rollout local runtime ready in ${Date.now() - started} ms`);
  for (const [service, url] of Object.entries(runtime.endpoints)) {
    console.log(`  ${service.padEnd(12)} ${url}`);
  }
  console.log(`  ${'api'.padEnd(12)} ${api.url}`);
  console.log(`  ${'logs'.padEnd(12)} ${runtime.logDir} (one JSON-lines file per function)`);
  if (recovered) {
    console.log(
      `recovered ${recovery.recoveredTasks.length} task(s) and ${recovery.restartedPlans.length} plan(s)`,
    );
  }
  console.log(`API token (${source === 'env' ? 'from ROLLOUT_TOKEN' : `${source}: ${file}`}): ${token}`);
  console.log(`try: ROLLOUT_URL=${api.url} npx rollout health`);
} catch (error) {
  console.error(`start-up failed: ${(error as Error).stack ?? String(error)}`);
  await shutdown('start-up failure', 1);
}
