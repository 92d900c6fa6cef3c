import { describe, expect, it, vi } from 'vitest';
import {
  errorReply,
  IdempotencyKeyReused,
  MalformedJson,
  MethodNotAllowed,
  PayloadTooLarge,
  Unauthorized,
} from '../../../functions/api/errors.ts';
import { Conflict, IllegalTransition, NotFound, ValidationError } from '../../../functions/core/errors.ts';
import { InvalidCursor } from '../../../functions/core/store/index.ts';

describe('errorReply', () => {
  it('maps a validation error to 400 with every field', () => {
    const fields = [
      { path: 'configs[0].tenantId', message: 'required' },
      { path: 'maxConcurrency', message: 'at least 1' },
    ];

    expect(errorReply(new ValidationError(fields))).toEqual({
      status: 400,
      headers: {},
      body: {
        code: 'VALIDATION_FAILED',
        message: 'configs[0].tenantId: required; maxConcurrency: at least 1',
        details: { fields },
      },
    });
  });

  it('maps an illegal transition to 409 naming the current status', () => {
    const reply = errorReply(new IllegalTransition('TASK', 't-1', 'COMPLETED', 'resume', 'it is not paused'));

    expect(reply.status).toBe(409);
    expect(reply.body).toEqual({
      code: 'ILLEGAL_TRANSITION',
      message: 'cannot resume task t-1: it is COMPLETED (it is not paused)',
      details: { currentStatus: 'COMPLETED' },
    });
  });

  it.each([
    [new NotFound('plan', 'p'), 404, 'NOT_FOUND'],
    [new Conflict('busy'), 409, 'CONFLICT'],
    [new Unauthorized('invalid token'), 401, 'UNAUTHORIZED'],
    [new PayloadTooLarge(11, 10), 413, 'PAYLOAD_TOO_LARGE'],
    [new MalformedJson('Unexpected end of JSON input'), 400, 'MALFORMED_JSON'],
    [new IdempotencyKeyReused('reused', { planId: 'p' }), 422, 'IDEMPOTENCY_KEY_REUSED'],
    [new InvalidCursor(), 400, 'VALIDATION_FAILED'],
  ])('maps %s to %i %s', (error, status, code) => {
    const reply = errorReply(error);

    expect(reply.status).toBe(status);
    expect(reply.body.code).toBe(code);
  });

  it('names the body in a malformed-JSON error', () => {
    expect(errorReply(new MalformedJson('Unexpected token')).body.details).toEqual({
      fields: [{ path: 'body', message: 'not valid JSON (Unexpected token)' }],
    });
  });

  it('adds WWW-Authenticate to 401 and Allow to 405', () => {
    expect(errorReply(new Unauthorized('x')).headers).toEqual({ 'www-authenticate': 'Bearer' });
    expect(errorReply(new MethodNotAllowed('PUT', '/v1/plans', ['GET', 'POST'])).headers).toEqual({
      allow: 'GET, POST',
    });
  });

  it('hides anything else behind an opaque 500 and logs it', () => {
    const log = vi.fn();

    const reply = errorReply(new Error('secret table name in here'), log);

    expect(reply).toEqual({
      status: 500,
      headers: {},
      body: { code: 'INTERNAL', message: 'internal error' },
    });
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0]![0])).toContain('secret table name in here');
  });
});
