/**
 * The demo's tenants: ONE reference engine process serving every example tenant's
 * services as slots `/t/{tenantId}/{service}`, each reporting version "1" until a
 * config arrives. On start it writes the example plans, pointed at itself, to
 * `$ROLLOUT_HOME/examples/` (default `./.rollout/examples/`).
 *
 *   npm exec -- node examples/start-demo-engines.ts      (DEMO_ENGINE_PORT, default 4100, 0 for any free port;
 *                                                          DEMO_ENGINE_WARMUP_POLLS, default 4)
 */
import { relative, sep } from 'node:path';
import { startReferenceEngine } from '../engines/reference/server.ts';
import { examplesDir, writeExamplePlans } from './demo-plans.ts';

const DEFAULT_PORT = 4100;
const raw = process.env.DEMO_ENGINE_PORT;
const port = raw ? Number(raw) : DEFAULT_PORT;
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`DEMO_ENGINE_PORT must be a port number, got "${raw}"`);
  process.exit(2);
}

// Like a real service restarting, a slot reports its new version only after a few health polls.
const warmupPolls = Number(process.env.DEMO_ENGINE_WARMUP_POLLS ?? 4);
const engine = await startReferenceEngine({
  port,
  host: '127.0.0.1',
  engineVersion: '1',
  faults: warmupPolls > 0 ? [{ healthyAfterPolls: warmupPolls }] : [],
});
const plans = await writeExamplePlans(engine.url, examplesDir());
console.log(
  `demo reference engine on ${engine.url} (every slot reports version 1 until configured, and a new version after ${warmupPolls} health polls)`,
);
console.log(`  e.g. ${engine.url}/t/acme/app/health    admin: ${engine.url}/_admin/state`);
const shown = (file: string) => (file.startsWith(process.cwd() + sep) ? relative(process.cwd(), file) : file);
console.log(`example plans for it: ${plans.map(shown).join(', ')}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void engine.stop().then(() => process.exit(0));
  });
}
