/**
 * EventBridge's PutEvents limits, shared by the publisher (which batches within them) and the local
 * EventBridge (which refuses what AWS refuses).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */

/** At most 10 entries in one PutEvents request. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
/** The entries of one request must total less than 256 KB. */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

export interface SizedEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: readonly (string | undefined)[];
  Time?: unknown;
}

/** An entry's size as EventBridge counts it: Time is 14 bytes, the strings their UTF-8 length. */
export function putEventsEntrySize(entry: SizedEntry): number {
  const bytes = (s: string | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  for (const resource of entry.Resources ?? []) size += bytes(resource);
  return size;
}

/**
 * Splits entries into PutEvents requests: at most 10 each, and each under the size limit. An entry too
 * large on its own goes alone, so EventBridge answers for it rather than the batch around it.
 */
export function putEventsBatches<T extends SizedEntry>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let size = 0;
  for (const entry of entries) {
    const entrySize = putEventsEntrySize(entry);
    if (
      batch.length &&
      (batch.length === PUT_EVENTS_MAX_ENTRIES || size + entrySize >= PUT_EVENTS_MAX_BYTES)
    ) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(entry);
    size += entrySize;
  }
  if (batch.length) batches.push(batch);
  return batches;
}
