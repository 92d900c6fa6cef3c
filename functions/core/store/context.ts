/** What every store module shares: the document client, the table, the clock, and optimistic-retry plumbing. */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { monotonicFactory } from 'ulid';
import type { Plan, RolloutEvent, Task } from '../model.ts';
import { DEFAULTS } from '../settings.ts';
import { GSI1, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../table.ts';

/** Told about each transition after its transaction committed (logs and metrics). */
export type TransitionObserver = (event: RolloutEvent, before: Task | Plan, after: Task | Plan) => void;

export interface StoreContext {
  doc: DynamoDBDocumentClient;
  tableName: string;
  now: () => Date;
  newId: () => string;
  eventTtlDays: number;
  onTransition?: TransitionObserver;
}

export interface StoreOptions {
  tableName: string;
  client?: DynamoDBClient;
  now?: () => Date;
  eventTtlDays?: number;
  onTransition?: TransitionObserver;
}

export function storeContext(options: StoreOptions): StoreContext {
  const client = options.client ?? new DynamoDBClient({});
  const now = options.now ?? (() => new Date());
  const ulid = monotonicFactory();
  return {
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName: options.tableName,
    now,
    newId: () => ulid(now().getTime()),
    eventTtlDays: options.eventTtlDays ?? DEFAULTS.eventTtlDays,
    ...(options.onTransition ? { onTransition: options.onTransition } : {}),
  };
}

/** Attributes that exist only for the table's keys and bookkeeping, never returned to callers. */
const INTERNAL = new Set<string>([
  PARTITION_KEY,
  SORT_KEY,
  GSI1.partitionKey,
  GSI1.sortKey,
  TTL_ATTRIBUTE,
  'kind',
  'visible',
  'requestHash',
]);

/** The key condition of a query over one partition, optionally only the sort keys with a prefix. */
export function inPartition(pk: string, skPrefix?: string) {
  return {
    KeyConditionExpression: skPrefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, ...(skPrefix ? { '#sk': SORT_KEY } : {}) },
    ExpressionAttributeValues: { ':pk': pk, ...(skPrefix ? { ':prefix': skPrefix } : {}) },
  };
}

export function stripKeys<T>(item: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) if (!INTERNAL.has(key)) out[key] = value;
  return out as T;
}

export const encodeCursor = (key: Record<string, unknown> | undefined) =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through: an unreadable cursor is a caller error, reported below
  }
  throw new InvalidCursor();
}

export class InvalidCursor extends Error {
  constructor() {
    super('cursor is not one this API returned');
    this.name = 'InvalidCursor';
  }
}

/** Why a transaction was cancelled, per item, as DynamoDB reports it. */
export function cancellationReasons(error: unknown): string[] | undefined {
  if ((error as Error)?.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r.Code ?? 'None');
}

export const isConditionFailure = (error: unknown) =>
  (error as Error)?.name === 'ConditionalCheckFailedException' ||
  (cancellationReasons(error)?.includes('ConditionalCheckFailed') ?? false);

/** Conflicts between concurrent transactions are retried; DynamoDB does not retry them for us. */
export const isTransientConflict = (error: unknown) =>
  cancellationReasons(error)?.some((code) => code === 'TransactionConflict') ??
  (error as Error)?.name === 'TransactionConflictException';

/**
 * Runs `attempt` until it succeeds, retrying optimistic-concurrency losses with jittered backoff.
 * `attempt` re-reads what it depends on each time, so a retry re-decides from fresh state.
 */
export async function withOptimisticRetry<T>(
  attempt: () => Promise<T>,
  what: string,
  maxAttempts = 400,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = isConditionFailure(error) || isTransientConflict(error);
      if (!retryable || i >= maxAttempts) {
        if (retryable) throw new Error(`${what}: gave up after ${i} concurrent-update retries`);
        throw error;
      }
      const ceiling = Math.min(200, 5 * 2 ** Math.min(i, 6));
      await new Promise((r) => setTimeout(r, Math.random() * ceiling));
    }
  }
}

export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Every page of a query, in order (each page also carries Count for Select COUNT queries). */
export async function* queryPages(
  ctx: StoreContext,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
) {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await ctx.doc.send(
      new QueryCommand({ ...input, TableName: ctx.tableName, ExclusiveStartKey: startKey }),
    );
    yield page;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html: up to 25 requests. */
const BATCH_WRITE_MAX = 25;

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/**
 * Writes every request in BatchWriteItem calls of 25, sending again what comes back as
 * UnprocessedItems after an exponential backoff, as the API reference asks (throttled items come back so).
 */
export async function batchWrite(ctx: StoreContext, requests: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
    let batch = requests.slice(i, i + BATCH_WRITE_MAX);
    for (let attempt = 0; batch.length; attempt++) {
      if (attempt) await sleep(Math.min(50 * 2 ** attempt, 5_000));
      const result = await ctx.doc.send(new BatchWriteCommand({ RequestItems: { [ctx.tableName]: batch } }));
      batch = (result.UnprocessedItems?.[ctx.tableName] ?? []) as WriteRequest[];
    }
  }
}

/** Every item a query matches, across pages. */
export async function queryAll(
  ctx: StoreContext,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of queryPages(ctx, input)) items.push(...(page.Items ?? []));
  return items;
}
