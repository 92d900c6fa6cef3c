/**
 * The AWS cost model: AWS's counting rules and one price table, as pure
 * functions. The bench measures usage on the local runtime; this module turns
 * usage into units and dollars.
 */

/**
 * Public us-east-1 list prices. Written down from the published AWS pricing
 * pages without network access on the day the bench was written (2025-06):
 * verify against the pricing pages before quoting them as current.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025-06 (published list prices; DynamoDB on-demand after the 2024-11-01 price cut)',
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  stepFunctionsPerTransition: 0.025 / 1000,
  /** Lambda arm64: $0.0000133334 per GB-second, $0.20 per 1M requests. */
  lambdaPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1_000_000,
  /** DynamoDB on-demand: $0.625 per 1M write request units, $0.125 per 1M read request units. */
  dynamoPerWriteUnit: 0.625 / 1_000_000,
  dynamoPerReadUnit: 0.125 / 1_000_000,
  /** EventBridge custom events: $1.00 per 1M (each 64 KB chunk of an event counts as one). */
  eventBridgePerEvent: 1 / 1_000_000,
  /** Fargate Linux/arm64: per vCPU-hour and per GB-hour, billed per second with a one-minute minimum. */
  fargatePerVcpuHour: 0.03238,
  fargatePerGbHour: 0.00356,
} as const;

export type Prices = typeof PRICES;

// ---------------------------------------------------------------- Step Functions

export interface HistoryEventLike {
  type?: string;
}

export interface TransitionCount {
  /** States entered (Task, Choice, Pass, Map, Succeed, Fail, Wait, Parallel). */
  entered: number;
  /** Task attempts after the first (each retry is a billed transition). */
  retries: number;
  total: number;
}

/**
 * Standard workflows bill one transition per state entered, retries included.
 * A retry schedules the Task again without entering the state again, so
 * retries = TaskScheduled − TaskStateEntered; counting this way does not depend
 * on how parallel Map iterations interleave in the history.
 */
export function countStateTransitions(history: readonly HistoryEventLike[]): TransitionCount {
  let entered = 0;
  let taskEntries = 0;
  let scheduled = 0;
  for (const event of history) {
    if (event.type?.endsWith('StateEntered')) {
      entered++;
      if (event.type === 'TaskStateEntered') taskEntries++;
    } else if (event.type === 'TaskScheduled') scheduled++;
  }
  const retries = Math.max(0, scheduled - taskEntries);
  return { entered, retries, total: entered + retries };
}

interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Catch?: readonly { Next: string }[];
}

export interface AslStates {
  StartAt: string;
  States: Record<string, AslState>;
}

/**
 * States a child workflow of a Distributed Map enters, following `Next` from
 * `StartAt` (outcome `success`) or, from the first state's first Catch
 * (`caught`). Child workflows are billed as Standard executions of their own,
 * so each Map item costs this many transitions on top of the task machine.
 */
export function childPathLength(processor: AslStates, outcome: 'success' | 'caught'): number {
  const start = processor.States[processor.StartAt];
  if (!start) throw new Error(`StartAt ${processor.StartAt} is not a state`);
  let count = 1;
  let next: string | undefined;
  if (outcome === 'caught') {
    next = start.Catch?.[0]?.Next;
    if (!next) throw new Error(`${processor.StartAt} has no Catch`);
  } else next = start.End ? undefined : (start.Next ?? start.Default);
  const seen = new Set<string>([processor.StartAt]);
  while (next) {
    if (seen.has(next)) throw new Error(`loop through ${next}: the path length is not fixed`);
    seen.add(next);
    const state = processor.States[next];
    if (!state) throw new Error(`${next} is not a state`);
    count++;
    next = state.End ? undefined : (state.Next ?? state.Default);
  }
  return count;
}

// ---------------------------------------------------------------- DynamoDB

