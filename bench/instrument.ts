/**
 * Bench-only meters for the cost model, installed in the bench process before
 * any handler module is loaded:
 * - every in-process Lambda invocation is timed and run in an AsyncLocalStorage
 *   scope naming the function, so DynamoDB calls are attributed to it;
 * - every DynamoDBDocumentClient (the store's, in each handler's deps) gets a
 *   middleware that asks for ReturnConsumedCapacity=INDEXES while metering is on
 *   and adds up what DynamoDB Local reports (it applies AWS's size rules and
 *   doubles transactional writes; checked by a probe and cross-checked below).
 * Nothing in local/ or functions/ is changed; metering is off outside the cost run.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY } from '../functions/core/table.ts';
import { Functions } from '../local/lambda.ts';
import { type AttributeValueLike, itemSize, writeUnits } from './cost.ts';

export interface Invocation {
  name: string;
  memoryMb: number;
  durationMs: number;
}

export interface DynamoUse {
  calls: number;
  writeUnits: number;
  readUnits: number;
  /** Of which written to the GSI (projection ALL: every write of an indexed item). */
  indexWriteUnits: number;
  byOperation: Record<string, { calls: number; units: number }>;
  failedCalls: number;
  /** Estimated units of refused writes (optimistic-concurrency retries), included in writeUnits. */
  failedWriteUnits: number;
}

export interface Meter {
  on: boolean;
  invocations: Invocation[];
  dynamo: Map<string, DynamoUse>;
  /** Non-transactional puts: units computed from the item size vs units DynamoDB Local reported. */
  putCheck: { agree: number; differ: number };
  /** Writes per wall-clock second, per item (`pk|sk`) and per partition key. */
  writesPerSecond: Map<number, { items: Map<string, number>; partitions: Map<string, number> }>;
}

export interface WritePeaks {
  /** The most writes any one item took in one second, and which item (`pk|sk`). */
  item: { writesPerSecond: number; key: string };
  partition: { writesPerSecond: number; key: string };
}

const scope = new AsyncLocalStorage<string>();
const MIDDLEWARE = 'benchConsumedCapacity';
const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);

export const meter: Meter = {
  on: false,
  invocations: [],
  dynamo: new Map(),
  putCheck: { agree: 0, differ: 0 },
  writesPerSecond: new Map(),
};

/** Runs `fn` as if it were the named function (e.g. the bench's submitPlan as the API function). */
export const asFunction = <T>(name: string, fn: () => T): T => scope.run(name, fn);

export function resetMeter() {
  meter.invocations = [];
  meter.dynamo = new Map();
  meter.putCheck = { agree: 0, differ: 0 };
  meter.writesPerSecond = new Map();
}

type Key = Record<string, unknown>;

/** The keys of the items a write command writes (condition checks write nothing). */
function writtenKeys(command: string, input: Record<string, unknown>): Key[] {
  const keyOf = (request: { Item?: Key; Key?: Key } | undefined) =>
    (request?.Key ?? request?.Item) as Key | undefined;
  if (command === 'PutItemCommand' || command === 'UpdateItemCommand' || command === 'DeleteItemCommand')
    return [keyOf(input as { Item?: Key; Key?: Key })].filter((k): k is Key => Boolean(k));
  if (command === 'TransactWriteItemsCommand') {
    return (
      (input.TransactItems ?? []) as { Put?: { Item: Key }; Update?: { Key: Key }; Delete?: { Key: Key } }[]
    )
      .map((t) => keyOf(t.Put ?? t.Update ?? t.Delete))
      .filter((k): k is Key => Boolean(k));
  }
  if (command === 'BatchWriteItemCommand') {
    const requests = Object.values(
      (input.RequestItems ?? {}) as Record<
        string,
        { PutRequest?: { Item: Key }; DeleteRequest?: { Key: Key } }[]
      >,
    ).flat();
    return requests.map((r) => keyOf(r.PutRequest ?? r.DeleteRequest)).filter((k): k is Key => Boolean(k));
  }
  return [];
}

function countWrites(command: string, input: Record<string, unknown>) {
  const keys = writtenKeys(command, input);
  if (!keys.length) return;
  const second = Math.floor(Date.now() / 1000);
  let bucket = meter.writesPerSecond.get(second);
  if (!bucket) {
    bucket = { items: new Map(), partitions: new Map() };
    meter.writesPerSecond.set(second, bucket);
  }
  for (const key of keys) {
    const pk = String(key[PARTITION_KEY]);
    const item = `${pk}|${String(key[SORT_KEY])}`;
    bucket.items.set(item, (bucket.items.get(item) ?? 0) + 1);
    bucket.partitions.set(pk, (bucket.partitions.get(pk) ?? 0) + 1);
  }
}

