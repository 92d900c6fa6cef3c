/**
 * What an execution's history says about each state (pure): how often it was entered, with which
 * input and output, whether it is running now or its last visit failed.
 */
export interface HistoryEvent {
  id: number;
  type: string;
  timestamp: string;
  stateEnteredEventDetails?: { name: string; input?: string };
  stateExitedEventDetails?: { name: string; output?: string };
  [details: string]: unknown;
}

export interface Visit {
  enteredAt: string;
  exitedAt?: string;
  input?: string;
  output?: string;
  /** The failure that ended this visit (caught or not); a failed attempt that was retried is in `retries`. */
  error?: { error: string; cause: string };
  retries: { error: string; cause: string; at: string }[];
}

export type StateMark = 'not-visited' | 'visited' | 'current' | 'failed';

export interface StateRun {
  name: string;
  visits: Visit[];
  mark: StateMark;
}

const FAILURE = /(Failed|TimedOut)$/;
/** A new attempt of the same Task state after a failed one: Step Functions' Retry. */
const ATTEMPT = /^(TaskScheduled|LambdaFunctionScheduled|ActivityScheduled)$/;

function failureOf(event: HistoryEvent): { error: string; cause: string } {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object') {
      const details = value as { error?: string; cause?: string };
      if (details.error !== undefined || details.cause !== undefined) {
        return { error: details.error ?? event.type, cause: details.cause ?? '' };
      }
    }
  }
  return { error: event.type, cause: '' };
}

export function stateRuns(
  stateNames: readonly string[],
  events: readonly HistoryEvent[],
  executionStatus: string,
): Map<string, StateRun> {
  const runs = new Map<string, StateRun>(
    stateNames.map((name) => [name, { name, visits: [], mark: 'not-visited' as StateMark }]),
  );
  const runOf = (name: string) => {
    let run = runs.get(name);
    if (!run) {
      run = { name, visits: [], mark: 'not-visited' };
      runs.set(name, run);
    }
    return run;
  };
  let open: Visit | undefined;
  let openName: string | undefined;
  for (const event of events) {
    const entered = event.stateEnteredEventDetails;
    const exited = event.stateExitedEventDetails;
    if (event.type.endsWith('StateEntered') && entered) {
      open = { enteredAt: event.timestamp, input: entered.input, retries: [] };
      openName = entered.name;
      runOf(entered.name).visits.push(open);
    } else if (event.type.endsWith('StateExited') && exited) {
      const visit = runOf(exited.name).visits.at(-1);
      if (visit) {
        visit.exitedAt = event.timestamp;
        visit.output = exited.output;
      }
      if (openName === exited.name) open = undefined;
    } else if (open && ATTEMPT.test(event.type) && open.error) {
      open.retries.push({ ...open.error, at: event.timestamp });
      open.error = undefined;
    } else if (open && FAILURE.test(event.type) && !event.type.startsWith('Execution')) {
      open.error = failureOf(event);
    }
  }
  const running = executionStatus === 'RUNNING';
  for (const run of runs.values()) {
    const last = run.visits.at(-1);
    if (!last) continue;
    if (last.error) run.mark = 'failed';
    else if (running && last === open) run.mark = 'current';
    else run.mark = 'visited';
  }
  // A failed execution names no state when the failure was not caught: the state it was in failed.
  if (!running && executionStatus !== 'SUCCEEDED' && open && openName) {
    runOf(openName).mark = 'failed';
  }
  return runs;
}
