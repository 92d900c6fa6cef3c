/**
 * The API in one function: route → auth → size → JSON → validation → handler → reply.
 * The Lambda handler and the local server both translate their requests into an
 * ApiRequest and send the ApiResponse back, so they cannot drift apart.
 */
import type { z } from 'zod';
import type { Deps } from '../core/deps.ts';
import { type FieldError, ValidationError } from '../core/errors.ts';
import { formatPath, toFieldErrors } from '../core/schemas.ts';
import { textIssues } from '../core/text.ts';
import { authorize } from './auth.ts';
import { errorReply, MalformedJson, PayloadTooLarge, UnsupportedMediaType } from './errors.ts';
import { HANDLERS, type HandlerContext, type Reply } from './handlers.ts';
import { routeMatcher } from './match.ts';
import { MAX_BODY_BYTES, ROUTES, type RouteSpec } from './routes.ts';
import { idempotencyKeySchema } from './schemas.ts';

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  /** Lower-cased names. */
  headers: Record<string, string | undefined>;
  /** Raw bytes are decoded here, as strict UTF-8. */
  body?: string | Uint8Array;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
  /** Lines of a streamed (NDJSON) response, only when the caller allowed streaming. */
  stream?: AsyncIterable<string>;
}

export interface DispatchOptions {
  /** The bearer token `bearer` routes require; undefined: not checked here (an authorizer did). */
  token?: string;
  streaming?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const match = routeMatcher(ROUTES as readonly RouteSpec[]);

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { 'content-type': JSON_TYPE, ...headers },
  body: JSON.stringify(body),
});

const fieldPath = (prefix: string, path: string) =>
  [prefix, path].filter(Boolean).join(prefix && path ? '.' : '');

/** Validates one part of the request, collecting its field errors under `prefix`. */
function validate<S extends z.ZodType>(
  schema: S | undefined,
  value: unknown,
  prefix: string,
  errors: FieldError[],
): z.output<S> | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  for (const field of toFieldErrors(result.error))
    errors.push({ ...field, path: fieldPath(prefix, field.path) });
  return undefined;
}

/** `application/json` or a `+json` type, in UTF-8 when a charset is named at all. */
function isJson(contentType: string | undefined): boolean {
  const [essence, ...parameters] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  if (!essence || !/^application\/([\w.-]+\+)?json$/.test(essence)) return false;
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  return charset === undefined || ['utf-8', 'utf8', '"utf-8"'].includes(charset);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text: within the size limit, declared as JSON, and valid UTF-8 (never silently repaired). */
function bodyText(route: RouteSpec, request: ApiRequest): string | undefined {
  const raw = request.body;
  if (raw === undefined) return undefined;
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > MAX_BODY_BYTES) throw new PayloadTooLarge(size, MAX_BODY_BYTES);
  if (!route.body || size === 0) return undefined;
  const contentType = request.headers['content-type'];
  if (!isJson(contentType)) throw new UnsupportedMediaType(contentType);
  if (typeof raw === 'string') return raw;
  try {
    return utf8.decode(raw);
  } catch {
    throw new MalformedJson('not valid UTF-8');
  }
}

function readBody(route: RouteSpec, raw: string | undefined): unknown {
  if (!route.body) return undefined;
  if (raw === undefined || raw.trim() === '') {
    if (route.bodyOptional) return {};
    throw new ValidationError([{ path: 'body', message: 'required (a JSON object)' }]);
  }
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new MalformedJson((error as Error).message);
  }
}

/** Control characters and lone surrogates anywhere in the request's text, before any schema runs. */
function rejectUnsafeText(parts: [prefix: string, value: unknown][]): void {
  const errors = parts.flatMap(([prefix, value]) =>
    textIssues(value).map((issue) => ({
      path: fieldPath(prefix, formatPath(issue.path)),
      message: issue.message,
    })),
  );
  if (errors.length) throw new ValidationError(errors);
}

async function handle(deps: Deps, request: ApiRequest, options: DispatchOptions): Promise<Reply> {
  const { route, params } = match(request.method, request.path);
  authorize(route.auth, request.headers.authorization, options.token);
  const body = readBody(route, bodyText(route, request));
  rejectUnsafeText([
    ['path', params],
    ['query', route.query ? request.query : {}],
    ['', body],
  ]);

  const errors: FieldError[] = [];
  const input = {
    params: validate(route.params, params, 'path', errors),
    query: validate(route.query, route.query ? request.query : {}, 'query', errors),
    body: validate(route.body, body, '', errors),
  };
  const idempotencyKey = request.headers['idempotency-key'];
  if (route.idempotencyKey && idempotencyKey !== undefined) {
    validate(idempotencyKeySchema, idempotencyKey, 'headers.Idempotency-Key', errors);
  }
  if (errors.length) throw new ValidationError(errors);

  const ctx: HandlerContext<RouteSpec> = {
    deps,
    ...input,
    headers: request.headers,
    streaming: options.streaming ?? false,
    signal: options.signal ?? new AbortController().signal,
  } as HandlerContext<RouteSpec>;
  const handler = HANDLERS[route.operationId as keyof typeof HANDLERS] as (
    ctx: HandlerContext<RouteSpec>,
  ) => Promise<Reply>;
  return handler(ctx);
}

async function* ndjson(items: AsyncIterable<unknown>) {
  for await (const item of items) yield `${JSON.stringify(item)}\n`;
}

export async function dispatch(
  deps: Deps,
  request: ApiRequest,
  options: DispatchOptions = {},
): Promise<ApiResponse> {
  try {
    const reply = await handle(deps, request, options);
    if ('stream' in reply) {
      return {
        status: reply.status,
        headers: { 'content-type': reply.contentType, 'cache-control': 'no-cache' },
        stream: ndjson(reply.stream),
      };
    }
    if ('text' in reply) {
      return {
        status: reply.status,
        headers: { 'content-type': reply.contentType, ...reply.headers },
        body: reply.text,
      };
    }
    return json(reply.status, reply.body, reply.headers);
  } catch (error) {
    const reply = errorReply(error, options.log);
    return json(reply.status, reply.body, reply.headers);
  }
}
