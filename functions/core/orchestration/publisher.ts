/** The outbox publisher: event items from the table's stream go onto the EventBridge bus, at least once. */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { putEventsBatches } from '../bus-limits.ts';
import type { Deps } from '../deps.ts';
import { resource } from '../deps.ts';
import { EVENT_SK_PREFIX } from '../keys.ts';
import { EVENT_SOURCE, type RolloutEvent } from '../model.ts';
import { stripKeys } from '../store/context.ts';

export interface StreamRecord {
  eventName?: string;
  dynamodb?: { NewImage?: Record<string, unknown> };
}

/** Inserted event items, as bus entries (pure). */
export function entriesFromRecords(
  records: readonly StreamRecord[],
  eventBusName: string,
): PutEventsRequestEntry[] {
  const entries: PutEventsRequestEntry[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || !image) continue;
    const item = unmarshall(image as Record<string, AttributeValue>);
    if (typeof item.sk !== 'string' || !item.sk.startsWith(EVENT_SK_PREFIX)) continue;
    const event = stripKeys<RolloutEvent>(item);
    entries.push({
      EventBusName: eventBusName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Time: new Date(event.timestamp),
      Resources: [],
      Detail: JSON.stringify(event),
    });
  }
  return entries;
}

/**
 * Entries go in requests within PutEvents' limits (10 entries, 256 KB); entries it rejects are retried,
 * then the batch fails so it is redelivered.
 */
export async function publish(deps: Deps, records: readonly StreamRecord[]): Promise<{ published: number }> {
  let pending = entriesFromRecords(records, resource(deps, 'eventBusName'));
  let published = 0;
  for (let attempt = 1; pending.length; attempt++) {
    const failed: PutEventsRequestEntry[] = [];
    for (const batch of putEventsBatches(pending)) {
      const result = await deps.events.send(new PutEventsCommand({ Entries: batch }));
      result.Entries?.forEach((entry, j) => {
        if (entry.ErrorCode) failed.push(batch[j]!);
        else published++;
      });
    }
    if (failed.length && attempt >= 3) {
      throw new Error(`${failed.length} event(s) were not accepted by the bus after ${attempt} attempts`);
    }
    pending = failed;
  }
  return { published };
}
