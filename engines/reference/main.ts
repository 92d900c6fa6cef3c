/**
 * Process entry of the reference engine (an ECS task on AWS, a child process locally). Exit codes are
 * part of its contract with whoever started it: 0 after SIGTERM/SIGINT, 1 when the hand-off failed,
 * 2 for an unusable environment, 3 when a crashOnBroadcast fault fired, and whatever an
 * exitBeforeHandOff fault names.
 */
import { type EngineSettings, settingsFromEnv } from './env.ts';
import { handOff } from './handoff.ts';
import { startReferenceEngine } from './server.ts';

/** One JSON object per line, so both people and the local ECS endpoint can read the log. */
const log = (fields: Record<string, unknown>) =>
  console.log(JSON.stringify({ at: new Date().toISOString(), ...fields }));

/** Stays under the one second a stopping engine is given, even if a connection refuses to close. */
const SHUTDOWN_DEADLINE_MS = 900;

let settings: EngineSettings;
try {
  settings = settingsFromEnv(process.env);
} catch (error) {
  log({ level: 'error', msg: 'invalid engine environment', error: (error as Error).message });
  process.exit(2);
}

const engine = await startReferenceEngine({
  ...settings.engine,
  onCrash: () => {
    log({ level: 'error', msg: 'crashOnBroadcast fault fired, exiting', exitCode: 3 });
    process.exit(3);
  },
});
log({
  msg: 'reference engine listening',
  url: engine.url,
  engineId: engine.engineId,
  version: settings.engine.engineVersion,
  tenantId: settings.engine.tenantId,
  service: settings.engine.service,
});

async function shutdown(exitCode: number) {
  const deadline = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DEADLINE_MS).unref());
  await Promise.race([engine.stop(), deadline]);
  process.exit(exitCode);
}

const exitBeforeHandOff = engine.faultsFor(
  settings.engine.tenantId,
  settings.engine.service,
).exitBeforeHandOff;
if (exitBeforeHandOff !== undefined) {
  log({ level: 'error', msg: 'exitBeforeHandOff fault set, exiting', exitCode: exitBeforeHandOff });
  process.exit(exitBeforeHandOff);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log({ msg: 'stopping', signal });
    void shutdown(0);
  });
}

if (settings.taskToken) {
  try {
    const outcome = await handOff({
      engine,
      taskToken: settings.taskToken,
      versionKey: settings.engine.versionKey,
      delayMs: settings.handOffDelayMs,
      env: process.env,
      ...(settings.advertiseHost && { advertiseHost: settings.advertiseHost }),
      ...(settings.engine.tenantId && { tenantId: settings.engine.tenantId }),
      ...(settings.engine.service && { service: settings.engine.service }),
      ...(settings.taskArn && { taskArn: settings.taskArn }),
    });
    if (outcome.sent) log({ msg: 'handed off', ...outcome.payload });
    else log({ level: 'warn', msg: 'hand-off withheld by fault', reason: outcome.reason });
  } catch (error) {
    log({
      level: 'error',
      msg: 'hand-off failed',
      error: (error as Error).message,
      name: (error as Error).name,
    });
    await shutdown(1);
  }
}
