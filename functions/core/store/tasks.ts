/** Task items and the single transition authority for tasks. */
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { NotFound } from '../errors.ts';
import {
  countsSk,
  itemKey,
  planIdOfTask,
  planPk,
  TASK_SK_PREFIX,
  taskIdFor,
  taskKey,
  tenantPk,
  waveCountName,
} from '../keys.ts';
import { isTerminalTask, type RolloutEvent, type Task, type TaskStatus } from '../model.ts';
import { GSI1 } from '../table.ts';
import { decideTask, type TaskOperation } from '../transitions.ts';
import {
  decodeCursor,
  encodeCursor,
  inPartition,
  isConditionFailure,
  queryAll,
  type StoreContext,
  stripKeys,
  withOptimisticRetry,
} from './context.ts';
import { buildEvent, type EventDetails } from './events.ts';
import { readLock, releaseInTransaction } from './locks.ts';
import { guardedStatusUpdate, type TransactItems, updateExisting, updateParts } from './update.ts';

export type TaskFields = Partial<
  Omit<Task, 'taskId' | 'planId' | 'tenantId' | 'status' | 'seq' | 'index' | 'config'>
>;

export interface TaskTransition extends EventDetails {
  set?: TaskFields;
  remove?: readonly (keyof TaskFields)[];
  /**
   * Only while the task is still at this `seq`: after any other transition this one does nothing
   * (the result carries the task as it is now, and no event). For a change decided on what the
   * caller read, such as recovering an execution it found lost, which another path may have done first.
   */
  ifSeq?: number;
}

/** One transition of `transitionTaskSteps`. */
export interface TaskStep {
  operation: TaskOperation;
  change?: TaskTransition;
}

export interface TransitionResult<T> {
  item: T;
  event?: RolloutEvent;
}

export const taskItem = (task: Task) => ({
  ...taskKey(task.planId, task.taskId),
  [GSI1.partitionKey]: tenantPk(task.tenantId),
  [GSI1.sortKey]: `${task.createdAt}#${task.taskId}`,
  kind: 'TASK',
  ...task,
});

/** The count attribute of completed stages on a counter item (status counts use the status names). */
export const STAGES_DONE = 'stagesDone';

/**
 * The counter update of a transition: the status left counts one less, the one
 * entered one more, and completed stages by how many the transition added or
 * cleared. CREATED is not counted: it is whatever the plan's total leaves.
 */
function counterUpdate(tableName: string, before: Task, after: Task): TransactItems[number] | undefined {
  const add: Record<string, number> = {};
  if (before.status !== after.status) {
    if (before.status !== 'CREATED') add[before.status] = -1;
    add[after.status] = 1;
    // A wave's verdict counts its own tasks (from the same exact counters).
    if (before.wave !== undefined) {
      if (before.status !== 'CREATED') add[waveCountName(before.wave, before.status)] = -1;
      add[waveCountName(before.wave, after.status)] = 1;
    }
  }
  const stages = after.completedStages.length - before.completedStages.length;
  if (stages) add[STAGES_DONE] = stages;
  if (!Object.keys(add).length) return undefined;
  return {
    Update: {
      TableName: tableName,
      Key: itemKey(planPk(before.planId), countsSk(before.index)),
      ...updateParts({}, [], add),
    },
  };
}

