/**
 * Tenant locks: a lease with an owner and a fencing token that only grows. The
 * item is never deleted, so the token survives release and takeover.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LOCKS_INDEX_PK, lockKey } from '../keys.ts';
import type { TenantLock } from '../model.ts';
import { GSI1 } from '../table.ts';
import { isConditionFailure, queryAll, type StoreContext } from './context.ts';
import type { TransactItems } from './update.ts';

export interface LockOwner {
  taskId: string;
  planId: string;
}

export type AcquireResult = { acquired: true; lock: TenantLock } | { acquired: false; holder?: TenantLock };

const toLock = (item: Record<string, unknown> | undefined): TenantLock | undefined =>
  item?.ownerTaskId
    ? {
        tenantId: item.tenantId as string,
        ownerTaskId: item.ownerTaskId as string,
        ownerPlanId: item.ownerPlanId as string,
        leaseExpiresAt: item.leaseExpiresAt as number,
        fencingToken: item.fencingToken as number,
      }
    : undefined;

export async function readLock(ctx: StoreContext, tenantId: string): Promise<TenantLock | undefined> {
  const result = await ctx.doc.send(
    new GetCommand({ TableName: ctx.tableName, Key: lockKey(tenantId), ConsistentRead: true }),
  );
  return toLock(result.Item);
}

const RELEASE = {
  UpdateExpression: 'SET leaseExpiresAt = :zero REMOVE ownerTaskId, ownerPlanId, #gpk, #gsk',
  ExpressionAttributeNames: { '#gpk': GSI1.partitionKey, '#gsk': GSI1.sortKey },
};

/**
 * The part of a task's terminal transaction that frees its tenant: a release of
 * the lock as it was read (owner and fencing token unchanged), or, when the task
 * does not hold it, a check that it still does not. Either way the transaction
 * fails if the lock moved since it was read, and the caller re-reads.
 */
export function releaseInTransaction(
  tableName: string,
  tenantId: string,
  taskId: string,
  lock: Pick<TenantLock, 'ownerTaskId' | 'fencingToken'> | undefined,
): TransactItems[number] {
  if (lock?.ownerTaskId === taskId) {
    return {
      Update: {
        TableName: tableName,
        Key: lockKey(tenantId),
        ...RELEASE,
        ConditionExpression: 'ownerTaskId = :task AND fencingToken = :token',
        ExpressionAttributeValues: { ':task': taskId, ':token': lock.fencingToken, ':zero': 0 },
      },
    };
  }
  return {
    ConditionCheck: {
      TableName: tableName,
      Key: lockKey(tenantId),
      ConditionExpression: 'attribute_not_exists(ownerTaskId) OR ownerTaskId <> :task',
      ExpressionAttributeValues: { ':task': taskId },
    },
  };
}

export function lockStore(ctx: StoreContext) {
  const getLock = (tenantId: string) => readLock(ctx, tenantId);

  return {
    getLock,

    /** Every held lock (released ones leave the index). */
    async listHeldLocks(): Promise<TenantLock[]> {
      const items = await queryAll(ctx, {
        IndexName: GSI1.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': GSI1.partitionKey },
        ExpressionAttributeValues: { ':pk': LOCKS_INDEX_PK },
      });
      return items.map(toLock).filter((lock): lock is TenantLock => lock !== undefined);
    },

    /** Takes the lock when it is free, its lease expired, or the caller already owns it (re-entry issues a new token). */
    async acquireLock(tenantId: string, owner: LockOwner, leaseMs: number): Promise<AcquireResult> {
      const now = ctx.now().getTime();
      try {
        const result = await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: lockKey(tenantId),
            UpdateExpression:
              'SET tenantId = :tenant, ownerTaskId = :task, ownerPlanId = :plan, leaseExpiresAt = :expires, kind = :kind, #gpk = :locks, #gsk = :tenant, fencingToken = if_not_exists(fencingToken, :zero) + :one',
            ConditionExpression:
              'attribute_not_exists(ownerTaskId) OR leaseExpiresAt < :now OR ownerTaskId = :task',
            ExpressionAttributeValues: {
              ':tenant': tenantId,
              ':task': owner.taskId,
              ':plan': owner.planId,
              ':expires': now + leaseMs,
              ':now': now,
              ':zero': 0,
              ':one': 1,
              ':kind': 'LOCK',
              ':locks': LOCKS_INDEX_PK,
            },
            ExpressionAttributeNames: { '#gpk': GSI1.partitionKey, '#gsk': GSI1.sortKey },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { acquired: true, lock: toLock(result.Attributes)! };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The document client does not unmarshall the item returned with a failed condition.
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        const holder = (old ? toLock(unmarshall(old)) : undefined) ?? (await getLock(tenantId));
        return { acquired: false, holder };
      }
    },

    /** Extends the lease; refused (false) unless the caller still owns the lock with the same fencing token. */
    async renewLock(
      tenantId: string,
      taskId: string,
      fencingToken: number,
      leaseMs: number,
    ): Promise<boolean> {
      try {
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: lockKey(tenantId),
            UpdateExpression: 'SET leaseExpiresAt = :expires',
            ConditionExpression: 'ownerTaskId = :task AND fencingToken = :token',
            ExpressionAttributeValues: {
              ':expires': ctx.now().getTime() + leaseMs,
              ':task': taskId,
              ':token': fencingToken,
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    /** Frees the lock; refused (false) unless the caller owns it (and, when given, with the same fencing token). */
    async releaseLock(tenantId: string, taskId: string, fencingToken?: number): Promise<boolean> {
      try {
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: lockKey(tenantId),
            ...RELEASE,
            ConditionExpression:
              fencingToken === undefined
                ? 'ownerTaskId = :task'
                : 'ownerTaskId = :task AND fencingToken = :token',
            ExpressionAttributeValues: {
              ':task': taskId,
              ':zero': 0,
              ...(fencingToken === undefined ? {} : { ':token': fencingToken }),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
}
