/** Task items, their checkpoints, and the single transition authority for tasks. */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { NotFound } from '../errors.ts';
import { checkpointSk, PLAN_SK, planIdOfTask, planPk, TASK_SK_PREFIX, taskSk, tenantPk } from '../keys.ts';
import type { Checkpoint, PlanCounters, RolloutEvent, Task } from '../model.ts';
import { GSI1 } from '../table.ts';
import { decideTask, type TaskOperation } from '../transitions.ts';
import {
  isConditionFailure,
  queryAll,
  type StoreContext,
  stripKeys,
  withOptimisticRetry,
} from './context.ts';
import { buildEvent, type EventDetails } from './events.ts';
import { guardedStatusUpdate, type TransactItems, updateParts } from './update.ts';

export type TaskFields = Partial<
  Omit<Task, 'taskId' | 'planId' | 'tenantId' | 'status' | 'seq' | 'index' | 'config'>
>;

export interface TaskTransition extends EventDetails {
  set?: TaskFields;
  remove?: readonly (keyof TaskFields)[];
  /** Save the checkpoint (completed stages) or clear it, in the same transaction. */
  checkpoint?: readonly string[] | 'clear';
  /** Counters to add to the plan once the transition is written (see addPlanCounters). */
  planCounters?: Partial<Omit<PlanCounters, 'totalTasks'>>;
}

export interface TransitionResult<T> {
  item: T;
  event?: RolloutEvent;
}

export const taskItem = (task: Task) => ({
  pk: planPk(task.planId),
  sk: taskSk(task.taskId),
  [GSI1.partitionKey]: tenantPk(task.tenantId),
  [GSI1.sortKey]: `${task.createdAt}#${task.taskId}`,
  kind: 'TASK',
  ...task,
});

export function taskStore(ctx: StoreContext) {
  async function getTask(taskId: string): Promise<Task | undefined> {
    const planId = planIdOfTask(taskId);
    if (!planId) return undefined;
    const result = await ctx.doc.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: { pk: planPk(planId), sk: taskSk(taskId) },
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

  return {
    getTask,
    requireTask,

    /** Every task of a plan, in request order. */
    async listTasks(planId: string): Promise<Task[]> {
      const items = await queryAll(ctx, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': planPk(planId), ':prefix': TASK_SK_PREFIX },
        ConsistentRead: true,
      });
      return items.map((item) => stripKeys<Task>(item));
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
     * task's sequence and writes the event, all in one transaction. Concurrent
     * callers retry on fresh state, so sequences have no gaps and no duplicates.
     */
    async transitionTask(
      taskId: string,
      operation: TaskOperation,
      change: TaskTransition = {},
      /** The task as the caller just read it; saves a read when nothing changed it since. */
      known?: Task,
    ): Promise<TransitionResult<Task>> {
      let snapshot = known;
      const result = await withOptimisticRetry(async (): Promise<TransitionResult<Task>> => {
        const task = snapshot ?? (await requireTask(taskId));
        snapshot = undefined;
        const decision = decideTask(taskId, operation, task);
        const now = ctx.now().toISOString();
        const nextSeq = decision.event ? task.seq + 1 : task.seq;
        const updated: Task = { ...task, ...change.set, status: decision.to, seq: nextSeq, updatedAt: now };
        for (const field of change.remove ?? []) delete updated[field];

        const writes: TransactItems = [
          guardedStatusUpdate(
            ctx.tableName,
            { pk: planPk(task.planId), sk: taskSk(taskId) },
            { ...change.set, status: decision.to, seq: nextSeq, updatedAt: now },
            change.remove ?? [],
            task,
          ),
        ];

        let event: RolloutEvent | undefined;
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
              completedStages: updated.completedStages.length,
              totalStages: updated.stages.length,
            },
            {
              currentStage: change.currentStage ?? updated.currentStage,
              failureInfo: change.failureInfo,
              detail: change.detail,
            },
          );
          event = built.event;
          writes.push({ Put: { TableName: ctx.tableName, Item: built.item } });
        }

        if (change.checkpoint === 'clear') {
          writes.push({
            Delete: { TableName: ctx.tableName, Key: { pk: planPk(task.planId), sk: checkpointSk(taskId) } },
          });
        } else if (change.checkpoint) {
          const checkpoint: Checkpoint = {
            planId: task.planId,
            taskId,
            completedStages: [...change.checkpoint],
            updatedAt: now,
          };
          writes.push({
            Put: {
              TableName: ctx.tableName,
              Item: { pk: planPk(task.planId), sk: checkpointSk(taskId), kind: 'CHECKPOINT', ...checkpoint },
            },
          });
        }

        await ctx.doc.send(new TransactWriteCommand({ TransactItems: writes }));
        return { item: updated, event };
      }, `transition ${operation} of task ${taskId}`);
      if (change.planCounters) await addPlanCounters(ctx, result.item.planId, change.planCounters);
      return result;
    },

    async loadCheckpoint(taskId: string): Promise<Checkpoint | undefined> {
      const planId = planIdOfTask(taskId);
      if (!planId) return undefined;
      const result = await ctx.doc.send(
        new GetCommand({
          TableName: ctx.tableName,
          Key: { pk: planPk(planId), sk: checkpointSk(taskId) },
          ConsistentRead: true,
        }),
      );
      return result.Item ? stripKeys<Checkpoint>(result.Item) : undefined;
    },

    async saveCheckpoint(taskId: string, completedStages: readonly string[]): Promise<void> {
      const planId = planIdOfTask(taskId);
      if (!planId) throw new NotFound('task', taskId);
      const checkpoint: Checkpoint = {
        planId,
        taskId,
        completedStages: [...completedStages],
        updatedAt: ctx.now().toISOString(),
      };
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { pk: planPk(planId), sk: checkpointSk(taskId), kind: 'CHECKPOINT', ...checkpoint },
        }),
      );
    },

    async clearCheckpoint(taskId: string): Promise<void> {
      const planId = planIdOfTask(taskId);
      if (!planId) return;
      await ctx.doc.send(
        new DeleteCommand({
          TableName: ctx.tableName,
          Key: { pk: planPk(planId), sk: checkpointSk(taskId) },
        }),
      );
    },

    /** Stores the pause token while the task is still PAUSED with its pause flag set; false when resume came first. */
    async parkPauseToken(taskId: string, token: string): Promise<boolean> {
      const planId = planIdOfTask(taskId);
      if (!planId) throw new NotFound('task', taskId);
      try {
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: { pk: planPk(planId), sk: taskSk(taskId) },
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
            Key: { pk: planPk(planId), sk: taskSk(taskId) },
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
          Key: { pk: planPk(planId), sk: taskSk(taskId) },
          ...updateParts({ ...set, updatedAt: ctx.now().toISOString() }, remove),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    },
  };
}

/**
 * Adds to the plan's counters. Deliberately outside the task's transaction and
 * unconditional: every finishing task touches the plan item, and a sequence check
 * there would serialize all of them. The counters are progress for people; the
 * plan's final transition recounts its tasks.
 */
async function addPlanCounters(
  ctx: StoreContext,
  planId: string,
  counters: Partial<Omit<PlanCounters, 'totalTasks'>>,
) {
  await ctx.doc.send(
    new UpdateCommand({
      TableName: ctx.tableName,
      Key: { pk: planPk(planId), sk: PLAN_SK },
      ...updateParts({}, [], counters as Record<string, number>),
      ConditionExpression: 'attribute_exists(pk)',
    }),
  );
}
