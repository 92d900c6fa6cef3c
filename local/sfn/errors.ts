/**
 * An error as a state sees it: `name` is the ASL error name Retry/Catch match
 * on, `message` the Cause (aws-local-stepfunctions reads exactly these two).
 */
export class StatesError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

export const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');
export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Rejects once the signal aborts; used to race long waits. */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason ?? new StatesError('States.Aborted', 'aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * An error no Retry or Catch matches, `States.ALL` included: AWS ends the execution on
 * `States.DataLimitExceeded` and `States.Runtime`. aws-local-stepfunctions reads these two getters.
 */
export class TerminalStatesError extends StatesError {
  get isRetryable() {
    return false;
  }
  get isCatchable() {
    return false;
  }
}
