/** The results' shape, the targets from issue 8, and the table printed at the end of a run. */
import type { CostResult } from './cost-run.ts';
import type { WritePeaks } from './instrument.ts';
import type { LockResult } from './locks.ts';
import type { FloorResult, OverheadResult } from './orchestration.ts';
import type { StartupResult } from './startup.ts';

export interface ScaleResult {
  tenants: number;
  stages: number;
  maxConcurrency: number;
  status: string;
  finished: boolean;
  completedTasks: number;
  failedTasks: number;
  wallSeconds: number;
  /** POST /v1/plans over HTTP, request sent to answer read. */
  acceptSeconds: number;
  tenantsPerSecond: number;
  rssBeforeMb: number;
  peakRssMb: number;
  dynamoPeakRssMb?: number;
  dynamoHwmMb?: number;
  failureReasons: Record<string, number>;
  /** The plan item's size at the end of the run. */
  planItemBytes: number;
  /** Busiest item and partition key, in writes per second (from the metered writes). */
  peakWrites: WritePeaks;
  /** Per tenant deployment, when the plan ran to its end. */
  cost?: {
    usagePerTenant: CostResult['usagePerTenant'];
    per1000Tenants: CostResult['per1000Tenants'];
    transitionsPerTenant: number;
  };
}

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full' | 'scale';
  machine: Record<string, unknown> & { cores: number; memoryGb: number; node: string; cpuModel: string };
  sizes: unknown;
  /** Absent in a `--scale` run. */
  orchestration?: {
    dynamo: { startMs: number; pid?: number };
    runtimeStartMs: number;
    overhead: OverheadResult;
    floor: FloorResult;
    cost: CostResult;
    locks: LockResult;
  };
  scale: ScaleResult[];
  startup?: { cold: StartupResult; warm?: StartupResult };
  totalSeconds: number;
}

export const TARGETS = {
  overheadMsPerStage: 15,
  overheadVsFloor: 2.5,
  tenants1000Seconds: 60,
  tenants10000Seconds: 600,
  peakRssMb: 1024,
  locksPerSecond: 500,
  startupSeconds: 10,
  usdPer1000Tenants: 0.25,
  planItemBytes: 4096,
  writesPerItemPerSecond: 50,
  /** POST /v1/plans, whatever the plan's size (API Gateway gives the integration 30 s). */
  acceptSeconds: 5,
  /** Per-tenant cost at 10,000 tenants within this fraction of the cost at 100. */
  costDrift: 0.1,
} as const;

const f = (value: number | undefined, digits = 1) =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
const verdict = (ok: boolean | undefined) => (ok === undefined ? '—' : ok ? 'met' : 'MISSED');

/** Floor of one stage: its store calls plus the interpreter's cost for its states (one Task + one Choice). */
export const floorMs = (floor: FloorResult) => floor.storeMs.p50 + floor.interpreterTaskChoiceMs;

type Row = (what: string, measured: string, target?: string, ok?: boolean) => void;

export function renderTable(r: BenchResults): string {
  const rows: [string, string, string, string][] = [];
  const row: Row = (what, measured, target = '', ok) =>
    rows.push([what, measured, target, target ? verdict(ok) : '']);
  if (r.orchestration) orchestrationRows(r.orchestration, row);
  scaleRows(r.scale, row);
  if (r.orchestration) lockRows(r.orchestration.locks, row);
  if (r.startup) startupRows(r.startup, row);
  if (r.orchestration) costRows(r.orchestration.cost, row);

  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...rows.map((rr) => rr[i]!.length), ['Measurement', 'Result', 'Target', ''][i]!.length),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  const m = r.machine;
  return [
    `tenant-rollout bench (${r.mode}) ${r.date} — ${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, commit ${String(m.commit)}${m.uncommittedChanges ? '+changes' : ''}`,
    line(['Measurement', 'Result', 'Target', '']),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}

