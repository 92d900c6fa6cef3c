import { afterEach, describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../../functions/api/dispatch.ts';
import type { Deps } from '../../../functions/core/deps.ts';
import { checkLambdaResult, lambdaEventBytes } from '../../../local/api-gateway.ts';
import { type ApiServer, startApiServer } from '../../../local/api-server.ts';
import { MAX_RESPONSE_PAYLOAD_BYTES } from '../../../local/lambda.ts';

let server: ApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The API server in front of a function that never answers (no route runs: the deps are never used). */
async function hungFunction(limits: { functionTimeoutMs: number; integrationTimeoutMs: number }) {
  server = await startApiServer({
    deps: {} as Deps,
    token: 'token',
    ...limits,
    log: () => {},
    asApiFunction: <T>() => new Promise<never>(() => {}) as T,
  });
  const reply = await fetch(`${server.url}/v1/plans`, { headers: { authorization: 'Bearer token' } });
  return { status: reply.status, body: await reply.json() };
}

describe('API Gateway in front of the local API', () => {
  it('answers 500 when the function times out first', async () => {
    const reply = await hungFunction({ functionTimeoutMs: 100, integrationTimeoutMs: 2_000 });

    expect(reply).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
  });

  it('answers 503 when the integration timeout comes first', async () => {
    const reply = await hungFunction({ functionTimeoutMs: 2_000, integrationTimeoutMs: 100 });

    expect(reply).toEqual({ status: 503, body: { message: 'Service Unavailable' } });
  });

  it('counts a binary body base64-encoded in the Lambda event, as API Gateway sends it', () => {
    const body = Buffer.from('a'.repeat(3_000));
    const request = { method: 'POST', path: '/v1/plans', query: {}, body };

    const binary = lambdaEventBytes({ ...request, headers: { 'content-type': 'application/octet-stream' } });
    const text = lambdaEventBytes({ ...request, headers: { 'content-type': 'application/json' } });

    expect(binary - text).toBeGreaterThan(900);
  });

  it('refuses a function result over Lambda’s response payload and lets a stream through', () => {
    const big: ApiResponse = { status: 200, headers: {}, body: 'x'.repeat(MAX_RESPONSE_PAYLOAD_BYTES) };
    const stream: ApiResponse = { status: 200, headers: {}, stream: (async function* () {})() };

    expect(() => checkLambdaResult(big)).toThrow(/Function.ResponseSizeTooLarge/);
    expect(() => checkLambdaResult(stream)).not.toThrow();
  });
});
