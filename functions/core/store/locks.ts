/**
 * Tenant locks: a lease with an owner and a fencing token that only grows. The
 * item is never deleted, so the token survives release and takeover.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LOCK_SK, LOCKS_INDEX_PK, lockPk } from '../keys.ts';
import type { TenantLock } from '../model.ts';
import { GSI1 } from '../table.ts';
import { isConditionFailure, queryAll, type StoreContext } from './context.ts';

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

export function lockStore(ctx: StoreContext) {
  async function getLock(tenantId: string): Promise<TenantLock | undefined> {
    const result = await ctx.doc.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: { pk: lockPk(tenantId), sk: LOCK_SK },
        ConsistentRead: true,
      }),
    );
    return toLock(result.Item);
  }

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
            Key: { pk: lockPk(tenantId), sk: LOCK_SK },
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
            Key: { pk: lockPk(tenantId), sk: LOCK_SK },
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
            Key: { pk: lockPk(tenantId), sk: LOCK_SK },
            UpdateExpression: 'SET leaseExpiresAt = :zero REMOVE ownerTaskId, ownerPlanId, #gpk, #gsk',
            ExpressionAttributeNames: { '#gpk': GSI1.partitionKey, '#gsk': GSI1.sortKey },
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