function orchestrationRows({ overhead, floor }: NonNullable<BenchResults['orchestration']>, row: Row) {
  const floorP50 = floorMs(floor);
  const cycle = overhead.stageCycleMs;

  row(
    `Overhead per stage, p50/p95 (${overhead.tenants} tenants x ${overhead.stagesPerTask} stages, sequential)`,
    `${f(cycle.p50)} / ${f(cycle.p95)} ms`,
    `<= ${TARGETS.overheadMsPerStage} ms`,
    cycle.p50 <= TARGETS.overheadMsPerStage,
  );
  row(
    '  stage span StageStarted -> StageSucceeded, p50/p95',
    `${f(overhead.stageSpanMs.p50)} / ${f(overhead.stageSpanMs.p95)} ms`,
  );
  row(
    '  task first -> last event per stage, p50/p95',
    `${f(overhead.taskPerStageMs.p50)} / ${f(overhead.taskPerStageMs.p95)} ms`,
  );
  row('  floor: store calls of one stage, p50/p95', `${f(floor.storeMs.p50)} / ${f(floor.storeMs.p95)} ms`);
  for (const [name, ms] of Object.entries(floor.storeBreakdownMs)) row(`    ${name}`, `${f(ms)} ms`);
  row(
    '  floor: interpreter, Task+Choice / Pass+Choice per stage',
    `${f(floor.interpreterTaskChoiceMs, 2)} / ${f(floor.interpreterPassChoiceMs, 2)} ms`,
  );
  row('  (not in floor) endpoint I/O: POST + PutEvents + GET, p50', `${f(floor.endpointIoMs.p50)} ms`);
  row(
    'Overhead / floor (p50)',
    `${f(cycle.p50 / floorP50, 2)}x (floor ${f(floorP50)} ms)`,
    `<= ${TARGETS.overheadVsFloor}x`,
    cycle.p50 / floorP50 <= TARGETS.overheadVsFloor,
  );
}

function scaleRows(scale: readonly ScaleResult[], row: Row) {
  const smallest = scale.find((s) => s.cost);
  for (const s of scale) {
    const target =
      s.tenants === 1000
        ? TARGETS.tenants1000Seconds
        : s.tenants === 10_000
          ? TARGETS.tenants10000Seconds
          : undefined;
    row(
      `Scale ${s.tenants} tenants x ${s.stages} stages @${s.maxConcurrency}: wall (${s.status}, ${s.completedTasks} done)`,
      `${f(s.wallSeconds)} s, ${f(s.tenantsPerSecond)} tenants/s${s.failedTasks ? `, ${s.failedTasks} FAILED` : ''}${s.finished || !s.tenantsPerSecond ? '' : ` (all ${s.tenants}: ~${f(s.tenants / s.tenantsPerSecond, 0)} s at this rate)`}`,
      target ? `<= ${target} s` : '',
      target ? s.finished && s.wallSeconds <= target && s.status === 'COMPLETED' : undefined,
    );
    row(
      '  POST /v1/plans answered in',
      `${f(s.acceptSeconds, 2)} s`,
      `<= ${TARGETS.acceptSeconds} s`,
      s.acceptSeconds <= TARGETS.acceptSeconds,
    );
    row(
      `  peak RSS: runtime process / DynamoDB Local`,
      `${f(s.peakRssMb, 0)} MB / ${f(s.dynamoPeakRssMb, 0)} MB`,
      s.tenants === 10_000 ? `<= ${TARGETS.peakRssMb} MB` : '',
      s.tenants === 10_000 ? s.peakRssMb <= TARGETS.peakRssMb : undefined,
    );
    row(
      '  plan item size',
      `${s.planItemBytes} B`,
      `< ${TARGETS.planItemBytes} B`,
      s.planItemBytes < TARGETS.planItemBytes,
    );
    row(
      `  busiest item: ${s.peakWrites.item.key}`,
      `${s.peakWrites.item.writesPerSecond} writes/s`,
      `<= ${TARGETS.writesPerItemPerSecond}/s`,
      s.peakWrites.item.writesPerSecond <= TARGETS.writesPerItemPerSecond,
    );
    row(
      `  busiest partition key: ${s.peakWrites.partition.key}`,
      `${s.peakWrites.partition.writesPerSecond} writes/s`,
    );
    if (!s.cost) {
      row('  cost per tenant', 'n/a (the plan did not run to its end)');
      continue;
    }
    const perTenant = s.cost.per1000Tenants.excludingEngines / 1000;
    const reference = smallest?.cost ? smallest.cost.per1000Tenants.excludingEngines / 1000 : undefined;
    const drift = reference ? perTenant / reference - 1 : undefined;
    row(
      `  cost per tenant, engines excluded (${f(s.cost.transitionsPerTenant, 1)} transitions, ${f(s.cost.usagePerTenant.writeUnits, 1)} WRU)`,
      `$${perTenant.toFixed(7)}${drift !== undefined && s !== smallest ? ` (${drift >= 0 ? '+' : ''}${f(drift * 100)}% vs ${smallest!.tenants})` : ''}`,
      s.tenants === 10_000 && drift !== undefined
        ? `within ${TARGETS.costDrift * 100}% of ${smallest!.tenants}`
        : '',
      s.tenants === 10_000 && drift !== undefined ? Math.abs(drift) <= TARGETS.costDrift : undefined,
    );
  }
}

