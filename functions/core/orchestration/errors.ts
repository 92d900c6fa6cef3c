/** Errors the state machines branch on by name (Retry / Catch `ErrorEquals`). */
import type { FailureInfo } from '../model.ts';
import type { StateError } from '../steps.ts';

/** Thrown while another task holds the tenant; the task machine retries it. */
export class TenantLocked extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantLocked';
  }
}

/** The task lost its execution and waits out its recovery backoff; the task machine retries it. */
export class RecoveryBackoff extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoveryBackoff';
  }
}

/** A stage step failed; the failure is already recorded on the task. */
export class StageFailed extends Error {
  readonly failureInfo: FailureInfo;
  constructor(failureInfo: FailureInfo) {
    super(failureInfo.message);
    this.name = 'StageFailed';
    this.failureInfo = failureInfo;
  }
}

const STATE_ERROR_TYPES: Record<string, FailureInfo['type']> = {
  'States.Timeout': 'TIMEOUT',
  TenantLocked: 'LOCK',
  RecoveryBackoff: 'EXECUTION_LOST',
};

/** The `{Error, Cause}` a Catch hands over, turned into a failure description. */
export function failureFromStateError(error: StateError | undefined, stage?: string): FailureInfo {
  const name = error?.Error ?? 'States.Runtime';
  let message = error?.Cause ?? name;
  try {
    const cause = JSON.parse(error?.Cause ?? '') as Record<string, unknown>;
    if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
    else if (typeof cause.stoppedReason === 'string') message = cause.stoppedReason;
  } catch {
    // Cause is plain text
  }
  const type = STATE_ERROR_TYPES[name] ?? 'INTERNAL';
  return { type, message: `${name}: ${message}`, ...(stage ? { stage } : {}) };
}