/** The busiest item and partition key in any one second of what was metered. */
export function writePeaks(): WritePeaks {
  const peaks: WritePeaks = {
    item: { writesPerSecond: 0, key: '' },
    partition: { writesPerSecond: 0, key: '' },
  };
  for (const bucket of meter.writesPerSecond.values()) {
    for (const [key, writes] of bucket.items)
      if (writes > peaks.item.writesPerSecond) peaks.item = { writesPerSecond: writes, key };
    for (const [key, writes] of bucket.partitions)
      if (writes > peaks.partition.writesPerSecond) peaks.partition = { writesPerSecond: writes, key };
  }
  return peaks;
}

interface Capacity {
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

function useOf(fn: string): DynamoUse {
  let use = meter.dynamo.get(fn);
  if (!use) {
    use = {
      calls: 0,
      writeUnits: 0,
      readUnits: 0,
      indexWriteUnits: 0,
      byOperation: {},
      failedCalls: 0,
      failedWriteUnits: 0,
    };
    meter.dynamo.set(fn, use);
  }
  return use;
}

function record(
  command: string,
  input: Record<string, unknown>,
  consumed: Capacity | Capacity[] | undefined,
) {
  const fn = scope.getStore() ?? 'outside';
  const use = useOf(fn);
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  const units = list.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
  const indexUnits = list.reduce(
    (sum, c) =>
      sum + Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((s, i) => s + (i.CapacityUnits ?? 0), 0),
    0,
  );
  use.calls++;
  if (READS.has(command)) use.readUnits += units;
  else {
    use.writeUnits += units;
    use.indexWriteUnits += indexUnits;
  }
  const op = use.byOperation[command] ?? { calls: 0, units: 0 };
  use.byOperation[command] = op;
  op.calls++;
  op.units += units;
  if (command === 'PutItemCommand' && input.Item && list[0]) {
    const item = marshall(input.Item as Record<string, unknown>, { removeUndefinedValues: true });
    const computed = writeUnits(itemSize(item as unknown as Record<string, AttributeValueLike>));
    const reported = list[0].Table?.CapacityUnits ?? list[0].CapacityUnits ?? 0;
    if (computed === reported) meter.putCheck.agree++;
    else meter.putCheck.differ++;
  }
}

/**
 * A refused conditional write or cancelled transaction returns no capacity but
 * is billed: at least one unit per item, two when transactional.
 */
function recordFailure(command: string, input: Record<string, unknown>) {
  const use = useOf(scope.getStore() ?? 'outside');
  use.failedCalls++;
  if (READS.has(command)) return;
  const items = Array.isArray(input.TransactItems) ? input.TransactItems.length : 1;
  const units = command === 'TransactWriteItemsCommand' ? 2 * items : items;
  use.failedWriteUnits += units;
  use.writeUnits += units;
}

let installed = false;

export function installInstrumentation(): Meter {
  if (installed) return meter;
  installed = true;

  const invoke = Functions.prototype.invoke;
  Functions.prototype.invoke = async function (this: Functions, nameOrArn: string, payload: unknown) {
    if (!meter.on) return invoke.call(this, nameOrArn, payload);
    const spec = this.resolve(nameOrArn);
    const started = performance.now();
    try {
      return await scope.run(spec.name, () => invoke.call(this, nameOrArn, payload));
    } finally {
      meter.invocations.push({
        name: spec.name,
        memoryMb: spec.memoryMb,
        durationMs: performance.now() - started,
      });
    }
  };

  const from = DynamoDBDocumentClient.from.bind(DynamoDBDocumentClient);
  (DynamoDBDocumentClient as { from: typeof DynamoDBDocumentClient.from }).from = (
    client,
    translateConfig,
  ) => {
    const doc = from(client, translateConfig);
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (!meter.on) return next(args);
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'INDEXES';
        let result: Awaited<ReturnType<typeof next>>;
        try {
          result = await next(args);
        } catch (error) {
          recordFailure(String(context.commandName), input);
          throw error;
        }
        countWrites(String(context.commandName), input);
        record(
          String(context.commandName),
          input,
          (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity,
        );
        return result;
      },
      { step: 'initialize', name: MIDDLEWARE, override: true },
    );
    return doc;
  };
  return meter;
}
