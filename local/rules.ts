/**
 * The local bus's view of the manifest's rules (derived once, in functions/core/rules.ts,
 * which CDK reads too) and the event-pattern matching the local bus and tests use.
 */

import {
  rulesFromManifest as deriveRules,
  type EventPattern,
  type PatternMatcher,
  type ScheduleRuleSpec,
} from '../functions/core/rules.ts';
import type { FunctionSpec } from '../functions/manifest.ts';
import { arns, DEFAULT_BUS_NAME, PROJECT_BUS_NAME } from './arns.ts';

export type { EventPattern, PatternMatcher };
export type ScheduleRule = ScheduleRuleSpec;

export type RuleTarget =
  | { function: string }
  | { stateMachine: string }
  | { archiveOnly: true }
  /** A listener in the runtime's own process (e.g. `npm start` printing lifecycle lines). */
  | { listener: (event: { 'detail-type': string; detail: unknown }) => void };

export interface EventRule {
  name: string;
  /** Defaults to the project bus. */
  eventBusName?: string;
  pattern: EventPattern;
  target: RuleTarget;
}

export function rulesFromManifest(functions: readonly FunctionSpec[]): {
  events: EventRule[];
  schedules: ScheduleRule[];
} {
  const { events, schedules } = deriveRules(functions, { clusterArn: arns.cluster() });
  return {
    events: events.map((rule) => ({
      ...rule,
      eventBusName: rule.eventBusName === 'default' ? DEFAULT_BUS_NAME : PROJECT_BUS_NAME,
    })),
    schedules,
  };
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
