import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../functions/api/openapi.ts';
import { ROUTES, type RouteSpec } from '../../../functions/api/routes.ts';

interface Operation {
  operationId: string;
  security: unknown[];
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content: Record<string, unknown> }>;
}

const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, Operation>> };
const operation = (route: RouteSpec) => doc.paths[route.path]?.[route.method.toLowerCase()];

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with one operation per route of the table', () => {
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));

    expect(doc.openapi).toBe('3.1.0');
    expect(operations).toHaveLength(ROUTES.length);
    for (const route of ROUTES as readonly RouteSpec[])
      expect(operation(route)?.operationId).toBe(route.operationId);
  });

  it('requires the bearer scheme exactly on bearer routes, and documents 401 only there', () => {
    for (const route of ROUTES as readonly RouteSpec[]) {
      const op = operation(route)!;
      expect(op.security, route.path).toEqual(route.auth === 'bearer' ? [{ bearerAuth: [] }] : []);
      expect('401' in op.responses, route.path).toBe(route.auth === 'bearer');
    }
  });

  it('documents every path parameter as required and the plan body from the same zod schema', () => {
    const getPlan = doc.paths['/v1/plans/{planId}']!.get!;
    const create = doc.paths['/v1/plans']!.post!;
    const body = create.requestBody!.content['application/json']!.schema as {
      required: string[];
      properties: Record<string, { type?: string; minItems?: number; maxItems?: number }>;
    };

    expect(getPlan.parameters).toEqual([
      expect.objectContaining({ name: 'planId', in: 'path', required: true }),
    ]);
    expect(create.requestBody!.required).toBe(true);
    expect(body.required).toEqual(['configs']);
    expect(body.properties.configs).toMatchObject({ type: 'array', minItems: 1, maxItems: 10_000 });
    expect(create.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['header:Idempotency-Key']);
  });

  it('documents query parameters as optional and the NDJSON alternative of the events route', () => {
    const events = doc.paths['/v1/plans/{planId}/events']!.get!;

    expect(events.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.required])).toEqual([
      ['after', false],
      ['waitSeconds', false],
      ['limit', false],
    ]);
    expect(Object.keys(events.responses['200']!.content).sort()).toEqual([
      'application/json',
      'application/x-ndjson',
    ]);
  });
});
