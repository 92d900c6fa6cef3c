import { describe, expect, it } from 'vitest';
import { MethodNotAllowed, RouteNotFound } from '../../../functions/api/errors.ts';
import { routeMatcher } from '../../../functions/api/match.ts';
import { ROUTES, type RouteSpec } from '../../../functions/api/routes.ts';

const match = routeMatcher(ROUTES as readonly RouteSpec[]);

describe('the route table', () => {
  it('declares each method and path once, and each operationId once', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    const ids = ROUTES.map((r) => r.operationId);

    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has a params schema naming exactly the placeholders of each path', () => {
    for (const route of ROUTES as readonly RouteSpec[]) {
      const placeholders = [...route.path.matchAll(/\{(\w+)\+?\}/g)].map((m) => m[1]);
      const declared = route.params ? Object.keys((route.params as unknown as { shape: object }).shape) : [];
      expect(declared, route.path).toEqual(placeholders);
    }
  });

  it('covers every route of the design, with the five operations on plans, tasks and tenants, and approve on plans', () => {
    const ops = ['pause', 'resume', 'cancel', 'rollback', 'retry'];
    const expected = [
      'GET /v1/health',
      'GET /openapi.json',
      'POST /v1/plans',
      'GET /v1/plans',
      'GET /v1/plans/{planId}',
      'DELETE /v1/plans/{planId}',
      'GET /v1/plans/{planId}/tasks',
      'GET /v1/plans/{planId}/events',
      'POST /v1/plans/{planId}/approve',
      'GET /v1/tasks/{taskId}',
      'GET /v1/tasks/{taskId}/execution',
      'GET /v1/tenants/{tenantId}/task',
      'GET /v1/engines',
      'GET /console',
      'GET /console/{path+}',
      ...ops.map((op) => `POST /v1/plans/{planId}/${op}`),
      ...ops.map((op) => `POST /v1/tasks/{taskId}/${op}`),
      ...ops.map((op) => `POST /v1/tenants/{tenantId}/${op}`),
    ];

    expect(ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(expected.sort());
  });
});

describe('routeMatcher', () => {
  it('finds the route and decodes its parameters', () => {
    const found = match('POST', '/v1/tenants/acme%2Dcorp/retry');

    expect(found.route.operationId).toBe('retryTenant');
    expect(found.params).toEqual({ tenantId: 'acme-corp' });
  });

  it('prefers the literal route over a parameter of the same shape', () => {
    expect(match('GET', '/v1/plans').route.operationId).toBe('listPlans');
    expect(match('GET', '/v1/plans/01ARZ3NDEKTSV4RRFFQ69G5FAV/tasks').route.operationId).toBe(
      'listPlanTasks',
    );
  });

  it('tolerates a trailing slash and a lower-case method', () => {
    expect(match('get', '/v1/engines/').route.operationId).toBe('listEngines');
  });

  it('answers an unknown path with RouteNotFound and a known path with another method with MethodNotAllowed', () => {
    expect(() => match('GET', '/v2/plans')).toThrow(RouteNotFound);
    expect(() => match('GET', '/v1/plans/p/nope')).toThrow(RouteNotFound);
    try {
      match('PUT', '/v1/plans/p');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MethodNotAllowed);
      expect((error as MethodNotAllowed).allowed.sort()).toEqual(['DELETE', 'GET']);
    }
  });

  it('does not let a parameter span segments', () => {
    expect(() => match('GET', '/v1/tasks/a/b')).toThrow(RouteNotFound);
  });
});
