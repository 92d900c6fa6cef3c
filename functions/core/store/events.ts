/** Event items: the outbox the table's stream publishes, and the history the API pages through. */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { EVENT_SK_PREFIX, eventSk, itemKey, planPk } from '../keys.ts';
import type { EventType, FailureInfo, RolloutEvent } from '../model.ts';
import { PARTITION_KEY, SORT_KEY } from '../table.ts';
import { epochSeconds, inPartition, queryPages, type StoreContext, stripKeys } from './context.ts';

export interface EventDetails {
  currentStage?: string;
  failureInfo?: FailureInfo;
  detail?: Record<string, unknown>;
}

export interface EventSubject {
  planId: string;
  taskId?: string;
  tenantId?: string;
  sequenceType: 'PLAN' | 'TASK';
  sequenceId: number;
  status: string;
  completedStages?: number;
  totalStages?: number;
}

export function buildEvent(
  ctx: StoreContext,
  type: EventType,
  subject: EventSubject,
  details: EventDetails = {},
) {
  const now = ctx.now();
  const eventId = ctx.newId();
  const event: RolloutEvent = {
    eventId,
    type,
    ...subject,
    timestamp: now.toISOString(),
    ...details,
  };
  const item = {
    ...itemKey(planPk(subject.planId), eventSk(eventId)),
    kind: 'EVENT',
    expiresAt: epochSeconds(now) + ctx.eventTtlDays * 86_400,
    ...event,
  };
  return { event, item };
}

export interface EventPage {
  events: RolloutEvent[];
  /** The eventId to pass as `after` for the next page. */
  last?: string;
}

export function eventStore(ctx: StoreContext) {
  return {
    /** Events of a plan in commit order (event ids are time-ordered), strictly after `afterEventId`. */
    async listEvents(
      planId: string,
      options: { afterEventId?: string; limit?: number } = {},
    ): Promise<EventPage> {
      const limit = options.limit ?? 100;
      const result = await ctx.doc.send(
        new QueryCommand({
          TableName: ctx.tableName,
          ...(options.afterEventId
            ? {
                KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
                ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
                ExpressionAttributeValues: {
                  ':pk': planPk(planId),
                  ':from': `${eventSk(options.afterEventId)}\u0000`,
                  ':to': `${EVENT_SK_PREFIX}\uffff`,
                },
              }
            : inPartition(planPk(planId), EVENT_SK_PREFIX)),
          Limit: limit,
          ConsistentRead: true,
        }),
      );
      const events = (result.Items ?? []).map((item) => stripKeys<RolloutEvent>(item));
      return { events, last: events.at(-1)?.eventId ?? options.afterEventId };
    },

    /** The event id of a plan's PLAN-sequence event, so `after=<sequenceId>` can be turned into a position. */
    async planEventIdAtSequence(planId: string, sequenceId: number): Promise<string | undefined> {
      for await (const page of queryPages(ctx, {
        ...inPartition(planPk(planId), EVENT_SK_PREFIX),
        FilterExpression: 'sequenceType = :plan AND sequenceId = :seq',
        ExpressionAttributeValues: {
          ...inPartition(planPk(planId), EVENT_SK_PREFIX).ExpressionAttributeValues,
          ':plan': 'PLAN',
          ':seq': sequenceId,
        },
        ProjectionExpression: 'eventId',
      })) {
        const found = page.Items?.[0]?.eventId as string | undefined;
        if (found) return found;
      }
      return undefined;
    },
  };
}
