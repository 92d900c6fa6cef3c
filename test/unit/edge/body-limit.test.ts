import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../../functions/api/routes.ts';
import { errorSchema } from '../../../functions/api/schemas.ts';
import { BODY_LIMIT_FUNCTION_FILE, bodyLimitFunctionCode } from '../../../functions/edge/index.ts';

type Handler = (event: unknown) => Record<string, unknown>;

const handler = runInNewContext(`${bodyLimitFunctionCode()}\nhandler;`, {}) as Handler;

/** A viewer-request event as CloudFront Functions passes it: lowercase header names, `{ value }` entries. */
function event(method: string, headers: Record<string, string> = {}) {
  const entries = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { value }]));
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'EDFDVBD6EXAMPLE', requestId: 'r-1' },
    viewer: { ip: '203.0.113.178' },
    request: { method, uri: '/v1/plans', querystring: {}, headers: entries, cookies: {} },
  };
}

function answer(result: Record<string, unknown>) {
  const body = result.body as { encoding: string; data: string };
  expect(body.encoding).toBe('text');
  return {
    status: result.statusCode,
    contentType: (result.headers as Record<string, { value: string }>)['content-type']?.value,
    error: errorSchema.parse(JSON.parse(body.data)),
  };
}

describe('the edge body gate (functions/edge/body-limit.js)', () => {
  it('is deployed and run with the API body limit written in', () => {
    const source = readFileSync(BODY_LIMIT_FUNCTION_FILE, 'utf8');

    expect(source).toContain('__MAX_BODY_BYTES__');
    expect(bodyLimitFunctionCode()).toContain(`var MAX_BODY_BYTES = ${MAX_BODY_BYTES};`);
    expect(bodyLimitFunctionCode()).not.toContain('__MAX_BODY_BYTES__');
  });

  it('passes the request on untouched when the declared body is within the limit', () => {
    const atLimit = event('POST', { 'content-length': String(MAX_BODY_BYTES) });
    const empty = event('POST', { 'content-length': '0' });
    const get = event('GET');

    expect(handler(atLimit)).toBe(atLimit.request);
    expect(handler(empty)).toBe(empty.request);
    expect(handler(get)).toBe(get.request);
  });

  it('answers 413 in the API error shape, naming the size and the limit, for a body one byte over', () => {
    const reply = answer(handler(event('POST', { 'content-length': String(MAX_BODY_BYTES + 1) })));

    expect(reply).toEqual({
      status: 413,
      contentType: 'application/json; charset=utf-8',
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: `request body is ${MAX_BODY_BYTES + 1} bytes; the limit is ${MAX_BODY_BYTES} bytes`,
        details: { limitBytes: MAX_BODY_BYTES, sizeBytes: MAX_BODY_BYTES + 1 },
      },
    });
  });

  it('answers 411 naming Content-Length when a body of unknown size would pass', () => {
    const post = answer(handler(event('POST')));
    const chunkedDelete = answer(handler(event('DELETE', { 'transfer-encoding': 'chunked' })));
    const notANumber = answer(handler(event('PUT', { 'content-length': '12abc' })));

    for (const reply of [post, chunkedDelete, notANumber]) {
      expect(reply.status).toBe(411);
      expect(reply.error.code).toBe('LENGTH_REQUIRED');
      expect(reply.error.details).toMatchObject({
        limitBytes: MAX_BODY_BYTES,
        fields: [{ path: 'headers.Content-Length' }],
      });
    }
    expect(post.error.message).toContain('POST needs a Content-Length header');
  });
});
