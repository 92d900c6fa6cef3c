import { describe, expect, it } from 'vitest';
import { type ApiRequest, dispatch } from '../../../functions/api/dispatch.ts';
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
  headers: { authorization: 'Bearer secret' },
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

  it('refuses a body over the limit with 413', async () => {
    const reply = await send({ body: 'x'.repeat(MAX_BODY_BYTES + 1) });

    expect(reply.status).toBe(413);
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