function lockRows(locks: NonNullable<BenchResults['orchestration']>['locks'], row: Row) {
  row(
    `Lock acquisitions/s (${locks.acquisitions} distinct tenants, ${locks.inFlight} in flight)`,
    `${f(locks.perSecond, 0)}/s`,
    `>= ${TARGETS.locksPerSecond}/s`,
    locks.perSecond >= TARGETS.locksPerSecond,
  );
  row(
    '  uncontended acquire, p50/p95',
    `${f(locks.uncontendedMs.p50, 2)} / ${f(locks.uncontendedMs.p95, 2)} ms`,
  );
}

function startupRows(startup: NonNullable<BenchResults['startup']>, row: Row) {
  for (const [label, s] of [
    ['cold', startup.cold],
    ['warm', startup.warm],
  ] as const) {
    if (!s) continue;
    const seconds = (s.healthyMs ?? s.readyLineMs ?? Number.NaN) / 1000;
    row(
      `Start-up (${label}) to ${s.healthyMs !== undefined ? 'healthy GET /v1/health' : '"ready" line (no /v1/health)'}`,
      `${f(seconds, 2)} s${s.readyLineMs !== undefined ? ` (ready line ${f(s.readyLineMs / 1000, 2)} s)` : ''}`,
      `<= ${TARGETS.startupSeconds} s`,
      seconds <= TARGETS.startupSeconds,
    );
  }
}

function costRows(cost: CostResult, row: Row) {
  const c = cost.per1000Tenants;
  const u = cost.usagePerTenant;
  row(
    `Cost per 1,000 tenant deployments, engines excluded (${cost.tenants} x ${cost.stagesPerTask} measured)`,
    `$${f(c.excludingEngines, 4)}`,
    `<= $${TARGETS.usdPer1000Tenants}`,
    c.excludingEngines <= TARGETS.usdPer1000Tenants,
  );
  row(`  Step Functions: ${f(u.stateTransitions, 2)} transitions/tenant`, `$${f(c.stepFunctions, 4)}`);
  row(`  DynamoDB: ${f(u.writeUnits, 1)} WRU + ${f(u.readUnits, 1)} RRU /tenant`, `$${f(c.dynamodb, 4)}`);
  row(`  EventBridge: ${f(u.events, 1)} events/tenant`, `$${f(c.eventBridge, 4)}`);
  row(
    `  Lambda: ${f(u.lambdaRequests, 2)} requests, ${f(u.lambdaGbSeconds, 3)} GB-s /tenant`,
    `$${f(c.lambda, 4)}`,
  );
  row('  engines included (Fargate, see engineAssumption)', `$${f(c.includingEngines, 4)}`);
}
