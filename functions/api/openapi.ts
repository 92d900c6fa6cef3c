/** The OpenAPI 3.1 document, generated from the route table and its zod schemas. */
import { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { ROUTES, type RouteSpec } from './routes.ts';
import { errorSchema, eventSchema } from './schemas.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' });
  return rest;
}

/**
 * Error responses every route can give; 401 only where a token is required, 415 only where a body is read,
 * 411 only on POST (the edge function needs a body's size before it forwards it).
 */
const ERRORS: Record<number, string> = {
  400: 'invalid input: details.fields lists every bad field with its path',
  401: 'missing or wrong bearer token',
  404: 'unknown id or route',
  409: 'illegal operation for the current status (named in the message and details.currentStatus)',
  411: 'a POST without Content-Length (refused at the edge, before the API)',
  413: 'request body over the limit (details.limitBytes), refused at the edge or by the API',
  415: 'a body that is not application/json (UTF-8)',
  422: 'Idempotency-Key reused with a different body',
  500: 'internal error',
};

function parameters(route: RouteSpec) {
  const list: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!(schema instanceof z.ZodObject)) continue;
    for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      list.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        schema: jsonSchema(field, 'input'),
      });
    }
  }
  if (route.idempotencyKey) {
    list.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'a repeated key returns the first plan (200) instead of creating another',
      schema: { type: 'string', minLength: 1, maxLength: 128 },
    });
  }
  return list;
}

function operation(route: RouteSpec) {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const content: Record<string, unknown> = {
      [spec.contentType ?? 'application/json']: { schema: jsonSchema(spec.schema, 'output') },
    };
    if (route.streams && status === '200') {
      content['application/x-ndjson'] = {
        description: 'local server only: one event per line until the plan ends',
        schema: jsonSchema(eventSchema, 'output'),
      };
    }
    responses[status] = { description: spec.description, content };
  }
  for (const [status, description] of Object.entries(ERRORS)) {
    if (status === '401' && route.auth === 'none') continue;
    if (status === '415' && !route.body) continue;
    if (status === '411' && route.method !== 'POST') continue;
    responses[status] = {
      description,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    security: route.auth === 'bearer' ? [{ bearerAuth: [] }] : [],
    parameters: parameters(route),
    ...(route.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

let cached: JsonSchema | undefined;

export function openApiDocument(): JsonSchema {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES as readonly RouteSpec[]) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation(route);
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'tenant-rollout',
      version: packageJson.version,
      description: packageJson.description,
    },
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: jsonSchema(errorSchema, 'output') },
    },
  };
  return cached;
}
