/**
 * The HTTP API on Lambda (API Gateway HTTP API, payload v2). Every route of
 * functions/api/routes.ts lands here; dispatch does the routing, validation and
 * error mapping (the same code the local API server runs).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { dispatch } from './api/dispatch.ts';
import { fromHttpApiEvent, pathIds, toHttpApiResult } from './api/http-api.ts';
import { depsFromEnv } from './core/deps.ts';
import { API_TOKEN_ENV } from './core/env.ts';
import { appendLogKeys, observability } from './core/observability.ts';

const deps = depsFromEnv();
/** API Gateway's authorizer guards bearer routes; a token configured here is checked as well. */
const token = process.env[API_TOKEN_ENV] || undefined;

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
  .use(observability())
  .handler(async (event, context) => {
    const request = fromHttpApiEvent(event);
    appendLogKeys(pathIds(request.path));
    const signal = AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - 1_000));
    return toHttpApiResult(await dispatch(deps, request, { token, signal }));
  });
