/**
 * The malformed-request storm: N requests on every write route of the route table, each wrong in
 * one way (not JSON, not UTF-8, not a JSON content type, control characters, lone surrogates,
 * non-finite numbers, wrong types, unknown fields, bad ids, bad query, no token, oversized), aimed
 * at real plans, tasks and tenants. Every answer must be a 4xx, and a scan of the whole table before
 * and after must find nothing added, removed or changed.
 */
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { MAX_BODY_BYTES, ROUTES, type RouteSpec } from '../functions/api/routes.ts';
import { RESOURCE_PREFIX } from '../local/arns.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/aws-env.ts';
import type { RawRequest } from './client.ts';
import type { ChaosContext, RuntimeUnderTest } from './context.ts';
import { tenantConfig } from './crash.ts';

export interface StormTargets {
  planId: string;
  taskId: string;
  tenantId: string;
}

export interface StormFigures {
  routes: number;
  requests: number;
  byRoute: Record<string, { requests: number; status4xx: number; status5xx: number; other: number }>;
  byKind: Record<string, number>;
  statuses: Record<string, number>;
  status5xx: number;
  /** Requests that got no answer at all (the connection failed or timed out). */
  unanswered: number;
  /** Answers below 400: a malformed request that was accepted. */
  accepted: number;
  /** 409 or 422: a malformed request that got past validation to the domain. */
  reachedDomain: number;
  examples: string[];
  itemsBefore: number;
  itemsAdded: number;
  itemsRemoved: number;
  itemsChanged: number;
  durationSeconds: number;
}

/**
 * Per route: one body a byte over the API's limit (refused at the edge), one of 7 MiB (over Lambda's
 * 6 MB event too, API Gateway's 500 without the edge).
 */
const OVERSIZED_BYTES = [MAX_BODY_BYTES + 1, 7 * 1024 * 1024];
const IN_FLIGHT = 16;

type Maker = (ctx: ChaosContext, route: RouteSpec, targets: StormTargets) => RawRequest;

const pick = <T>(ctx: ChaosContext, items: readonly T[]): T =>
  items[Math.floor(ctx.random() * items.length)]!;

function pathOf(route: RouteSpec, targets: StormTargets, override?: string): string {
  return route.path.replace(
    /\{(\w+)\}/g,
    (_, name: string) => override ?? encodeURIComponent(targets[name as keyof StormTargets]),
  );
}

const json = 'application/json';

/** A body the route would accept, as the starting point of each mutation. */
function validBody(ctx: ChaosContext, route: RouteSpec): Record<string, unknown> {
  if (route.operationId === 'createPlan') {
    return {
      name: 'storm',
      configs: [tenantConfig(ctx, `storm-${Math.floor(ctx.random() * 1e9)}`, '9', ['app'])],
    };
  }
  return route.operationId.startsWith('retry') ? { fromCheckpoint: true } : {};
}

/** `body` as JSON text with `key` set to `raw` (JSON text as is, so it may be invalid): a key is never sent twice. */
function withRaw(body: Record<string, unknown>, key: string, raw: string): string {
  const { [key]: _, ...rest } = body;
  const text = JSON.stringify(rest);
  return text === '{}'
    ? `{${JSON.stringify(key)}:${raw}}`
    : `{${JSON.stringify(key)}:${raw},${text.slice(1)}`;
}

/** JSON text cut short: never parseable, whatever the length. */
function truncated(ctx: ChaosContext, text: string): string {
  const cut = text.slice(0, 1 + Math.floor(ctx.random() * (text.length - 1)));
  try {
    JSON.parse(cut);
    return `${cut},`;
  } catch {
    return cut;
  }
}

