/**
 * EventBridge rules and the stream filter derived from the function manifest.
 * Pure, so CDK (real rules and event source mapping) and the local runtime
 * (its own bus and stream poller) read the same derivation.
 */
import type { FunctionSpec } from '../manifest.ts';
import { EVENT_SK_PREFIX } from './keys.ts';
import { SORT_KEY } from './table.ts';

/** The subset of the EventBridge event-pattern language the project uses. */
export type PatternMatcher =
  | string
  | number
  | boolean
  | null
  | { prefix: string }
  | { exists: boolean }
  | { 'anything-but': string | number | (string | number)[] };

export interface EventPattern {
  [field: string]: PatternMatcher[] | EventPattern;
}

/** `project` is the project's own bus; `default` is the account's default bus, where AWS services publish. */
export type BusKind = 'project' | 'default';

export interface EventRuleSpec {
  name: string;
  eventBusName: BusKind;
  pattern: EventPattern;
  target: { function: string };
}

export interface ScheduleRuleSpec {
  name: string;
  rateMinutes: number;
  target: { function: string };
}

/** AWS services (`aws.ecs`, ...) publish only to the default bus. */
export const busForSource = (source: string | undefined): BusKind =>
  source?.startsWith('aws.') ? 'default' : 'project';

const ruleSafe = (text: string) => text.replaceAll(/[^A-Za-z0-9]+/g, '-');

export function rulesFromManifest(
  functions: readonly FunctionSpec[],
  deployment: { clusterArn: string },
): {
  events: EventRuleSpec[];
  schedules: ScheduleRuleSpec[];
} {
  const events: EventRuleSpec[] = [];
  const schedules: ScheduleRuleSpec[] = [];
  for (const fn of functions) {
    const trigger = fn.trigger;
    if (trigger?.kind === 'event') {
      events.push({
        name: `${fn.name}-on-${ruleSafe(trigger.detailType)}`,
        eventBusName: busForSource(trigger.source),
        pattern: {
          'detail-type': [trigger.detailType],
          ...(trigger.source === undefined ? {} : { source: [trigger.source] }),
          ...(trigger.detail || trigger.inProjectCluster
            ? {
                detail: {
                  ...trigger.detail,
                  ...(trigger.inProjectCluster ? { clusterArn: [deployment.clusterArn] } : {}),
                },
              }
            : {}),
        },
        target: { function: fn.name },
      });
    } else if (trigger?.kind === 'schedule') {
      if (!Number.isInteger(trigger.rateMinutes) || trigger.rateMinutes < 1) {
        throw new Error(`function ${fn.name}: schedule rateMinutes must be a positive integer`);
      }
      schedules.push({
        name: `${fn.name}-schedule`,
        rateMinutes: trigger.rateMinutes,
        target: { function: fn.name },
      });
    }
  }
  return { events, schedules };
}

/**
 * Which table stream records reach a `stream`-triggered function: inserted event items only
 * (the outbox). Written in the Lambda event-filter syntax, which is the EventBridge pattern language.
 */
export const STREAM_EVENT_FILTER: EventPattern = {
  eventName: ['INSERT'],
  dynamodb: { NewImage: { [SORT_KEY]: { S: [{ prefix: EVENT_SK_PREFIX }] } } },
};
