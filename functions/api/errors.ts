/**
 * HTTP-level errors and the one mapping from any thrown error to `{code, message, details?}`.
 * As middy's http-error-handler does: errors below 500 show their message, anything else is
 * an opaque 500 (and is logged).
 */
import { DomainError } from '../core/errors.ts';
import { logger } from '../core/observability.ts';
import { InvalidCursor } from '../core/store/index.ts';

export class Unauthorized extends DomainError {
  constructor(message: string) {
    super(401, 'UNAUTHORIZED', message);
  }
}

export class PayloadTooLarge extends DomainError {
  constructor(sizeBytes: number, limitBytes: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `request body is ${sizeBytes} bytes; the limit is ${limitBytes} bytes`, {
      limitBytes,
      sizeBytes,
    });
  }
}

export class MalformedJson extends DomainError {
  constructor(reason: string) {
    super(400, 'MALFORMED_JSON', `request body is not valid JSON: ${reason}`, {
      fields: [{ path: 'body', message: `not valid JSON (${reason})` }],
    });
  }
}

/** Bodies are JSON only (RFC 8259, which also makes UTF-8 the only encoding); anything else is 415. */
export class UnsupportedMediaType extends DomainError {
  constructor(received: string | undefined) {
    const got = received ? `"${received.slice(0, 100)}"` : 'none';
    super(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json (UTF-8), got ${got}`, {
      fields: [{ path: 'headers.Content-Type', message: `must be application/json, got ${got}` }],
    });
  }
}

export class RouteNotFound extends DomainError {
  constructor(method: string, path: string) {
    super(404, 'ROUTE_NOT_FOUND', `no route for ${method} ${path}`);
  }
}

export class MethodNotAllowed extends DomainError {
  readonly allowed: string[];
  constructor(method: string, path: string, allowed: string[]) {
    super(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, {
      allowed,
    });
    this.allowed = allowed;
  }
}

/** A repeated Idempotency-Key with a different body (draft-ietf-httpapi-idempotency-key-header: 422). */
export class IdempotencyKeyReused extends DomainError {
  constructor(message: string, details: unknown) {
    super(422, 'IDEMPOTENCY_KEY_REUSED', message, details);
  }
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

/** `log` receives unexpected errors; by default they go to the function's structured log. */
export function errorReply(error: unknown, log?: (line: string) => void): ErrorReply {
  if (error instanceof InvalidCursor) {
    return {
      status: 400,
      headers: {},
      body: {
        code: 'VALIDATION_FAILED',
        message: `cursor: ${error.message}`,
        details: { fields: [{ path: 'cursor', message: error.message }] },
      },
    };
  }
  if (error instanceof DomainError && error.statusCode < 500) {
    const headers: Record<string, string> = {};
    if (error instanceof Unauthorized) headers['www-authenticate'] = 'Bearer';
    if (error instanceof MethodNotAllowed) headers.allow = error.allowed.join(', ');
    return {
      status: error.statusCode,
      headers,
      body: {
        code: error.code,
        message: error.message,
        ...(error.details === undefined ? {} : { details: error.details }),
      },
    };
  }
  if (log)
    log(
      JSON.stringify({ level: 'error', msg: 'unhandled API error', error: (error as Error)?.stack ?? error }),
    );
  else logger.error({ message: 'unhandled API error', error });
  return { status: 500, headers: {}, body: { code: 'INTERNAL', message: 'internal error' } };
}
