/**
 * `npm run bench` (full, ~15 min) or `npm run bench -- --quick` (smoke, under a
 * minute): every measurement, a table on stdout, JSON in bench/results/.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { type Job, RESULT_PREFIX } from './jobs.ts';
import { type BenchResults, renderTable } from './report.ts';
import { measureStartup } from './startup.ts';

const quick = process.argv.includes('--quick');
/** `--scale`: only the scale runs (the 10,000-tenant one takes minutes). */
const scaleOnly = process.argv.includes('--scale');
const repoRoot = new URL('../', import.meta.url).pathname;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const SIZES = quick
  ? {
      overhead: { tenants: 5, stages: 4 },
      floor: { rounds: 30, loopRounds: 50 },
      cost: { tenants: 20, stages: 2 },
      locks: { uncontended: 100, total: 500, inFlight: 32 },
      scale: [20, 50],
    }
  : {
      overhead: { tenants: 50, stages: 4 },
      floor: { rounds: 200, loopRounds: 200 },
      cost: { tenants: 100, stages: 2 },
      locks: { uncontended: 500, total: 5000, inFlight: 32 },
      scale: [100, 1000, 10_000],
    };

/** The scale runs' maxConcurrency: 100 tenants at once, as a large rollout would run. */
const SCALE_CONCURRENCY = 100;

function machine() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedChanges: Boolean(git('status', '--porcelain')),
  };
}

function runWorker(job: Job): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bench/worker.ts', JSON.stringify(job)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
      else reject(new Error(`worker ${job.kind} exited with ${code}: ${stdout.slice(-1000)}`));
    });
  });
}

const startedAt = Date.now();
const info = machine();
log(`${quick ? 'quick' : 'full'} run on ${info.cores} cores, ${info.memoryGb} GB, Node ${info.node}`);

async function orchestrationRun() {
  log('orchestration overhead, floor, cost model, locks');
  return (await runWorker({
    kind: 'orchestration',
    overhead: SIZES.overhead,
    floor: SIZES.floor,
    cost: SIZES.cost,
    locks: SIZES.locks,
  })) as BenchResults['orchestration'];
}

async function startupRun() {
  log('start-up: node local/main.ts to a healthy GET /v1/health');
  return measureStartup({ warm: !quick });
}

const orchestration = scaleOnly ? undefined : await orchestrationRun();
const scale: BenchResults['scale'] = [];
for (const tenants of SIZES.scale) {
  log(`scale: ${tenants} tenants x 2 stages at maxConcurrency ${SCALE_CONCURRENCY}`);
  scale.push(
    (await runWorker({
      kind: 'scale',
      tenants,
      stages: 2,
      maxConcurrency: SCALE_CONCURRENCY,
      // The 10,000 run may pass its 10-minute target (its wall time says whether it did) and stops
      // at 20 minutes: a plan that ends is one whose cost per tenant can be compared with 100's.
      timeoutMs: tenants >= 10_000 ? 1_200_000 : Math.max(120_000, tenants * 600),
    })) as BenchResults['scale'][number],
  );
}
const startup = scaleOnly ? undefined : await startupRun();
const results: BenchResults = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : scaleOnly ? 'scale' : 'full',
  machine: info,
  sizes: SIZES,
  orchestration,
  scale,
  startup,
  totalSeconds: 0,
};
results.totalSeconds = (Date.now() - startedAt) / 1000;

const dir = new URL('./results/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const file = `${dir}${results.date.slice(0, 10)}-${results.mode}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${renderTable(results)}\n`);
log(`results written to ${file.replace(repoRoot, '')} (${Math.round(results.totalSeconds)} s in all)`);
