/** Key builders for every item kind in the table (see DESIGN.md, DynamoDB). */
import { PARTITION_KEY, SORT_KEY } from './table.ts';

export type ItemKey = Record<typeof PARTITION_KEY | typeof SORT_KEY, string>;
export const itemKey = (pk: string, sk: string): ItemKey => ({ [PARTITION_KEY]: pk, [SORT_KEY]: sk });

export const PLANS_INDEX_PK = 'PLANS';

export const planPk = (planId: string) => `PLAN#${planId}`;
export const PLAN_SK = 'PLAN';
export const TASK_SK_PREFIX = 'TASK#';
export const taskSk = (taskId: string) => `${TASK_SK_PREFIX}${taskId}`;
/**
 * Task counts per status live in sharded counter items under the plan: each task
 * always updates the same shard, so the writes of many finishing tasks spread.
 */
export const COUNTS_SK_PREFIX = 'COUNTS#';
export const COUNTER_SHARDS = 32;
export const countsSk = (taskIndex: number) =>
  `${COUNTS_SK_PREFIX}${String(taskIndex % COUNTER_SHARDS).padStart(2, '0')}`;
/** A plan's strategy and the state of its waves (one item, at most 20 waves). */
export const STRATEGY_SK = 'STRATEGY';
/** The positions of one wave's tenants (kept apart from the plan item, which stays constant-size). */
export const WAVE_SK_PREFIX = 'WAVE#';
export const waveSk = (wave: number) => `${WAVE_SK_PREFIX}${String(wave).padStart(2, '0')}`;
/** Per-wave counts on a counter item: `w03#FAILED`. */
export const waveCountName = (wave: number, status: string) => `w${String(wave).padStart(2, '0')}#${status}`;
export const EVENT_SK_PREFIX = 'EVENT#';
export const eventSk = (eventUlid: string) => `${EVENT_SK_PREFIX}${eventUlid}`;

export const lockPk = (tenantId: string) => `LOCK#TENANT#${tenantId}`;
export const LOCK_SK = 'LOCK';
/** Held locks are indexed (sparse: released locks drop out), so the supervisor finds running tasks cheaply. */
export const LOCKS_INDEX_PK = 'LOCKS';

export const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
export const currentConfigSk = (service: string) => `CONFIG#${service}#CURRENT`;
export const goodConfigSk = (service: string) => `CONFIG#${service}#GOOD`;
export const ENGINE_SK_PREFIX = 'ENGINE#';
export const engineSk = (service: string, engineId: string) => `${ENGINE_SK_PREFIX}${service}#${engineId}`;

export const idempotencyPk = (key: string) => `IDEMPOTENCY#${key}`;
export const IDEMPOTENCY_SK = 'IDEMPOTENCY';

export const planKey = (planId: string) => itemKey(planPk(planId), PLAN_SK);
export const taskKey = (planId: string, taskId: string) => itemKey(planPk(planId), taskSk(taskId));
export const lockKey = (tenantId: string) => itemKey(lockPk(tenantId), LOCK_SK);
export const idempotencyItemKey = (key: string) => itemKey(idempotencyPk(key), IDEMPOTENCY_SK);

/** GSI1 sort key: creation time first so a query returns items oldest first (ScanIndexForward=false for newest). */
export const createdSortKey = (createdAt: string, id: string) => `${createdAt}#${id}`;

/** Task ids embed their plan id and request position, so a task is found from its id alone and sorts in request order. */
export const taskIdFor = (planId: string, index: number) => `${planId}-${String(index).padStart(5, '0')}`;
/** Every task id of a plan, computed: the plan item keeps no list. */
export const taskIdsOf = (plan: { planId: string; totalTasks: number }) =>
  Array.from({ length: plan.totalTasks }, (_, index) => taskIdFor(plan.planId, index));
export function planIdOfTask(taskId: string): string | undefined {
  const match = /^([0-9A-HJKMNP-TV-Z]{26})-\d{5}$/.exec(taskId);
  return match?.[1];
}

export const ENGINES_INDEX_PK = 'ENGINES';
export const engineIndexSk = (tenantId: string, service: string, engineId: string) =>
  `${tenantId}#${service}#${engineId}`;
