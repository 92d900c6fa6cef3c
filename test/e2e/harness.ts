/**
 * The system as a user meets it: the local runtime (orchestration harness) plus the
 * local API server on a free port with a fixed token, driven over real HTTP. Every
 * response is checked against the schema the route table declares for it.
 */
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { routeMatcher } from '../../functions/api/match.ts';
import { ROUTES, type RouteSpec } from '../../functions/api/routes.ts';
import { errorSchema } from '../../functions/api/schemas.ts';
import { depsFromEnv } from '../../functions/core/deps.ts';
import { type ApiServer, startApiServer } from '../../local/api-server.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws-env.ts';
import {
  FAST_HEALTH,
  type Harness,
  startHarness,
  tenantConfig,
} from '../integration/orchestration/harness.ts';

export const TOKEN = 'e2e-test-token-0123456789';

// biome-ignore lint/suspicious/noExplicitAny: bodies are checked against their route's schema, then read freely
export type Body = any;

export interface Reply<T = Body> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (for malformed JSON). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** null: no Authorization header. */
  token?: string | null;
}

const match = routeMatcher(ROUTES as readonly RouteSpec[]);

/** Fails loudly when a response does not match what the route table (and so OpenAPI) promises. */
function conform(method: string, path: string, status: number, body: unknown, contentType: string) {
  // API Gateway's own answers (local/api-gateway.ts) come before or after the API and carry only a message.
  const gateway = body as { message?: unknown } | undefined;
  if ([413, 500, 503].includes(status) && Object.keys(gateway ?? {}).join() === 'message') return;
  if (status >= 400) {
    errorSchema.parse(body);
    return;
  }
  const { route } = match(method, new URL(path, 'http://x').pathname);
  const declared = route.responses[status];
  if (!declared)
    throw new Error(`${method} ${path} answered ${status}, which the route table does not declare`);
  if (!contentType.startsWith(declared.contentType ?? 'application/json')) {
    throw new Error(
      `${method} ${path} ${status} answered ${contentType}, not ${declared.contentType ?? 'JSON'}`,
    );
  }
  const result = declared.schema.safeParse(body);
  if (!result.success) {
    throw new Error(`${method} ${path} ${status} does not match its schema: ${result.error.message}`);
  }
}

export interface ApiHarness {
  h: Harness;
  server: ApiServer;
  url: string;
  call<T = Body>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  /** Items in the table right now (Scan, COUNT). */
  countItems(): Promise<number>;
  /** A plan request body whose tenants are slots on the harness' reference engine. */
  planBody(tenants: string[], extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startApiHarness(): Promise<ApiHarness> {
  const h = await startHarness();
  const server = await startApiServer({
    // The api function's own clients, signing with its role inside its invocations (local/iam.ts).
    deps: depsFromEnv(),
    asApiFunction: (dispatch) => h.runtime.asFunction('api', dispatch),
    token: TOKEN,
    port: 0,
    log: (line) => h.logs.push(line),
  });
  const dynamodb = new DynamoDBClient({
    endpoint: h.runtime.endpoints.dynamodb,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    h,
    server,
    url: server.url,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? TOKEN : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      const contentType = response.headers.get('content-type') ?? '';
      const parsed =
        text && contentType.startsWith('application/json') ? JSON.parse(text) : text || undefined;
      conform(method, path, response.status, parsed, contentType);
      return { status: response.status, headers: response.headers, body: parsed };
    },
    async countItems() {
      let count = 0;
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamodb.send(
          new ScanCommand({
            TableName: h.runtime.tableName,
            Select: 'COUNT',
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        count += page.Count ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return count;
    },
    planBody(tenants, extra = {}) {
      return {
        healthCheck: FAST_HEALTH,
        configs: tenants.map((t) =>
          tenantConfig(h.engine, t, '2', ['app', 'db'], {
            sourceTenantDeployConfig: { tenantId: t, deployUnitVersion: '1' },
          }),
        ),
        ...extra,
      };
    },
    async stop() {
      await server.close();
      dynamodb.destroy();
      await h.stop();
    },
  };
}

/** A unique tenant id per test, so tests never wait on each other's tenant locks. */
let counter = 0;
export const tenant = (name: string) => `${name}-${Date.now().toString(36)}-${counter++}`;