/** Mutations of a body the route would accept: each makes it malformed in one way. */
const BODY_KINDS: Record<string, (ctx: ChaosContext, body: Record<string, unknown>) => string | Uint8Array> =
  {
    'not JSON': (ctx, body) => truncated(ctx, JSON.stringify(body)),
    'not UTF-8': (ctx, body) => {
      const text = withRaw(body, 'name', '"x"');
      const at = text.indexOf('"x"') + 1;
      const bad = pick(ctx, [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80]]);
      return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bad), Buffer.from(text.slice(at))]);
    },
    'not an object': (ctx) => pick(ctx, ['null', '[]', '42', '"plan"', 'true', '[{"configs":[]}]']),
    'unknown field': (ctx, body) => withRaw(body, pick(ctx, ['bogus', 'planId', '__proto__x', 'Name']), '1'),
    'control character': (ctx, body) =>
      withRaw(
        body,
        'name',
        JSON.stringify(`a${pick(ctx, ['\u0000', '\u0007', '\u001b[2J', '\u007f', '\u0085'])}b`),
      ),
    'control character in a field name': (ctx, body) =>
      withRaw(body, `k${pick(ctx, ['\u0000', '\u0008'])}`, 'true'),
    'lone surrogate': (ctx, body) =>
      withRaw(body, 'name', `"${pick(ctx, ['\\ud800', '\\udfff', 'x\\ud83d'])}"`),
    'non-finite number': (ctx, body) =>
      withRaw(
        body,
        pick(ctx, ['maxConcurrency', 'fromCheckpoint', 'provisionTimeoutSeconds']),
        pick(ctx, ['1e999', '-1e999']),
      ),
    'wrong type': (ctx, body) => {
      const [key, raw] = pick(ctx, [
        ['fromCheckpoint', '"yes"'],
        ['configs', '"all"'],
        ['maxConcurrency', '"5"'],
        ['dryRun', '1'],
      ] as const);
      return withRaw(body, key, raw);
    },
  };

const PLAN_KINDS: Record<string, (ctx: ChaosContext, body: Record<string, unknown>) => unknown> = {
  'bad tenant': (ctx, body) => ({
    ...body,
    configs: [{ ...(body.configs as object[])[0], tenantId: pick(ctx, ['-x', '', 'a b', 'x'.repeat(65)]) }],
  }),
  'duplicate tenant': (_, body) => ({
    ...body,
    configs: [...(body.configs as object[]), ...(body.configs as object[])],
  }),
  'out of range': (ctx, body) => ({
    ...body,
    ...pick(ctx, [
      { maxConcurrency: 0 },
      { maxConcurrency: 1001 },
      { failureThreshold: '150%' },
      { healthCheck: { intervalSeconds: 300, maxAttempts: 100 } },
    ]),
  }),
  'no configs': () => ({ configs: [] }),
};

const kindsFor = (route: RouteSpec) => {
  const kinds: [string, Maker][] = [];
  const auth: Maker = (ctx, r, targets) => ({
    method: r.method,
    path: pathOf(r, targets),
    headers: pick<Record<string, string>>(ctx, [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'Basic abc' },
    ]),
  });
  const badId: Maker = (ctx, r, targets) => ({
    method: r.method,
    path: pathOf(r, targets, pick(ctx, ['x'.repeat(200), 'a%00b', `${targets.planId}%01`])),
    headers: { authorization: 'Bearer TOKEN', 'content-type': json },
    ...(r.body ? { body: '{}' } : {}),
  });
  kinds.push(['no or wrong token', auth], ['bad id', badId]);
  if (route.method === 'DELETE') {
    kinds.push([
      'bad query',
      (ctx, r, targets) => ({
        method: r.method,
        path: `${pathOf(r, targets)}?${pick(ctx, ['force=maybe', 'dryRun=1', 'bogus=1', 'force=%00', 'force=true&force=true&x'])}`,
        headers: { authorization: 'Bearer TOKEN' },
      }),
    ]);
    return kinds;
  }
  const withBody =
    (mutate: (ctx: ChaosContext, body: Record<string, unknown>) => string | Uint8Array): Maker =>
    (ctx, r, targets) => ({
      method: r.method,
      path: pathOf(r, targets),
      headers: { authorization: 'Bearer TOKEN', 'content-type': json },
      body: mutate(ctx, validBody(ctx, r)),
    });
  for (const [name, mutate] of Object.entries(BODY_KINDS)) kinds.push([name, withBody(mutate)]);
  kinds.push([
    'not a JSON content type',
    (ctx, r, targets) => {
      const contentType = pick(ctx, [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/json; charset=utf-16',
        undefined,
      ]);
      return {
        method: r.method,
        path: pathOf(r, targets),
        headers: { authorization: 'Bearer TOKEN', ...(contentType ? { 'content-type': contentType } : {}) },
        body: JSON.stringify(validBody(ctx, r)),
      };
    },
  ]);
  if (route.operationId === 'createPlan') {
    for (const [name, mutate] of Object.entries(PLAN_KINDS)) {
      kinds.push([name, withBody((ctx, body) => JSON.stringify(mutate(ctx, body)))]);
    }
    kinds.push([
      'bad Idempotency-Key',
      (ctx, r, targets) => ({
        method: r.method,
        path: pathOf(r, targets),
        headers: {
          authorization: 'Bearer TOKEN',
          'content-type': json,
          'idempotency-key': pick(ctx, ['has space', 'x'.repeat(129), 'tab\there']),
        },
        body: JSON.stringify({ ...validBody(ctx, r), maxConcurrency: -1 }),
      }),
    ]);
  }
  return kinds;
};

