/** Plan items: atomic-enough creation with idempotency, listing, transitions, deletion. */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { planCounters, type StatusCounts } from '../decisions.ts';
import { Conflict, NotFound } from '../errors.ts';
import {
  COUNTS_SK_PREFIX,
  createdSortKey,
  idempotencyItemKey,
  itemKey,
  PLAN_SK,
  PLANS_INDEX_PK,
  planKey,
  planPk,
  STRATEGY_SK,
  waveSk,
} from '../keys.ts';
import {
  type FailureInfo,
  type Plan,
  type PlanStatus,
  type PlanWithCounts,
  type RolloutEvent,
  TASK_STATUSES,
  type Task,
  type TaskStatus,
} from '../model.ts';
import { logger } from '../observability.ts';
import { GSI1, PARTITION_KEY, SORT_KEY } from '../table.ts';
import { decidePlan, type PlanOperation } from '../transitions.ts';
import type { PlanStrategy, WaveState } from '../waves.ts';
import {
  batchWrite,
  decodeCursor,
  encodeCursor,
  inPartition,
  isConditionFailure,
  queryAll,
  queryPages,
  type StoreContext,
  stripKeys,
  withOptimisticRetry,
} from './context.ts';
import { buildEvent, type EventDetails } from './events.ts';
import { STAGES_DONE, taskItem } from './tasks.ts';
import { guardedStatusUpdate, type TransactItems, updateExisting } from './update.ts';

/**
 * Tasks per transaction: each task is written with its TaskCreated event (plus, for a
 * staged plan, the check that its creation stands), and a transaction holds at most 100 items and 4 MB.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-dynamodb-transactions
 */
const TASKS_PER_TRANSACTION = 45;
/**
 * A staged item holds, gzipped as one binary attribute, consecutive transaction groups of a
 * plan's task records: the tasks of one plan repeat the same config, so 10,000 of them pack
 * into a few items and the request writes those few instead of one item per transaction.
 * Each stays under DynamoDB's 400 KB item size.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items
 */
const STAGED_ITEM_BYTES = 350_000;
/** A transaction group stays under 4 MB (DynamoDB's transaction size) with room for its events. */
const GROUP_JSON_BYTES = 1_000_000;
/** Concurrent writes while creating a plan. */
const WRITES_IN_PARALLEL = 8;

const STAGED_SK_PREFIX = 'STAGED#';
const stagedSk = (n: number) => `${STAGED_SK_PREFIX}${String(n).padStart(5, '0')}`;