export function taskStore(ctx: StoreContext) {
  async function getTask(taskId: string): Promise<Task | undefined> {
    const planId = planIdOfTask(taskId);
    if (!planId) return undefined;
    const result = await ctx.doc.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: taskKey(planId, taskId),
        ConsistentRead: true,
      }),
    );
    return result.Item ? stripKeys<Task>(result.Item) : undefined;
  }

  async function requireTask(taskId: string): Promise<Task> {
    const task = await getTask(taskId);
    if (!task) throw new NotFound('task', taskId);
    return task;
  }

  async function transitionSteps(
    taskId: string,
    steps: readonly TaskStep[],
    known?: Task,
  ): Promise<{ item: Task; events: RolloutEvent[] }> {
    let snapshot = known;
    let guessLock = true;
    let observed: { event: RolloutEvent; before: Task; after: Task }[] = [];
    const ifSeq = steps[0]?.change?.ifSeq;
    const names = steps.map((step) => step.operation).join('+');
    const result = await withOptimisticRetry(async () => {
      const task = snapshot ?? (await requireTask(taskId));
      snapshot = undefined;
      observed = [];
      if (ifSeq !== undefined && task.seq !== ifSeq) return { item: task, events: [] };
      const now = ctx.now().toISOString();
      let updated = task;
      const set: TaskFields = {};
      const removed = new Set<keyof TaskFields>();
      const puts: TransactItems = [];
      for (const { operation, change = {} } of steps) {
        const decision = decideTask(taskId, operation, updated);
        const nextSeq = decision.event ? updated.seq + 1 : updated.seq;
        const next: Task = { ...updated, ...change.set, status: decision.to, seq: nextSeq, updatedAt: now };
        for (const field of Object.keys(change.set ?? {})) removed.delete(field as keyof TaskFields);
        Object.assign(set, change.set);
        for (const field of change.remove ?? []) {
          delete next[field];
          delete set[field];
          removed.add(field);
        }
        if (decision.event) {
          const built = buildEvent(
            ctx,
            decision.event,
            {
              planId: task.planId,
              taskId,
              tenantId: task.tenantId,
              sequenceType: 'TASK',
              sequenceId: nextSeq,
              status: decision.to,
              completedStages: next.completedStages.length,
              totalStages: next.stages.length,
            },
            {
              currentStage: change.currentStage ?? next.currentStage,
              failureInfo: change.failureInfo,
              detail: change.detail,
            },
          );
          observed.push({ event: built.event, before: updated, after: next });
          puts.push({ Put: { TableName: ctx.tableName, Item: built.item } });
        }
        updated = next;
      }

      const writes: TransactItems = [
        guardedStatusUpdate(
          ctx.tableName,
          taskKey(task.planId, taskId),
          { ...set, status: updated.status, seq: updated.seq, updatedAt: now },
          [...removed],
          task,
        ),
      ];
      const counted = counterUpdate(ctx.tableName, task, updated);
      if (counted) writes.push(counted);
      if (isTerminalTask(updated.status) && !isTerminalTask(task.status)) {
        // The task's fencing token names the lock it took: the first attempt releases that one
        // unread; when the guess fails (the lease went to another task, or is gone), the retry reads.
        const lock =
          guessLock && task.fencingToken !== undefined
            ? { ownerTaskId: taskId, fencingToken: task.fencingToken }
            : await readLock(ctx, task.tenantId);
        guessLock = false;
        writes.push(releaseInTransaction(ctx.tableName, task.tenantId, taskId, lock));
      }
      writes.push(...puts);

      await ctx.doc.send(new TransactWriteCommand({ TransactItems: writes }));
      return { item: updated, events: observed.map((o) => o.event) };
    }, `transition ${names} of task ${taskId}`);
    for (const { event, before, after } of observed) ctx.onTransition?.(event, before, after);
    return result;
  }

  return {
    getTask,
    requireTask,

    /** The tasks at these request positions (read consistently, in the order given). */
    async tasksAt(planId: string, indexes: readonly number[]): Promise<Task[]> {
      const byId = new Map<string, Task>();
      // BatchGetItem reads at most 100 items per call.
      // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
      for (let i = 0; i < indexes.length; i += 100) {
        let keys: Record<string, unknown>[] = indexes
          .slice(i, i + 100)
          .map((index) => taskKey(planId, taskIdFor(planId, index)));
        while (keys.length) {
          const result = await ctx.doc.send(
            new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: keys, ConsistentRead: true } } }),
          );
          for (const item of result.Responses?.[ctx.tableName] ?? []) {
            const task = stripKeys<Task>(item);
            byId.set(task.taskId, task);
          }
          keys = result.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
        }
      }
      return indexes.flatMap((index) => byId.get(taskIdFor(planId, index)) ?? []);
    },

    /** Every task of a plan, in request order. */
    async listTasks(planId: string): Promise<Task[]> {
      const items = await queryAll(ctx, {
        ...inPartition(planPk(planId), TASK_SK_PREFIX),
        ConsistentRead: true,
      });
      return items.map((item) => stripKeys<Task>(item));
    },

    /**
     * One page of a plan's tasks in request order, optionally only those in a status
     * or whose tenant id starts with `tenant`. A page holds up to `limit` tasks; the
     * cursor is absent after the last one.
     */
    async listTaskPage(
      planId: string,
      options: { limit: number; cursor?: string; status?: TaskStatus; tenant?: string },
    ): Promise<{ tasks: Task[]; cursor?: string }> {
      const filters = [
        ...(options.status ? ['#status = :status'] : []),
        ...(options.tenant ? ['begins_with(tenantId, :tenant)'] : []),
      ];
      const base = inPartition(planPk(planId), TASK_SK_PREFIX);
      const tasks: Task[] = [];
      let startKey = decodeCursor(options.cursor);
      // A filtered query reads a page and then drops what does not match: keep reading until the page is full.
      do {
        const page = await ctx.doc.send(
          new QueryCommand({
            TableName: ctx.tableName,
            ...base,
            ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
            ExpressionAttributeNames: {
              ...base.ExpressionAttributeNames,
              ...(options.status ? { '#status': 'status' } : {}),
            },
            ExpressionAttributeValues: {
              ...base.ExpressionAttributeValues,
              ...(options.status ? { ':status': options.status } : {}),
              ...(options.tenant ? { ':tenant': options.tenant } : {}),
            },
            Limit: options.limit - tasks.length,
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        tasks.push(...(page.Items ?? []).map((item) => stripKeys<Task>(item)));
        startKey = page.LastEvaluatedKey;
      } while (startKey && tasks.length < options.limit);
      const cursor = encodeCursor(startKey);
      return { tasks, ...(cursor ? { cursor } : {}) };
    },

    /** A tenant's tasks across plans, newest first. */
    async tasksByTenant(tenantId: string, limit = 20): Promise<Task[]> {
      const page = await ctx.doc.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: GSI1.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': GSI1.partitionKey },
          ExpressionAttributeValues: { ':pk': tenantPk(tenantId) },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return (page.Items ?? []).map((item) => stripKeys<Task>(item));
    },

    /**
     * The one way a task changes: checks the expected status, moves it, bumps the
     * task's sequence, writes the event and moves the plan's status counts, all in
     * one transaction, so the counts are exact. A move into a
     * terminal status frees the task's tenant lock in that same transaction, so no
     * task is ever seen finished while it holds its tenant. Concurrent callers
     * retry on fresh state, so sequences have no gaps and no duplicates.
     */
    async transitionTask(
      taskId: string,
      operation: TaskOperation,
      change: TaskTransition = {},
      /** The task as the caller just read it; saves a read when nothing changed it since. */
      known?: Task,
    ): Promise<TransitionResult<Task>> {
      const { item, events } = await transitionSteps(taskId, [{ operation, change }], known);
      return { item, ...(events[0] ? { event: events[0] } : {}) };
    },

    /**
     * Several transitions that follow each other at once (validate and start; a last stage's
     * success and the task's completion), as one transaction: each step is decided on the task
     * the one before it left, and each emits its own event with its own sequence number, as if
     * they had been made one after another. The first step's `ifSeq` applies to all.
     */
    transitionTaskSteps: transitionSteps,
    /** Stores the pause token while the task is still PAUSED with its pause flag set; false when resume came first. */
    async parkPauseToken(taskId: string, token: string): Promise<boolean> {
      const planId = planIdOfTask(taskId);
      if (!planId) throw new NotFound('task', taskId);
      try {
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: taskKey(planId, taskId),
            UpdateExpression: 'SET pauseToken = :token',
            ConditionExpression: 'paused = :yes AND #status = :paused',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':token': token, ':yes': true, ':paused': 'PAUSED' },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Removes and returns the parked pause token, if any: whoever takes it sends it back, exactly once. */
    async takePauseToken(taskId: string): Promise<string | undefined> {
      const planId = planIdOfTask(taskId);
      if (!planId) return undefined;
      try {
        const result = await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: taskKey(planId, taskId),
            UpdateExpression: 'REMOVE pauseToken',
            ConditionExpression: 'attribute_exists(pauseToken)',
            ReturnValues: 'UPDATED_OLD',
          }),
        );
        return result.Attributes?.pauseToken as string | undefined;
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },

    /** Sets fields that carry no status meaning (execution ARN, heartbeat time), conditional on the task existing. */
    async patchTask(
      taskId: string,
      set: TaskFields,
      remove: readonly (keyof TaskFields)[] = [],
    ): Promise<void> {
      const planId = planIdOfTask(taskId);
      if (!planId) throw new NotFound('task', taskId);
      await ctx.doc.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: taskKey(planId, taskId),
          ...updateExisting({ ...set, updatedAt: ctx.now().toISOString() }, remove),
        }),
      );
    },
  };
}
