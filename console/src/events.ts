/** A plan's events: everything so far, then new ones as they happen (long-poll). */
import type { EventView } from '../../functions/api/schemas.ts';
import { api, query } from './api.ts';

const PAGE = 500;
/** The API's longest wait. */
const WAIT_SECONDS = 20;

interface EventPage {
  events: EventView[];
  last: string | null;
}

/**
 * Calls `onEvents` with every event of the plan so far (in pages), then `onCaughtUp` once, then
 * `onEvents` with each batch that arrives, until `signal` aborts. A page that rendered from a read
 * made before it started following cannot tell which of the events so far came after that read,
 * so it re-reads in `onCaughtUp`. A failed poll is retried after a pause, so a restart of the
 * server only delays the timeline.
 */
export async function followPlanEvents(
  planId: string,
  signal: AbortSignal,
  onEvents: (events: EventView[], live: boolean) => void,
  onCaughtUp: () => void,
  onError: (error: Error) => void,
): Promise<void> {
  const path = `/v1/plans/${encodeURIComponent(planId)}/events`;
  let after: string | undefined;
  let live = false;
  while (!signal.aborted) {
    try {
      const page = await api<EventPage>(
        'GET',
        path + query({ after, limit: PAGE, waitSeconds: live ? WAIT_SECONDS : 0 }),
        { signal },
      );
      if (page.events.length) onEvents(page.events, live);
      if (page.last) after = page.last;
      if (!live && page.events.length < PAGE) {
        live = true;
        onCaughtUp();
      }
    } catch (error) {
      if (signal.aborted) return;
      onError(error as Error);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}
