import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../functions/api/routes.ts';
import { type ApiHarness, startApiHarness } from './harness.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(async () => {
  await api?.stop();
});

/** A concrete path for a route template (the ids need not exist: auth comes first). */
const concrete = (path: string) =>
  path
    .replace('{planId}', '01ARZ3NDEKTSV4RRFFQ69G5FAV')
    .replace('{taskId}', '01ARZ3NDEKTSV4RRFFQ69G5FAV-00000')
    .replace('{tenantId}', 'some-tenant')
    .replace('{path+}', 'plans/01ARZ3NDEKTSV4RRFFQ69G5FAV');

const guarded = ROUTES.filter((r) => r.auth === 'bearer');
const open = ROUTES.filter((r) => r.auth === 'none');

describe('bearer routes', () => {
  it("guards every route except health, the OpenAPI document and the web console's static files", () => {
    expect(open.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'GET /console',
      'GET /console/{path+}',
      'GET /openapi.json',
      'GET /v1/health',
    ]);
    expect(guarded).toHaveLength(ROUTES.length - 4);
  });

  it.each(guarded.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s answers 401 without a token, with a wrong token and with a malformed header, and writes nothing',
    async (_, route) => {
      const path = concrete(route.path);
      const body = route.method === 'POST' ? {} : undefined;
      const before = await api.countItems();

      const none = await api.call(route.method, path, { token: null, body });
      const wrong = await api.call(route.method, path, { token: 'not-the-token', body });
      const malformed = await api.call(route.method, path, {
        token: null,
        body,
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
      });

      for (const reply of [none, wrong, malformed]) {
        expect(reply.status).toBe(401);
        expect(reply.body.code).toBe('UNAUTHORIZED');
        expect(reply.headers.get('www-authenticate')).toBe('Bearer');
      }
      expect(wrong.body.message).toBe('invalid token');
      expect(await api.countItems()).toBe(before);
    },
  );

  it('lets the right token through', async () => {
    const reply = await api.call('GET', '/v1/plans');

    expect(reply.status).toBe(200);
  });
});

describe('open routes', () => {
  it.each(open.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s answers without a token',
    async (_, route) => {
      const reply = await api.call(route.method, concrete(route.path), { token: null });

      expect(reply.status).toBe(200);
    },
  );
});