/** Transaction groups: at most TASKS_PER_TRANSACTION tasks and GROUP_JSON_BYTES of JSON each. */
function transactionGroups(tasks: readonly Task[]): Task[][] {
  const out: Task[][] = [];
  let current: Task[] = [];
  let bytes = 0;
  for (const task of tasks) {
    const size = Buffer.byteLength(JSON.stringify(task));
    if (current.length && (current.length >= TASKS_PER_TRANSACTION || bytes + size > GROUP_JSON_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(task);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

const pack = (groups: readonly Task[][]) => gzipSync(JSON.stringify(groups));
const unpack = (packed: Uint8Array) => JSON.parse(gunzipSync(packed).toString('utf8')) as Task[][];

/** Packs consecutive groups into staged items under STAGED_ITEM_BYTES, halving a run that does not fit. */
function stagedItems(groups: readonly Task[][]): Buffer[] {
  const packed = pack(groups);
  if (packed.length <= STAGED_ITEM_BYTES) return [packed];
  if (groups.length === 1)
    throw new Error(
      `a transaction group of tasks packs into ${packed.length} bytes, over ${STAGED_ITEM_BYTES}`,
    );
  const half = Math.ceil(groups.length / 2);
  return [...stagedItems(groups.slice(0, half)), ...stagedItems(groups.slice(half))];
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure fails the whole. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<unknown>,
) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export interface CreatePlanOptions {
  idempotencyKey?: string;
  /** A digest of the request; a repeated key with a different request is a conflict. */
  requestHash?: string;
  /** The plan's waves: its STRATEGY item and each wave's tenant positions (written before the plan shows). */
  strategy?: { state: PlanStrategy; indexes: number[][] };
}

/** Per-wave task counts, from the `wNN#STATUS` attributes of the counter items. */
export type WaveCounts = StatusCounts[];

export interface PlanTransition extends EventDetails {
  set?: Partial<Omit<Plan, 'planId' | 'status' | 'seq'>>;
  remove?: readonly (keyof Plan)[];
  /** One wave's changes on the STRATEGY item, written in the same transaction. */
  wave?: { index: number; set?: Partial<WaveState>; remove?: readonly (keyof WaveState)[] };
  /** Only while the plan is still at this `seq`: after any other transition this one does nothing. */
  ifSeq?: number;
}

export function planStore(ctx: StoreContext) {
  async function readPlan(planId: string): Promise<(Plan & { visible?: boolean }) | undefined> {
    const result = await ctx.doc.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: planKey(planId),
        ConsistentRead: true,
      }),
    );
    return result.Item
      ? { ...stripKeys<Plan>(result.Item), visible: result.Item.visible === true }
      : undefined;
  }

  /** A plan is visible only once every one of its tasks is written. */
  async function getPlan(planId: string): Promise<Plan | undefined> {
    const plan = await readPlan(planId);
    if (!plan?.visible) return undefined;
    const { visible: _, ...rest } = plan;
    return rest;
  }

  async function requirePlan(planId: string): Promise<Plan> {
    const plan = await getPlan(planId);
    if (!plan) throw new NotFound('plan', planId);
    return plan;
  }

  /** Deletes every item under the plan's partition, in batches. */
  async function deletePartition(planId: string, keepPlanItem: boolean): Promise<number> {
    let deleted = 0;
    for await (const page of queryPages(ctx, {
      ...inPartition(planPk(planId)),
      ProjectionExpression: '#pk, #sk',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
    })) {
      const keys = (page.Items ?? []).filter((k) => !(keepPlanItem && k[SORT_KEY] === PLAN_SK));
      await batchWrite(
        ctx,
        keys.map((Key) => ({ DeleteRequest: { Key } })),
      );
      deleted += keys.length;
    }
    return deleted;
  }

  /** Tasks with their TaskCreated events in one transaction (plus `extra`, e.g. the check that a creation stands). */
  async function writeTasks(tasks: readonly Task[], extra: TransactItems = []) {
    await ctx.doc.send(
      new TransactWriteCommand({
        TransactItems: [
          ...tasks.flatMap((task) => {
            const { item: event } = buildEvent(ctx, 'TaskCreated', {
              planId: task.planId,
              taskId: task.taskId,
              tenantId: task.tenantId,
              sequenceType: 'TASK',
              sequenceId: task.seq,
              status: task.status,
              completedStages: 0,
              totalStages: task.stages.length,
            });
            return [
              {
                // A task is written once: a second write of its group (a retried Start plan) is refused whole.
                Put: {
                  TableName: ctx.tableName,
                  Item: taskItem(task),
                  ConditionExpression: 'attribute_not_exists(#pk)',
                  ExpressionAttributeNames: { '#pk': PARTITION_KEY },
                },
              },
              { Put: { TableName: ctx.tableName, Item: event } },
            ];
          }),
          ...extra,
        ],
      }),
    );
  }

  async function waitUntilVisible(planId: string, timeoutMs = 10_000): Promise<Plan> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const plan = await getPlan(planId);
      if (plan) return plan;
      if (Date.now() > deadline)
        throw new Conflict(`plan ${planId} for this Idempotency-Key is still being created`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const countItems = (planId: string) =>
    queryAll(ctx, { ...inPartition(planPk(planId), COUNTS_SK_PREFIX), ConsistentRead: true });

  /** `SET waves[i].field = …` on the STRATEGY item (which must exist). */
  function waveUpdate(
    planId: string,
    index: number,
    set: Partial<WaveState> = {},
    remove: readonly (keyof WaveState)[] = [],
  ) {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const field = (name: string) => {
      names[`#${name}`] = name;
      return `waves[${index}].#${name}`;
    };
    const sets = Object.entries(set)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => {
        values[`:${name}`] = value;
        return `${field(name)} = :${name}`;
      });
    const removes = remove.map(field);
    return {
      TableName: ctx.tableName,
      Key: itemKey(planPk(planId), STRATEGY_SK),
      UpdateExpression: [
        sets.length ? `SET ${sets.join(', ')}` : '',
        removes.length ? `REMOVE ${removes.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' '),
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { ...names, '#pk': PARTITION_KEY },
      ...(sets.length ? { ExpressionAttributeValues: values } : {}),
    };
  }

  /** Counts per wave, from the same counter items as the plan's (a task's wave never changes). */
  async function waveCounts(plan: Plan): Promise<WaveCounts> {
    const items = await countItems(plan.planId);
    const counts: WaveCounts = Array.from({ length: plan.waveCount ?? 0 }, () => ({}));
    for (const item of items) {
      for (const [name, value] of Object.entries(item)) {
        const match = /^w(\d+)#([A-Z_]+)$/.exec(name);
        const wave = match && counts[Number(match[1])];
        if (wave && value)
          wave[match[2] as TaskStatus] = (wave[match[2] as TaskStatus] ?? 0) + (value as number);
      }
    }
    return counts;
  }

  /** The plan with its task counts, summed from its counter items (CREATED is what the total leaves). */
  async function withCounts(plan: Plan): Promise<PlanWithCounts> {
    return counted(plan, await countItems(plan.planId));
  }

  function counted(plan: Plan, items: Record<string, unknown>[]): PlanWithCounts {
    const counts: StatusCounts = {};
    let stagesDone = 0;
    for (const item of items) {
      for (const [name, value] of Object.entries(item)) {
        if (name === STAGES_DONE) stagesDone += value as number;
        else if ((TASK_STATUSES as readonly string[]).includes(name))
          counts[name as TaskStatus] = (counts[name as TaskStatus] ?? 0) + (value as number);
      }
    }
    const counted = Object.values(counts).reduce((sum, n) => sum + n, 0);
    if (plan.totalTasks > counted) counts.CREATED = plan.totalTasks - counted;
    for (const status of Object.keys(counts) as TaskStatus[]) if (!counts[status]) delete counts[status];
    return { ...plan, ...planCounters(counts), counts, stagesDone };
  }

  /** The one way a plan changes: expected status, sequence bump and event in one transaction. */
  async function transitionPlan(planId: string, operation: PlanOperation, change: PlanTransition = {}) {
    let before: Plan | undefined;
    const result = await withOptimisticRetry(async (): Promise<{ item: Plan; event?: RolloutEvent }> => {
      const plan = await requirePlan(planId);
      before = plan;
      if (change.ifSeq !== undefined && plan.seq !== change.ifSeq) return { item: plan };
      const decision = decidePlan(planId, operation, plan);
      const now = ctx.now().toISOString();
      const nextSeq = decision.event ? plan.seq + 1 : plan.seq;
      const updated: Plan = { ...plan, ...change.set, status: decision.to, seq: nextSeq, updatedAt: now };
      for (const field of change.remove ?? []) delete updated[field];
      const writes: TransactItems = [
        guardedStatusUpdate(
          ctx.tableName,
          planKey(planId),
          { ...change.set, status: decision.to, seq: nextSeq, updatedAt: now },
          change.remove ?? [],
          plan,
        ),
      ];
      let event: RolloutEvent | undefined;
      if (decision.event) {
        const { completedTasks, failedTasks } = await withCounts(plan);
        const built = buildEvent(
          ctx,
          decision.event,
          { planId, sequenceType: 'PLAN', sequenceId: nextSeq, status: decision.to },
          {
            failureInfo: change.failureInfo,
            detail: { totalTasks: updated.totalTasks, completedTasks, failedTasks, ...change.detail },
          },
        );
        event = built.event;
        writes.push({ Put: { TableName: ctx.tableName, Item: built.item } });
      }
      if (change.wave)
        writes.push({ Update: waveUpdate(planId, change.wave.index, change.wave.set, change.wave.remove) });
      await ctx.doc.send(new TransactWriteCommand({ TransactItems: writes }));
      return { item: updated, event };
    }, `transition ${operation} of plan ${planId}`);
    if (result.event && before) ctx.onTransition?.(result.event, before, result.item);
    return result;
  }

  return {
    getPlan,
    requirePlan,

    /**
     * Writes the plan hidden, then its tasks (each with its TaskCreated event) in
     * parallel transactions, then makes it visible. A CREATING plan gets its tasks
     * staged in a few packed items instead, for the plan machine to write (writeStagedTasks);
     * it is visible (as CREATING) at once. A failure removes what was written, so a
     * half-created plan is never seen. The same idempotency key returns the first plan.
     */
    async createPlan(
      plan: Plan,
      tasks: Task[],
      options: CreatePlanOptions = {},
    ): Promise<{ plan: Plan; created: boolean }> {
      const { idempotencyKey, requestHash } = options;
      if (idempotencyKey) {
        try {
          await ctx.doc.send(
            new PutCommand({
              TableName: ctx.tableName,
              Item: {
                ...idempotencyItemKey(idempotencyKey),
                kind: 'IDEMPOTENCY',
                planId: plan.planId,
                requestHash,
                createdAt: plan.createdAt,
              },
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': PARTITION_KEY },
            }),
          );
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          const existing = await ctx.doc.send(
            new GetCommand({
              TableName: ctx.tableName,
              Key: idempotencyItemKey(idempotencyKey),
              ConsistentRead: true,
            }),
          );
          if (!existing.Item)
            throw new Conflict('Idempotency-Key is being released by a failed request; try again');
          if (requestHash && existing.Item.requestHash && existing.Item.requestHash !== requestHash) {
            throw new Conflict(
              `Idempotency-Key ${idempotencyKey} was already used with a different request`,
              {
                planId: existing.Item.planId,
              },
            );
          }
          return { plan: await waitUntilVisible(existing.Item.planId as string), created: false };
        }
      }

      try {
        await ctx.doc.send(
          new PutCommand({
            TableName: ctx.tableName,
            Item: { ...planKey(plan.planId), kind: 'PLAN', visible: false, ...plan },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
          }),
        );
        if (options.strategy) {
          const { state, indexes } = options.strategy;
          await ctx.doc.send(
            new PutCommand({
              TableName: ctx.tableName,
              Item: { ...itemKey(planPk(plan.planId), STRATEGY_SK), kind: 'STRATEGY', ...state },
            }),
          );
          await inParallel(indexes, WRITES_IN_PARALLEL, (positions, wave) =>
            ctx.doc.send(
              new PutCommand({
                TableName: ctx.tableName,
                Item: { ...itemKey(planPk(plan.planId), waveSk(wave)), kind: 'WAVE', indexes: positions },
              }),
            ),
          );
        }
        if (plan.status === 'CREATING') {
          await inParallel(stagedItems(transactionGroups(tasks)), WRITES_IN_PARALLEL, (groups, n) =>
            ctx.doc.send(
              new PutCommand({
                TableName: ctx.tableName,
                Item: { ...itemKey(planPk(plan.planId), stagedSk(n)), kind: 'STAGED', groups },
              }),
            ),
          );
        } else {
          await inParallel(transactionGroups(tasks), WRITES_IN_PARALLEL, (group) => writeTasks(group));
        }
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: planKey(plan.planId),
            UpdateExpression: 'SET #gpk = :gpk, #gsk = :gsk, visible = :yes',
            ExpressionAttributeNames: { '#gpk': GSI1.partitionKey, '#gsk': GSI1.sortKey },
            ExpressionAttributeValues: {
              ':gpk': PLANS_INDEX_PK,
              ':gsk': createdSortKey(plan.createdAt, plan.planId),
              ':yes': true,
            },
          }),
        );
      } catch (error) {
        // The creation error is what the caller needs; a failed clean-up leaves hidden items, worth a log line.
        const cleanupFailed = (what: string) => (cleanupError: unknown) =>
          logger.warn({
            message: `plan creation failed and ${what} could not be removed`,
            planId: plan.planId,
            error: cleanupError,
          });
        await deletePartition(plan.planId, false).catch(cleanupFailed('its hidden items'));
        if (idempotencyKey) {
          await ctx.doc
            .send(
              new DeleteCommand({
                TableName: ctx.tableName,
                Key: idempotencyItemKey(idempotencyKey),
              }),
            )
            .catch(cleanupFailed('its idempotency key'));
        }
        throw error;
      }
      return { plan, created: true };
    },

    /**
     * Writes the tasks a CREATING plan staged, each transaction group in one transaction with
     * its TaskCreated events and a task write that exists already refuses the group, so a
     * repeated run (a restarted plan execution) writes every task exactly once.
     */
    async writeStagedTasks(planId: string): Promise<void> {
      // A group commits only while its plan's creation still stands: once abandonCreation has
      // committed, no task can appear behind removeCreatedItems.
      const creationStands: TransactItems[number] = {
        ConditionCheck: {
          TableName: ctx.tableName,
          Key: planKey(planId),
          ConditionExpression: '#status = :creating AND attribute_not_exists(failureInfo)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':creating': 'CREATING' },
        },
      };
      const staged = await queryAll(ctx, {
        ...inPartition(planPk(planId), STAGED_SK_PREFIX),
        ProjectionExpression: '#pk, #sk',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
        ConsistentRead: true,
      });
      for (const key of staged) {
        const item = await ctx.doc.send(
          new GetCommand({ TableName: ctx.tableName, Key: key, ConsistentRead: true }),
        );
        if (!item.Item) continue;
        await inParallel(unpack(item.Item.groups as Uint8Array), WRITES_IN_PARALLEL, async (group) => {
          try {
            await writeTasks(group, [creationStands]);
          } catch (error) {
            // Another run of the plan machine wrote this group first (its tasks exist), or the
            // creation was abandoned (checked below).
            if (!isConditionFailure(error)) throw error;
          }
        });
        await ctx.doc.send(new DeleteCommand({ TableName: ctx.tableName, Key: key }));
      }
      const plan = await readPlan(planId);
      if (plan?.status !== 'CREATING' || plan.failureInfo)
        throw new Conflict(`the creation of plan ${planId} was abandoned`);
    },

    /**
     * Stops a CREATING plan's task writes for good (see writeStagedTasks): records why, while
     * the plan is still CREATING. False when it no longer is.
     */
    async abandonCreation(planId: string, failureInfo: FailureInfo): Promise<boolean> {
      try {
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: planKey(planId),
            UpdateExpression: 'SET failureInfo = :failure, updatedAt = :now',
            ConditionExpression: '#status = :creating',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':failure': failureInfo,
              ':now': ctx.now().toISOString(),
              ':creating': 'CREATING',
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Removes every task, event and staged item of a plan whose creation failed, keeping the plan item. */
    async removeCreatedItems(planId: string): Promise<void> {
      await deletePartition(planId, true);
    },

    /** Plans newest first; `cursor` continues where the previous page ended. */
    async listPlans(options: { status?: PlanStatus; limit?: number; cursor?: string } = {}) {
      const page = await ctx.doc.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: GSI1.indexName,
          KeyConditionExpression: '#pk = :pk',
          ...(options.status ? { FilterExpression: '#status = :status' } : {}),
          ExpressionAttributeNames: {
            '#pk': GSI1.partitionKey,
            ...(options.status ? { '#status': 'status' } : {}),
          },
          ExpressionAttributeValues: {
            ':pk': PLANS_INDEX_PK,
            ...(options.status ? { ':status': options.status } : {}),
          },
          ScanIndexForward: false,
          Limit: options.limit ?? 20,
          ExclusiveStartKey: decodeCursor(options.cursor),
        }),
      );
      return {
        plans: (page.Items ?? []).map((item) => stripKeys<Plan>(item)),
        cursor: encodeCursor(page.LastEvaluatedKey),
      };
    },

    transitionPlan,
    waveCounts,

    async getStrategy(planId: string): Promise<PlanStrategy | undefined> {
      const result = await ctx.doc.send(
        new GetCommand({
          TableName: ctx.tableName,
          Key: itemKey(planPk(planId), STRATEGY_SK),
          ConsistentRead: true,
        }),
      );
      return result.Item ? stripKeys<PlanStrategy>(result.Item) : undefined;
    },

    /** The positions of a wave's tenants, in request order. */
    async waveIndexes(planId: string, wave: number): Promise<number[]> {
      const result = await ctx.doc.send(
        new GetCommand({ TableName: ctx.tableName, Key: itemKey(planPk(planId), waveSk(wave)) }),
      );
      return (result.Item?.indexes as number[] | undefined) ?? [];
    },

    /** A wave's status with no plan event (later waves SKIPPED when the plan halts). */
    async setWaveStatus(planId: string, index: number, status: WaveState['status']): Promise<void> {
      await ctx.doc.send(new UpdateCommand(waveUpdate(planId, index, { status })));
    },

    /**
     * Parks the approval gate's token on its wave unless the wave was approved meanwhile
     * (approve before the gate parked: then false, and the gate goes on by itself).
     */
    async parkApproval(planId: string, index: number, token: string): Promise<boolean> {
      const update = waveUpdate(planId, index, { approvalToken: token });
      try {
        await ctx.doc.send(
          new UpdateCommand({
            ...update,
            ConditionExpression: `${update.ConditionExpression} AND attribute_not_exists(waves[${index}].approvedAt)`,
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Emits PlanProgress when tasks finished since the last one; nothing otherwise. */
    async reportPlanProgress(planId: string): Promise<RolloutEvent | undefined> {
      const plan = await withCounts(await requirePlan(planId));
      const finished = plan.completedTasks + plan.failedTasks + plan.cancelledTasks + plan.rolledBackTasks;
      if (finished === (plan.reportedProgress ?? 0)) return undefined;
      // Counted from this read: after a transition since (the plan's verdict, say), the next sweep reports.
      const { event } = await transitionPlan(planId, 'progress', {
        set: { reportedProgress: finished },
        detail: { cancelledTasks: plan.cancelledTasks, rolledBackTasks: plan.rolledBackTasks },
        ifSeq: plan.seq,
      });
      return event;
    },

    withCounts,

    /** Reads the plan and its counter items at once (one round trip where withCounts takes two). */
    async getPlanWithCounts(planId: string): Promise<PlanWithCounts | undefined> {
      const [plan, items] = await Promise.all([getPlan(planId), countItems(planId)]);
      return plan ? counted(plan, items) : undefined;
    },

    /** Removes the plan from listings first, then everything under it, then the plan and its idempotency key. */
    async deletePlan(planId: string): Promise<{ deletedItems: number }> {
      const plan = await requirePlan(planId);
      await ctx.doc.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: planKey(planId),
          UpdateExpression: 'SET visible = :no REMOVE #gpk, #gsk',
          ExpressionAttributeNames: { '#gpk': GSI1.partitionKey, '#gsk': GSI1.sortKey },
          ExpressionAttributeValues: { ':no': false },
        }),
      );
      const deletedItems = await deletePartition(planId, false);
      if (plan.idempotencyKey) {
        await ctx.doc.send(
          new DeleteCommand({
            TableName: ctx.tableName,
            Key: idempotencyItemKey(plan.idempotencyKey),
          }),
        );
      }
      return { deletedItems };
    },

    /** Count of items under a plan's partition (for dry-run deletes). */
    async countPlanItems(planId: string): Promise<number> {
      let count = 0;
      for await (const page of queryPages(ctx, {
        ...inPartition(planPk(planId)),
        Select: 'COUNT',
      })) {
        count += page.Count ?? 0;
      }
      return count;
    },

    /** Updates plan fields that carry no status meaning (execution ARN). */
    async patchPlan(
      planId: string,
      set: Partial<Pick<Plan, 'executionArn' | 'mapFinished' | 'attempt'>>,
    ): Promise<void> {
      await ctx.doc.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: planKey(planId),
          ...updateExisting({ ...set, updatedAt: ctx.now().toISOString() }),
        }),
      );
    },
  };
}
