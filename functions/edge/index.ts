/**
 * The edge function's source as CloudFront runs it: functions/edge/body-limit.js with the API's body
 * limit written in. CDK deploys this text and the local API server runs it, so both enforce the one
 * limit declared in functions/api/routes.ts.
 */
import { readFileSync } from 'node:fs';
import { MAX_BODY_BYTES } from '../api/routes.ts';

export const BODY_LIMIT_FUNCTION_FILE = new URL('./body-limit.js', import.meta.url);
const LIMIT_PLACEHOLDER = '__MAX_BODY_BYTES__';

export function bodyLimitFunctionCode(limitBytes: number = MAX_BODY_BYTES): string {
  const source = readFileSync(BODY_LIMIT_FUNCTION_FILE, 'utf8');
  if (!source.includes(LIMIT_PLACEHOLDER)) {
    throw new Error(`${BODY_LIMIT_FUNCTION_FILE.pathname} no longer has ${LIMIT_PLACEHOLDER}`);
  }
  if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
    throw new Error(`the body limit must be a byte count, got ${limitBytes}`);
  }
  return source.replaceAll(LIMIT_PLACEHOLDER, String(limitBytes));
}
