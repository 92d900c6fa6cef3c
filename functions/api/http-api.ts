/** API Gateway HTTP API (payload v2) ⇄ ApiRequest / ApiResponse (pure). */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ApiRequest, ApiResponse } from './dispatch.ts';

export function fromHttpApiEvent(event: APIGatewayProxyEventV2): ApiRequest {
  const stage = event.requestContext.stage;
  let path = event.rawPath || '/';
  // A named stage is part of rawPath; the route table does not know it.
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) path = path.slice(stage.length + 1);
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  // A body API Gateway could not pass as text arrives base64-encoded; dispatch decodes its bytes strictly
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64')
        : event.body;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path,
    query: { ...(event.queryStringParameters ?? {}) },
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

const PATH_IDS = { plans: 'planId', tasks: 'taskId', tenants: 'tenantId' } as const;

/** The plan, task or tenant a request path names (`/v1/plans/{planId}/...`), for the log keys. */
export function pathIds(path: string): Partial<Record<(typeof PATH_IDS)[keyof typeof PATH_IDS], string>> {
  const match = /^\/v1\/(plans|tasks|tenants)\/([^/]+)/.exec(path);
  if (!match) return {};
  let id = match[2]!;
  try {
    id = decodeURIComponent(id);
  } catch {
    // an undecodable id is logged as sent
  }
  return { [PATH_IDS[match[1] as keyof typeof PATH_IDS]]: id };
}

export function toHttpApiResult(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.status, headers: response.headers, body: response.body ?? '' };
}
