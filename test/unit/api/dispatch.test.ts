import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { type ApiRequest, dispatch } from '../../../functions/api/dispatch.ts';
import { fromHttpApiEvent } from '../../../functions/api/http-api.ts';
import { MAX_BODY_BYTES } from '../../../functions/api/routes.ts';
import type { Deps } from '../../../functions/core/deps.ts';

/** Deps that fail on any use: a request rejected before the domain call must never touch them. */
const untouchable = new Proxy({} as Deps, {
  get: (_, name) => {
    throw new Error(`deps.${String(name)} was used`);
  },
});

const request = (over: Partial<ApiRequest>): ApiRequest => ({
  method: 'POST',
  path: '/v1/plans',
  query: {},
  headers: { authorization: 'Bearer secret', 'content-type': 'application/json' },
  ...over,
});

const send = async (over: Partial<ApiRequest>) => {
  const response = await dispatch(untouchable, request(over), { token: 'secret', log: () => {} });
  return { status: response.status, body: JSON.parse(response.body ?? 'null') };
};

describe('dispatch rejects bad requests before any domain call', () => {
  it('checks the token before reading the body', async () => {
    const reply = await send({ headers: {}, body: '{not json' });

    expect(reply.status).toBe(401);
  });

  it('refuses malformed JSON naming the body', async () => {
    const reply = await send({ body: '{"configs": [' });

    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('MALFORMED_JSON');
    expect(reply.body.details.fields[0].path).toBe('body');
  });

  it('refuses a body over the limit with 413 naming its size and the limit', async () => {
    const reply = await send({ body: 'x'.repeat(MAX_BODY_BYTES + 1) });

    expect(reply.status).toBe(413);
    expect(reply.body.message).toBe(
      `request body is ${MAX_BODY_BYTES + 1} bytes; the limit is ${MAX_BODY_BYTES} bytes`,
    );
  });

  it('refuses a malformed body on approve, which takes no options, before reading the plan', async () => {
    const path = '/v1/plans/01ARZ3NDEKTSV4RRFFQ69G5FAV/approve';
    const notJson = await send({ path, body: '{"x' });
    const option = await send({ path, body: '{"force":true}' });

    expect(notJson.status).toBe(400);
    expect(option.status).toBe(400);
    expect(option.body.details.fields).toEqual([{ path: 'force', message: 'unknown field (force)' }]);
  });

  it('lists bad path and query fields together', async () => {
    const reply = await send({
      method: 'GET',
      path: `/v1/plans/${'p'.repeat(200)}/events`,
      query: { waitSeconds: '99', bogus: '1' },
    });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields).toEqual([
      { path: 'path.planId', message: 'at most 128 characters' },
      { path: 'query.waitSeconds', message: 'at most 20' },
      { path: 'query.bogus', message: 'unknown field (bogus)' },
    ]);
  });

  it('refuses an option an operation does not take', async () => {
    const reply = await send({ path: '/v1/plans/p/retry', body: '{"fromCheckpoint":"yes"}' });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields).toEqual([
      { path: 'fromCheckpoint', message: 'must be a boolean, got string' },
    ]);
  });

  it('validates a plan request fully before anything is stored', async () => {
    const reply = await send({ body: JSON.stringify({ configs: [{ tenantId: '-bad' }] }) });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields.map((f: { path: string }) => f.path).sort()).toEqual([
      'configs[0].deployUnitVersion',
      'configs[0].tenantId',
    ]);
  });
});

describe('dispatch refuses input it would otherwise store mangled', () => {
  const plan = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ configs: [{ tenantId: 'acme', deployUnitVersion: '2' }], ...over });

  it.each([
    ['text/plain', 'Content-Type must be application/json (UTF-8), got "text/plain"'],
    [
      'application/x-www-form-urlencoded',
      'Content-Type must be application/json (UTF-8), got "application/x-www-form-urlencoded"',
    ],
    [
      'application/json; charset=latin1',
      'Content-Type must be application/json (UTF-8), got "application/json; charset=latin1"',
    ],
  ])('refuses a body sent as %s with 415', async (contentType, message) => {
    const reply = await send({
      headers: { authorization: 'Bearer secret', 'content-type': contentType },
      body: plan(),
    });

    expect(reply.status).toBe(415);
    expect(reply.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message });
  });

  it('refuses a body without a content type with 415', async () => {
    const reply = await send({ headers: { authorization: 'Bearer secret' }, body: plan() });

    expect(reply.status).toBe(415);
    expect(reply.body.details.fields).toEqual([
      { path: 'headers.Content-Type', message: 'must be application/json, got none' },
    ]);
  });

  it('reads a +json type and a UTF-8 charset as JSON', async () => {
    for (const contentType of ['application/merge-patch+json', 'Application/JSON; charset="UTF-8"']) {
      const reply = await send({
        headers: { authorization: 'Bearer secret', 'content-type': contentType },
        body: plan({ maxConcurrency: 0 }),
      });

      expect(reply.body.details.fields).toEqual([{ path: 'maxConcurrency', message: 'at least 1' }]);
    }
  });

  it('refuses bytes that are not UTF-8 instead of replacing them', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);

    const reply = await send({ body: bytes });

    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      code: 'MALFORMED_JSON',
      message: 'request body is not valid JSON: not valid UTF-8',
    });
  });

  it('refuses an overlong UTF-8 encoding of "/" and a UTF-8-encoded surrogate', async () => {
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
    ]) {
      const reply = await send({
        body: Buffer.concat([Buffer.from('{"name":"'), Buffer.from(bad), Buffer.from('"}')]),
      });

      expect(reply.status).toBe(400);
    }
  });

  it('refuses a NUL, an escape sequence or a lone surrogate in any text field, naming it', async () => {
    const reply = await send({
      body: plan({ name: 'a\u0000b' }).replace(
        '"deployUnitVersion":"2"',
        String.raw`"deployUnitVersion":"2","deployUnitName":"\u001b[2J","trunkGroup":"\ud800"`,
      ),
    });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields).toEqual([
      {
        path: 'configs[0].deployUnitName',
        message: 'must not contain control characters (U+001B at position 0)',
      },
      { path: 'configs[0].trunkGroup', message: 'must not contain a lone surrogate (U+D800 at position 0)' },
      { path: 'name', message: 'must not contain control characters (U+0000 at position 1)' },
    ]);
  });

  it('refuses control characters in path and query values too', async () => {
    const reply = await send({ method: 'GET', path: '/v1/engines', query: { tenantId: 'acme\u0000' } });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields).toEqual([
      { path: 'query.tenantId', message: 'must not contain control characters (U+0000 at position 4)' },
    ]);
  });

  it('says a number is not finite rather than "must be a number, got number"', async () => {
    const reply = await send({ body: plan().replace('{', '{"maxConcurrency":1e999,') });

    expect(reply.status).toBe(400);
    expect(reply.body.details.fields).toEqual([
      { path: 'maxConcurrency', message: 'must be a finite number' },
    ]);
  });

  it('applies the same checks to a base64 body from API Gateway', async () => {
    const event = {
      version: '2.0',
      rawPath: '/v1/plans',
      headers: { authorization: 'Bearer secret', 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'),
      isBase64Encoded: true,
      requestContext: { stage: '$default', http: { method: 'POST' } },
    } as unknown as APIGatewayProxyEventV2;

    const response = await dispatch(untouchable, fromHttpApiEvent(event), { token: 'secret', log: () => {} });

    expect(response.status).toBe(400);
    expect(JSON.parse(response.body ?? '{}').message).toBe('request body is not valid JSON: not valid UTF-8');
  });
});
