/**
 * `npm start`: the whole system on this machine. Each part registers a stop
 * step, so shutdown on SIGINT/SIGTERM unwinds everything in reverse order.
 */
import { startLocalRuntime } from './runtime.ts';

const started = Date.now();
const runtime = await startLocalRuntime();
const stops: (() => Promise<void>)[] = [runtime.stop];

console.log(`tenant-rollout local runtime ready in ${Date.now() - started} ms`);
for (const [service, url] of Object.entries(runtime.endpoints)) console.log(`  ${service.padEnd(12)} ${url}`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  for (const stop of stops.reverse()) await stop();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
