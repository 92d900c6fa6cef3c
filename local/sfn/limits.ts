/**
 * The Step Functions quotas the local runtime enforces, as AWS states them in
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
 * (Standard workflows) and, for the error names,
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html.
 */
import { AwsError } from '../http.ts';
import { TerminalStatesError } from './errors.ts';

/**
 * "Maximum input or output size for a task, state, or execution: 262,144 bytes of data as a UTF-8
 * encoded string" — task results, state input (after Parameters) and output, execution input.
 */
export const MAX_PAYLOAD_BYTES = 262_144;

/** "Maximum execution history size: 25,000 events. If the execution history reaches this quota, the execution will fail." */
export const MAX_HISTORY_EVENTS = 25_000;

/**
 * "Names of state machines, executions, and activity tasks must not exceed 80 characters [...] and must
 * not contain whitespace, wildcard characters (? *), bracket characters (< > { } [ ]), special characters
 * (" # % \ ^ | ~ ` $ & , ; : /) or control characters (\u0000-\u001f, \u007f-\u009f)."
 */
const FORBIDDEN_IN_NAME = /[\s?*<>{}[\]"#%\\^|~`$&,;:/]/u;
const isControl = (code: number) => code <= 0x1f || (code >= 0x7f && code <= 0x9f);

export function isValidName(name: string): boolean {
  const characters = [...name];
  return (
    characters.length >= 1 &&
    characters.length <= 80 &&
    !FORBIDDEN_IN_NAME.test(name) &&
    !characters.some((c) => isControl(c.codePointAt(0)!))
  );
}

export const payloadBytes = (json: string) => Buffer.byteLength(json, 'utf8');

/** StartExecution refuses an input over the quota before anything runs. */
export function checkExecutionInput(input: string): void {
  const bytes = payloadBytes(input);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PAYLOAD_BYTES} (was ${bytes} bytes)`,
    );
  }
}

/** The terminal error a state meets when what it produced or received is over the quota. */
export function dataLimitExceeded(what: 'input' | 'output' | 'result', stateName: string, bytes: number) {
  const noun = what === 'input' ? 'an input' : what === 'result' ? 'a result' : 'an output';
  return new TerminalStatesError(
    'States.DataLimitExceeded',
    `The state/task '${stateName}' returned ${noun} with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_PAYLOAD_BYTES}).`,
  );
}

/** Serialised size of a JSON value, or undefined when it is within the quota. */
export function oversized(value: unknown): number | undefined {
  const bytes = payloadBytes(JSON.stringify(value ?? null));
  return bytes > MAX_PAYLOAD_BYTES ? bytes : undefined;
}
