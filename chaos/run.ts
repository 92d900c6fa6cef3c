/**
 * `npm run chaos`: the system tried as an attacker and a chaos tester would, on this machine and on
 * loopback only. Each scenario starts `npm start` (local/main.ts) in its own ROLLOUT_HOME:
 *   1. a 50-tenant, 2-service plan (maxConcurrency 5) while the runtime is SIGKILLed 20 times;
 *   2. two plans over the same 100 tenants at once;
 *   3. 1,000 malformed requests on every write route, with a table scan before and after;
 *   4. the engine fault cases.
 * Prints every figure against its target and writes them to chaos/results/. Exits 1 when a target is missed.
 * `--quick` shrinks every scenario (a smoke run, not a result).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { startReferenceEngine } from '../engines/reference/server.ts';
import { type ChaosContext, seededRandom } from './context.ts';
import { repeatedKills } from './crash.ts';
import { engineFaults } from './engine-faults.ts';
import { overlappingPlans } from './overlap.ts';
import { malformedStorm } from './storm.ts';

const quick = process.argv.includes('--quick');
const seedArg = process.argv.find((a) => a.startsWith('--seed='));
const seed = seedArg ? Number(seedArg.slice('--seed='.length)) : Date.now() % 1_000_000;
const SIZES = quick
  ? { tenants: 10, kills: 3, overlapTenants: 10, perRoute: 50 }
  : { tenants: 50, kills: 20, overlapTenants: 100, perRoute: 1000 };
const MINUTES = 60_000;

const log = (line: string) =>
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Check {
  figure: string;
  value: number | string;
  target: string;
  met: boolean;
}
const checks: Check[] = [];
const check = (figure: string, value: number | string, target: number | string) =>
  checks.push({ figure, value, target: String(target), met: value === target });

const started = Date.now();
const workDir = await mkdtemp(join(os.tmpdir(), 'rollout-chaos-'));
const engine = await startReferenceEngine({ engineVersion: '1', maxLogEntries: 2_000_000 });
const ctx: ChaosContext = { engine, workDir, random: seededRandom(seed), log };
log(`${quick ? 'quick' : 'full'} run, seed ${seed}, ${os.cpus().length} cores, work dir ${workDir}`);

log(`1/4 repeated SIGKILL: ${SIZES.tenants} tenants × 2 services, ${SIZES.kills} kills`);
const crash = await repeatedKills(ctx, {
  tenants: SIZES.tenants,
  kills: SIZES.kills,
  uptimeMs: [1_000, 8_000],
  stagePolls: 25,
  timeoutMs: 40 * MINUTES,
});
check('crash: SIGKILLs survived', crash.kills, SIZES.kills);
// A kill after the plan ended tests nothing: every one must land while it runs.
check('crash: SIGKILLs while the plan ran', crash.killsWhilePlanRunning, SIZES.kills);
check('crash: plan status', crash.planStatus, 'COMPLETED');
check(
  'crash: tasks completed',
  `${crash.tasksCompleted}/${crash.tasks}`,
  `${SIZES.tenants}/${SIZES.tenants}`,
);
check('crash: event sequence gaps', crash.eventGaps, 0);
check('crash: duplicate events', crash.eventDuplicates, 0);
check('crash: completed stages re-run', crash.completedStagesRerun, 0);
check('crash: operator retries spent by recovery', crash.operatorRetriesSpent, 0);
check('crash: processes left after shutdown', crash.processesLeft, 0);
check('crash: engine processes left', crash.enginesLeft, 0);
check('crash: sockets on a non-loopback address', crash.nonLoopbackSockets, 0);

log(`2/4 two overlapping plans over ${SIZES.overlapTenants} tenants`);
const overlap = await overlappingPlans(ctx, {
  tenants: SIZES.overlapTenants,
  maxConcurrency: 10,
  stagePolls: 3,
  timeoutMs: 20 * MINUTES,
});
const all = `${SIZES.overlapTenants}/${SIZES.overlapTenants}`;
check('overlap: plan A completed', `${overlap.figures.planA.completed}/${SIZES.overlapTenants}`, all);
check('overlap: plan B completed', `${overlap.figures.planB.completed}/${SIZES.overlapTenants}`, all);
check('overlap: tenants worked on by two plans at once', overlap.figures.overlaps, 0);

log(`3/4 malformed-request storm: ${SIZES.perRoute} per write route`);
const [planA] = overlap.planIds;
const tasks = await overlap.run.api.tasks(planA!);
const storm = await malformedStorm(
  ctx,
  overlap.run,
  { planId: planA!, taskId: tasks[0]!.taskId, tenantId: overlap.tenants[0]! },
  SIZES.perRoute,
);
overlap.run.sampleSockets();
const overlapEnd = await overlap.run.shutdown();
check('storm: 5xx answers', storm.status5xx, 0);
check('storm: requests without an answer', storm.unanswered, 0);
check('storm: malformed requests accepted (< 400)', storm.accepted, 0);
check('storm: malformed requests past validation (409, 422)', storm.reachedDomain, 0);
check('storm: items added', storm.itemsAdded, 0);
check('storm: items removed', storm.itemsRemoved, 0);
check('storm: items changed', storm.itemsChanged, 0);
check('overlap+storm: sockets on a non-loopback address', overlap.run.exposed.size, 0);
check('overlap+storm: processes left after shutdown', overlapEnd.processesLeft, 0);

log('4/4 engine fault cases');
const engines = await engineFaults(ctx, { timeoutMs: 15 * MINUTES, settleMs: 15_000 });
for (const c of engines.cases) {
  check(`engines: ${c.case}: task`, c.taskStatus, c.expectedStatus);
  check(`engines: ${c.case}: engines alive`, c.enginesAlive, c.expectedAlive);
  check(`engines: ${c.case}: registry ready for a stopped engine`, c.readyButStopped, 0);
  check(`engines: ${c.case}: engine alive but not ready in the registry`, c.aliveButNotReady, 0);
}
check('engines: engine processes left after shutdown', engines.enginesLeftAfterShutdown, 0);
check('engines: processes left after shutdown', engines.processesLeftAfterShutdown, 0);
check('engines: sockets on a non-loopback address', engines.nonLoopbackSockets, 0);

await engine.stop();
const durationSeconds = Math.round((Date.now() - started) / 1000);
const results = {
  at: new Date().toISOString(),
  quick,
  seed,
  durationSeconds,
  machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, loadAverage: os.loadavg() },
  crash,
  overlap: { ...overlap.figures, processesLeft: overlapEnd.processesLeft },
  storm,
  engines,
  checks,
};
const resultsDir = new URL('./results/', import.meta.url).pathname;
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${results.at.replaceAll(':', '-').slice(0, 19)}${quick ? '-quick' : ''}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

const width = Math.max(...checks.map((c) => c.figure.length));
console.log(`\nchaos run (${quick ? 'quick' : 'full'}, seed ${seed}) in ${durationSeconds} s\n`);
for (const c of checks) {
  console.log(
    `${c.met ? 'ok  ' : 'MISS'}  ${c.figure.padEnd(width)}  ${String(c.value).padStart(7)}  (target ${c.target})`,
  );
}
console.log(
  `\ncrash: ${crash.killsWhilePlanRunning} of ${crash.kills} kills hit the running plan; ${crash.lostExecutionsRecovered} lost executions recovered; ${crash.failedRestarts} failed restarts; ${crash.durationSeconds} s`,
);
if (crash.failures.length)
  console.log(`crash: unfinished tasks:\n  ${crash.failures.slice(0, 10).join('\n  ')}`);
console.log(
  `storm: ${storm.requests} requests on ${storm.routes} write routes in ${storm.durationSeconds} s; statuses ${JSON.stringify(storm.statuses)}`,
);
if (storm.examples.length) console.log(`storm: examples:\n  ${storm.examples.join('\n  ')}`);
if (overlap.figures.overlapExamples.length)
  console.log(`overlap: ${overlap.figures.overlapExamples.join('\n  ')}`);
console.log(`results: ${file}`);
await rm(workDir, { recursive: true, force: true });
process.exit(checks.every((c) => c.met) ? 0 : 1);
