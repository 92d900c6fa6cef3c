/**
 * Waves (DESIGN.md "Waves"): which tenants each wave of a plan's strategy takes, and the
 * settings each wave runs with. Pure; the schema reports the assignment's problems as field errors.
 */
import { isDeepStrictEqual } from 'node:util';
import type { FailureInfo, FailureThreshold } from './model.ts';

/** One wave as the request names it (see strategySchema). */
export interface WaveRequest {
  name: string;
  tenants?: string[];
  count?: number;
  percent?: number;
  maxConcurrency?: number;
  failureThreshold?: number | string;
  bakeSeconds?: number;
  approval?: boolean;
}

export interface StrategyRequest {
  waves: WaveRequest[];
  onFailure?: 'HALT' | 'ROLLBACK';
  alarms?: string[];
}

export interface AssignmentIssue {
  path: (string | number)[];
  message: string;
}

/** Positions (request order) of each wave's tenants, or why the strategy cannot be assigned. */
export type Assignment = { waves: number[][]; issues: [] } | { waves?: undefined; issues: AssignmentIssue[] };

const isPattern = (name: string) => name.includes('*');

function globMatcher(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

/** At most this many names when an error lists tenants. */
const NAMED_IN_ERROR = 5;
const listed = (names: readonly string[]) =>
  names.length > NAMED_IN_ERROR
    ? `${names.slice(0, NAMED_IN_ERROR).join(', ')} and ${names.length - NAMED_IN_ERROR} more`
    : names.join(', ');

/**
 * Assigns each tenant to exactly one wave, in wave order: `tenants` takes the named tenants
 * (a `*` glob matches every tenant not in an earlier wave), `count` the next N unassigned
 * tenants in request order, `percent` P% of the plan's tenants (rounded up) from the
 * unassigned in request order; the last wave may name none and takes the rest.
 */
export function assignWaves(tenantIds: readonly string[], strategy: StrategyRequest): Assignment {
  const issues: AssignmentIssue[] = [];
  const position = new Map(tenantIds.map((id, index) => [id, index]));
  const waveOf = new Map<number, number>();
  const waves: number[][] = [];
  const names = new Map<string, number>();
  const unassigned = () => tenantIds.map((_, i) => i).filter((i) => !waveOf.has(i));
  const last = strategy.waves.length - 1;

  strategy.waves.forEach((wave, w) => {
    const at = (...rest: (string | number)[]) => ['strategy', 'waves', w, ...rest];
    const seen = names.get(wave.name);
    if (seen !== undefined)
      issues.push({ path: at('name'), message: `duplicate wave name (waves[${seen}])` });
    else names.set(wave.name, w);
    const selectors = (['tenants', 'count', 'percent'] as const).filter((key) => wave[key] !== undefined);
    if (selectors.length > 1) {
      issues.push({
        path: at(selectors[1]!),
        message: `a wave takes tenants, count or percent, not ${selectors.join(' and ')}`,
      });
      waves.push([]);
      return;
    }
    let taken: number[] = [];
    if (wave.tenants) {
      wave.tenants.forEach((name, t) => {
        if (isPattern(name)) {
          const matcher = globMatcher(name);
          const all = tenantIds.flatMap((id, i) => (matcher.test(id) ? [i] : []));
          if (all.length === 0)
            issues.push({ path: at('tenants', t), message: `pattern ${name} matches no tenant of the plan` });
          taken.push(...all.filter((i) => !waveOf.has(i) && !taken.includes(i)));
          return;
        }
        const i = position.get(name);
        if (i === undefined) {
          issues.push({ path: at('tenants', t), message: `tenant ${name} is not in configs` });
        } else if (waveOf.has(i)) {
          const other = waveOf.get(i)!;
          issues.push({
            path: at('tenants', t),
            message: `tenant ${name} is already in wave ${strategy.waves[other]!.name} (waves[${other}])`,
          });
        } else if (!taken.includes(i)) {
          taken.push(i);
        }
      });
      taken.sort((a, b) => a - b);
    } else if (wave.count !== undefined) {
      taken = unassigned().slice(0, wave.count);
    } else if (wave.percent !== undefined) {
      taken = unassigned().slice(0, Math.ceil((tenantIds.length * wave.percent) / 100));
    } else if (w === last) {
      taken = unassigned();
    } else {
      issues.push({
        path: at(),
        message: 'needs tenants, count or percent (only the last wave may take the remaining tenants)',
      });
      waves.push([]);
      return;
    }
    if (taken.length === 0) {
      issues.push({ path: at(), message: `wave ${wave.name} gets no tenant` });
    }
    for (const i of taken) waveOf.set(i, w);
    waves.push(taken);
  });

  const left = unassigned();
  if (left.length && !issues.length) {
    issues.push({
      path: ['strategy', 'waves'],
      message: `tenant(s) ${listed(left.map((i) => tenantIds[i]!))} in no wave (leave the last wave without tenants, count or percent to take the rest)`,
    });
  }
  return issues.length ? { issues } : { waves, issues: [] };
}

export const WAVE_STATUSES = [
  'PENDING',
  'AWAITING_APPROVAL',
  'RUNNING',
  'BAKING',
  'COMPLETED',
  'FAILED',
  'SKIPPED',
] as const;
export type WaveStatus = (typeof WAVE_STATUSES)[number];

/** A wave as the plan keeps it: its settings resolved, its tenants counted (the list lives apart). */
export interface Wave {
  index: number;
  name: string;
  tenantCount: number;
  maxConcurrency: number;
  failureThreshold: FailureThreshold;
  bakeSeconds: number;
  approval: boolean;
  status: WaveStatus;
  startedAt?: string;
  endedAt?: string;
}

/** The waves a plan runs with their resolved settings (a wave's threshold defaults to 0: one failure fails it). */
export function resolveWaves(
  strategy: StrategyRequest,
  assignment: readonly number[][],
  planMaxConcurrency: number,
): Wave[] {
  return strategy.waves.map((wave, index) => ({
    index,
    name: wave.name,
    tenantCount: assignment[index]?.length ?? 0,
    maxConcurrency: wave.maxConcurrency ?? planMaxConcurrency,
    failureThreshold: toThreshold(wave.failureThreshold ?? 0),
    bakeSeconds: wave.bakeSeconds ?? 0,
    approval: wave.approval ?? false,
    status: 'PENDING',
  }));
}

/** The plan's STRATEGY item: what to do on failure, the alarms, and each wave's settings and state. */
export interface PlanStrategy {
  onFailure: 'HALT' | 'ROLLBACK';
  alarms: string[];
  waves: WaveState[];
}

/** A wave with what the plan machine records while running it. */
export interface WaveState extends Wave {
  /** The approval gate's task token while the wave waits for approval. */
  approvalToken?: string;
  /** Set by POST /approve (also when it arrives before the gate parked its token). */
  approvedAt?: string;
  /** When the bake ends (epoch milliseconds). */
  bakeUntil?: number;
  failureInfo?: FailureInfo;
}

export function toThreshold(value: number | string): FailureThreshold {
  return typeof value === 'number' ? { count: value } : { percent: Number.parseFloat(value) };
}

/** Per tenant and service, which top-level config fields the plan changes against the tenant's current config. */
export interface ConfigChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

export function configDiff(
  current: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
  ignore: readonly string[] = ['sourceTenantDeployConfig'],
): ConfigChange[] {
  const before = current ?? {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(next)])]
    .filter((f) => !ignore.includes(f))
    .sort();
  return fields.flatMap((field) =>
    isDeepStrictEqual(before[field], next[field])
      ? []
      : [
          {
            field,
            ...(before[field] === undefined ? {} : { from: before[field] }),
            ...(next[field] === undefined ? {} : { to: next[field] }),
          },
        ],
  );
}