function oversized(route: RouteSpec, targets: StormTargets, bytes: number): RawRequest {
  const frame = '{"name":""}';
  return {
    method: route.method,
    path: pathOf(route, targets),
    headers: { authorization: 'Bearer TOKEN', 'content-type': json },
    body: `{"name":"${'x'.repeat(bytes - frame.length)}"}`,
  };
}

/** Every item, canonically serialised, by key. */
async function snapshot(client: DynamoDBClient, tableName: string): Promise<Map<string, string>> {
  const items = new Map<string, string>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) items.set(`${item.pk?.S}|${item.sk?.S}`, canonical(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

export async function malformedStorm(
  ctx: ChaosContext,
  run: RuntimeUnderTest,
  targets: StormTargets,
  perRoute: number,
): Promise<StormFigures> {
  const started = Date.now();
  const dynamodb = new DynamoDBClient({
    endpoint: run.runtime!.endpoints.dynamodb,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const writeRoutes = (ROUTES as readonly RouteSpec[]).filter((r) => r.method !== 'GET');
  const queue: { route: RouteSpec; kind: string; request: RawRequest }[] = [];
  for (const route of writeRoutes) {
    const kinds = kindsFor(route);
    for (let i = 0; i < perRoute; i++) {
      const oversizedBytes = OVERSIZED_BYTES[i];
      if (oversizedBytes !== undefined && route.body) {
        queue.push({ route, kind: 'oversized', request: oversized(route, targets, oversizedBytes) });
        continue;
      }
      const [kind, make] = kinds[i % kinds.length]!;
      queue.push({ route, kind, request: make(ctx, route, targets) });
    }
  }
  for (const entry of queue) {
    const auth = entry.request.headers?.authorization;
    if (auth === 'Bearer TOKEN') entry.request.headers!.authorization = `Bearer ${run.token}`;
  }

  const before = await snapshot(dynamodb, RESOURCE_PREFIX);
  const figures: StormFigures = {
    routes: writeRoutes.length,
    requests: queue.length,
    byRoute: {},
    byKind: {},
    statuses: {},
    status5xx: 0,
    unanswered: 0,
    accepted: 0,
    reachedDomain: 0,
    examples: [],
    itemsBefore: before.size,
    itemsAdded: 0,
    itemsRemoved: 0,
    itemsChanged: 0,
    durationSeconds: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const { route, kind, request } = queue[next++]!;
      const key = `${route.method} ${route.path}`;
      figures.byRoute[key] ??= { requests: 0, status4xx: 0, status5xx: 0, other: 0 };
      const counts = figures.byRoute[key];
      counts.requests++;
      figures.byKind[kind] = (figures.byKind[kind] ?? 0) + 1;
      let status: number;
      try {
        status = (await run.api.raw(request)).status;
      } catch (error) {
        status = 0;
        figures.unanswered++;
        figures.examples.push(`${key} ${kind}: ${(error as Error).message}`);
      }
      figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
      if (status >= 400 && status < 500) counts.status4xx++;
      else if (status >= 500) {
        counts.status5xx++;
        figures.status5xx++;
      } else counts.other++;
      if (status < 400 && status !== 0) figures.accepted++;
      if (status === 409 || status === 422) figures.reachedDomain++;
      if (
        (status >= 500 || status < 400 || status === 409 || status === 422) &&
        figures.examples.length < 10
      ) {
        figures.examples.push(`${key} ${kind} → ${status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

  const after = await snapshot(dynamodb, RESOURCE_PREFIX);
  for (const [key, item] of after) {
    const previous = before.get(key);
    if (previous === undefined) figures.itemsAdded++;
    else if (previous !== item) figures.itemsChanged++;
  }
  for (const key of before.keys()) if (!after.has(key)) figures.itemsRemoved++;
  dynamodb.destroy();
  figures.durationSeconds = Math.round((Date.now() - started) / 1000);
  return figures;
}
