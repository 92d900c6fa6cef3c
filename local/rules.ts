/**
 * EventBridge rules derived from the function manifest, and the subset of the
 * event-pattern language the project uses. Pure, so CDK can read the same rules.
 */
import type { FunctionSpec } from '../functions/manifest.ts';
import { DEFAULT_BUS_NAME, PROJECT_BUS_NAME } from './arns.ts';

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

export type RuleTarget = { function: string } | { stateMachine: string } | { archiveOnly: true };

export interface EventRule {
  name: string;
  /** Defaults to the project bus. */
  eventBusName?: string;
  pattern: EventPattern;
  target: RuleTarget;
}

export interface ScheduleRule {
  name: string;
  rateMinutes: number;
  target: { function: string };
}

export function rulesFromManifest(functions: readonly FunctionSpec[]): {
  events: EventRule[];
  schedules: ScheduleRule[];
} {
  const events: EventRule[] = [];
  const schedules: ScheduleRule[] = [];
  for (const fn of functions) {
    if (fn.trigger?.kind === 'event') {
      const { detailType, source } = fn.trigger;
      events.push({
        name: `${fn.name}-on-${detailType.replaceAll(/[^A-Za-z0-9]+/g, '-')}`,
        // AWS services publish their events to the account's default bus only.
        eventBusName: source?.startsWith('aws.') ? DEFAULT_BUS_NAME : PROJECT_BUS_NAME,
        pattern: { ...(source ? { source: [source] } : {}), 'detail-type': [detailType] },
        target: { function: fn.name },
      });
    } else if (fn.trigger?.kind === 'schedule') {
      schedules.push({
        name: `${fn.name}-schedule`,
        rateMinutes: fn.trigger.rateMinutes,
        target: { function: fn.name },
      });
    }
  }
  return { events, schedules };
}

/** EventBridge matching: every pattern field must match; an array value matches when any element does. */
export function matches(pattern: EventPattern, event: Record<string, unknown>): boolean {
  for (const [field, expected] of Object.entries(pattern)) {
    const actual = event[field];
    if (Array.isArray(expected)) {
      if (!matchesField(expected, actual)) return false;
    } else if (
      !actual ||
      typeof actual !== 'object' ||
      !matches(expected, actual as Record<string, unknown>)
    ) {
      return false;
    }
  }
  return true;
}

function matchesField(matchers: PatternMatcher[], actual: unknown): boolean {
  const values = Array.isArray(actual) ? actual : [actual];
  return matchers.some((matcher) => {
    if (matcher !== null && typeof matcher === 'object') {
      if ('exists' in matcher) return matcher.exists === (actual !== undefined);
      if ('prefix' in matcher)
        return values.some((v) => typeof v === 'string' && v.startsWith(matcher.prefix));
      const excluded = [matcher['anything-but']].flat();
      return actual !== undefined && values.every((v) => !excluded.includes(v as string | number));
    }
    return values.some((v) => v === matcher);
  });
}
