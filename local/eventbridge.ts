/**
 * The local EventBridge: PutEvents on named buses, rules with local targets
 * (function or state machine), rate schedules on timers, and a bounded archive
 * of every event put, for tests and the console.
 */
import { randomUUID } from 'node:crypto';
import {
  PUT_EVENTS_MAX_BYTES,
  PUT_EVENTS_MAX_ENTRIES,
  putEventsEntrySize,
} from '../functions/core/bus-limits.ts';
import { arns, busNameOf, DEFAULT_BUS_NAME, PROJECT_BUS_NAME } from './arns.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env.ts';
import { AwsError, type JsonService, type Log } from './http.ts';
import { type EventRule, matches, type RuleTarget, type ScheduleRule } from './rules.ts';

export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface ArchivedEvent extends EventEnvelope {
  eventBusName: string;
}

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: string | number;
}

export interface PutEventsResult {
  Entries: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[];
  FailedEntryCount: number;
}

export interface TargetInvoker {
  invokeFunction(name: string, event: EventEnvelope): Promise<unknown>;
  startExecution(machine: string, event: EventEnvelope): Promise<unknown>;
}

export interface BusOptions {
  rules: EventRule[];
  schedules: ScheduleRule[];
  scheduleEveryMs: Record<string, number>;
  targets: TargetInvoker;
  log: Log;
  archiveLimit?: number;
  /** Sees every event the bus routes (the archive keeps only the last `archiveLimit`). */
  onEvent?: (event: ArchivedEvent) => void;
}

const BUSES = new Set([PROJECT_BUS_NAME, DEFAULT_BUS_NAME]);
/** Lambda's asynchronous invocation retries a failed event twice. */
const ASYNC_ATTEMPTS = 3;

/** EventBridge writes times without fractional seconds. */
const eventTime = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

export class LocalBus {
  private readonly archived: ArchivedEvent[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly options: BusOptions;
  private stopped = false;

  constructor(options: BusOptions) {
    this.options = options;
  }

  startSchedules(): void {
    for (const schedule of this.options.schedules) {
      const fn = schedule.target.function;
      const everyMs = this.options.scheduleEveryMs[fn] ?? schedule.rateMinutes * 60_000;
      let running = false;
      const timer = setInterval(() => {
        // A slow run is not overlapped by the next tick: the local process has one copy of each function.
        if (running || this.stopped) return;
        running = true;
        const event = this.envelope({
          source: 'aws.events',
          detailType: 'Scheduled Event',
          detail: {},
          resources: [arns.rule(DEFAULT_BUS_NAME, schedule.name)],
        });
        this.track(
          this.deliver({ function: fn }, event, schedule.name).finally(() => {
            running = false;
          }),
        );
      }, everyMs);
      this.timers.push(timer);
    }
  }

  putEvents(entries: PutEventsEntry[]): PutEventsResult {
    const results: PutEventsResult['Entries'] = [];
    let failed = 0;
    for (const entry of entries) {
      const outcome = this.putOne(entry);
      if ('ErrorCode' in outcome) failed++;
      results.push(outcome);
    }
    return { Entries: results, FailedEntryCount: failed };
  }

  /** Events that AWS services emit themselves (e.g. ECS task state changes). */
  publish(
    busName: string,
    source: string,
    detailType: string,
    detail: unknown,
    resources: string[] = [],
  ): void {
    this.route(busName, this.envelope({ source, detailType, detail, resources }));
  }

  archive(): ArchivedEvent[] {
    return [...this.archived];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private putOne(entry: PutEventsEntry): PutEventsResult['Entries'][number] {
    if (!entry.Source || !entry.DetailType) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source and DetailType are required.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail ?? '{}');
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const busName = busNameOf(entry.EventBusName);
    if (!BUSES.has(busName)) {
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
    }
    const event = this.envelope({
      source: entry.Source,
      detailType: entry.DetailType,
      detail,
      resources: entry.Resources ?? [],
      ...(entry.Time !== undefined ? { time: new Date(entry.Time) } : {}),
    });
    this.route(busName, event);
    return { EventId: event.id };
  }

  private envelope(e: {
    source: string;
    detailType: string;
    detail: unknown;
    resources: string[];
    time?: Date;
  }): EventEnvelope {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': e.detailType,
      source: e.source,
      account: LOCAL_ACCOUNT,
      time: eventTime(e.time ?? new Date()),
      region: LOCAL_REGION,
      resources: e.resources,
      detail: e.detail,
    };
  }

  private route(busName: string, event: EventEnvelope) {
    const archived = { ...event, eventBusName: busName };
    this.archived.push(archived);
    this.options.onEvent?.(archived);
    const limit = this.options.archiveLimit ?? 10_000;
    if (this.archived.length > limit) this.archived.splice(0, this.archived.length - limit);
    if (this.stopped) return;
    for (const rule of this.options.rules) {
      if ((rule.eventBusName ?? PROJECT_BUS_NAME) !== busName) continue;
      if (!matches(rule.pattern, event as unknown as Record<string, unknown>)) continue;
      this.track(this.deliver(rule.target, event, rule.name));
    }
  }

  private track(delivery: Promise<void>) {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  private async deliver(target: RuleTarget, event: EventEnvelope, ruleName: string): Promise<void> {
    if ('archiveOnly' in target) return;
    if ('listener' in target) {
      try {
        target.listener(event);
      } catch (error) {
        this.options.log(
          `rule ${ruleName}: listener failed on ${event['detail-type']}: ${(error as Error).message}`,
        );
      }
      return;
    }
    // Targets run after PutEvents has answered, as EventBridge delivers asynchronously.
    await new Promise((resolve) => setImmediate(resolve));
    const attempts = 'function' in target ? ASYNC_ATTEMPTS : 1;
    for (let attempt = 1; attempt <= attempts && !this.stopped; attempt++) {
      try {
        if ('function' in target) await this.options.targets.invokeFunction(target.function, event);
        else await this.options.targets.startExecution(target.stateMachine, event);
        return;
      } catch (error) {
        this.options.log(
          `rule ${ruleName}: delivery of ${event['detail-type']} failed (attempt ${attempt}/${attempts}): ${(error as Error).message}`,
        );
      }
    }
  }
}

export function eventBridgeService(bus: LocalBus): JsonService {
  return {
    targetPrefix: 'AWSEvents',
    jsonVersion: '1.1',
    iamPrefix: 'events',
    access: {
      PutEvents: (input: { Entries?: PutEventsEntry[] }) =>
        [...new Set((input.Entries ?? []).map((e) => arns.eventBus(busNameOf(e.EventBusName))))].map(
          (resource) => ({ resource }),
        ),
      DescribeEventBus: (input: { Name?: string }) => [{ resource: arns.eventBus(busNameOf(input.Name)) }],
    },
    operations: {
      PutEvents: (input: { Entries?: PutEventsEntry[] }) => {
        const entries = input.Entries ?? [];
        if (entries.length === 0 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
          throw new AwsError('ValidationException', 'Entries must contain between 1 and 10 items');
        }
        // AWS refuses the whole request, not the entries that overflow it.
        const size = entries.reduce((total, entry) => total + putEventsEntrySize(entry), 0);
        if (size >= PUT_EVENTS_MAX_BYTES) {
          throw new AwsError(
            'ValidationException',
            'Total size of the entries in the request is over the limit.',
          );
        }
        return bus.putEvents(entries);
      },
      DescribeEventBus: (input: { Name?: string }) => {
        const name = busNameOf(input.Name);
        if (!BUSES.has(name))
          throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
        return { Name: name, Arn: arns.eventBus(name) };
      },
    },
  };
}