/** A marshalled attribute value, as on the wire. */
export type AttributeValueLike =
  | { S: string }
  | { N: string }
  | { B: Uint8Array | string }
  | { BOOL: boolean }
  | { NULL: boolean }
  | { M: Record<string, AttributeValueLike> }
  | { L: AttributeValueLike[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: (Uint8Array | string)[] };

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** Significant digits / 2, rounded up, plus one byte (DynamoDB's number encoding). */
export function numberSize(text: string): number {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

export function attributeValueSize(value: AttributeValueLike): number {
  if ('S' in value) return utf8(value.S);
  if ('N' in value) return numberSize(value.N);
  if ('B' in value)
    return typeof value.B === 'string' ? Buffer.from(value.B, 'base64').length : value.B.length;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('SS' in value) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if ('NS' in value) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if ('BS' in value)
    return value.BS.reduce(
      (sum, b) => sum + (typeof b === 'string' ? Buffer.from(b, 'base64').length : b.length),
      0,
    );
  // Documents: 3 bytes of overhead, plus one byte per element.
  if ('M' in value) {
    const entries = Object.entries(value.M);
    return 3 + entries.reduce((sum, [name, v]) => sum + utf8(name) + attributeValueSize(v) + 1, 0);
  }
  return 3 + value.L.reduce((sum, v) => sum + attributeValueSize(v) + 1, 0);
}

/** Item size: every attribute's name length plus its value size. */
export function itemSize(item: Record<string, AttributeValueLike>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + attributeValueSize(value), 0);
}

/** One write request unit per started KB; a transactional write costs two. */
export function writeUnits(itemBytes: number, options: { transactional?: boolean } = {}): number {
  const units = Math.max(1, Math.ceil(itemBytes / 1024));
  return options.transactional ? 2 * units : units;
}

/** One read unit per started 4 KB when strongly consistent, half when eventually consistent; transactional ×2. */
export function readUnits(
  itemBytes: number,
  options: { consistent?: boolean; transactional?: boolean } = {},
): number {
  const units = Math.max(1, Math.ceil(itemBytes / 4096));
  if (options.transactional) return 2 * units;
  return options.consistent ? units : units / 2;
}

// ---------------------------------------------------------------- Lambda, EventBridge, Fargate

/** Lambda bills the duration rounded up to the millisecond, times the configured memory. */
export function lambdaGbSeconds(memoryMb: number, durationMs: number): number {
  return (memoryMb / 1024) * (Math.ceil(durationMs) / 1000);
}

/** EventBridge counts each started 64 KB of an event as one event. */
export function chargeableEvents(eventSizesBytes: readonly number[]): number {
  return eventSizesBytes.reduce((sum, size) => sum + Math.max(1, Math.ceil(size / 65_536)), 0);
}

/** vCPU-hours and GB-hours of one Fargate task (cpu in ECS units, 1024 = 1 vCPU), with the one-minute minimum. */
export function fargateUsage(cpuUnits: number, memoryMb: number, seconds: number) {
  const hours = Math.max(60, Math.ceil(seconds)) / 3600;
  return { vcpuHours: (cpuUnits / 1024) * hours, gbHours: (memoryMb / 1024) * hours };
}

// ---------------------------------------------------------------- pricing

/** What one tenant deployment uses, averaged over a measured plan. */
export interface Usage {
  stateTransitions: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  writeUnits: number;
  readUnits: number;
  events: number;
  fargateVcpuHours: number;
  fargateGbHours: number;
}

export interface CostBreakdown {
  stepFunctions: number;
  lambda: number;
  dynamodb: number;
  eventBridge: number;
  fargate: number;
  excludingEngines: number;
  includingEngines: number;
}

export function priceUsage(usage: Usage, prices: Prices = PRICES): CostBreakdown {
  const stepFunctions = usage.stateTransitions * prices.stepFunctionsPerTransition;
  const lambda =
    usage.lambdaRequests * prices.lambdaPerRequest + usage.lambdaGbSeconds * prices.lambdaPerGbSecond;
  const dynamodb = usage.writeUnits * prices.dynamoPerWriteUnit + usage.readUnits * prices.dynamoPerReadUnit;
  const eventBridge = usage.events * prices.eventBridgePerEvent;
  const fargate =
    usage.fargateVcpuHours * prices.fargatePerVcpuHour + usage.fargateGbHours * prices.fargatePerGbHour;
  const excludingEngines = stepFunctions + lambda + dynamodb + eventBridge;
  return {
    stepFunctions,
    lambda,
    dynamodb,
    eventBridge,
    fargate,
    excludingEngines,
    includingEngines: excludingEngines + fargate,
  };
}

export function scaleBreakdown(cost: CostBreakdown, factor: number): CostBreakdown {
  return Object.fromEntries(
    Object.entries(cost).map(([k, v]) => [k, v * factor]),
  ) as unknown as CostBreakdown;
}

export function scaleUsage(usage: Usage, factor: number): Usage {
  return Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, v * factor])) as unknown as Usage;
}
