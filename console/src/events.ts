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
 * Calls `onEvents` with every event of the plan so far (in pages), then with each batch that
 * arrives, until `signal` aborts. A failed poll is retried after a pause, so a restart of the server
 * only delays the timeline.
 */
export async function followPlanEvents(
  planId: string,
  signal: AbortSignal,
  onEvents: (events: EventView[], live: boolean) => void,
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
      if (page.events.length < PAGE) live = true;
    } catch (error) {
      if (signal.aborted) return;
      onError(error as Error);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
}
