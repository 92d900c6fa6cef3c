/**
 * What API Gateway (HTTP API, Lambda proxy integration, payload v2) and Lambda refuse before or after
 * the api function runs, so the local API server answers as the deployed API would:
 * - "Payload size: 10 MB" and "Maximum integration timeout: 30 seconds"
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html); over the
 *   payload size API Gateway answers 413, past the integration timeout 503 `Service Unavailable`.
 * - The Lambda event and result must each fit Lambda's 6 MB synchronous payload
 *   (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), and the function must end
 *   within its configured timeout; any failed invocation is a 500 `Internal Server Error`
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
 * Those answers are API Gateway's own `{"message": ...}` bodies, not the API's `{code, message}` errors.
 */
import type { ApiRequest, ApiResponse } from '../functions/api/dispatch.ts';
import { toHttpApiResult } from '../functions/api/http-api.ts';
import { MAX_REQUEST_PAYLOAD_BYTES, MAX_RESPONSE_PAYLOAD_BYTES } from './lambda.ts';

export const GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
export const GATEWAY_INTEGRATION_TIMEOUT_MS = 30_000;

const GATEWAY_ERRORS = {
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const;

export type GatewayStatus = keyof typeof GATEWAY_ERRORS;

export function gatewayError(status: GatewayStatus): ApiResponse {
  const body = JSON.stringify({ message: GATEWAY_ERRORS[status] });
  return { status, headers: { 'content-type': 'application/json' }, body };
}

/** Why the gateway answered instead of the function, for the server's log. */
export class GatewayRefusal extends Error {
  readonly status: GatewayStatus;
  constructor(status: GatewayStatus, reason: string) {
    super(reason);
    this.status = status;
  }
}

const isText = (contentType: string | undefined) =>
  !contentType ||
  /^(text\/|application\/(json|[^;]*\+json|x-ndjson|x-www-form-urlencoded))/i.test(contentType);

/**
 * The size of the payload v2 event API Gateway would hand the api function: the request line, headers
 * and body (base64 when not text), JSON-encoded. The request context adds a few hundred bytes more on
 * AWS; they are left out, so a request refused here is refused on AWS too.
 */
export function lambdaEventBytes(request: ApiRequest): number {
  const body = request.body;
  const base64 = body !== undefined && !isText(request.headers['content-type']);
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: new URLSearchParams(
      Object.entries(request.query).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ).toString(),
    headers: request.headers,
    requestContext: { http: { method: request.method, path: request.path } },
    ...(body === undefined
      ? {}
      : {
          body: base64 ? Buffer.from(body).toString('base64') : Buffer.from(body).toString('utf8'),
          isBase64Encoded: base64,
        }),
  };
  return Buffer.byteLength(JSON.stringify(event));
}

/** Refuses what Lambda would refuse to deliver to the function. */
export function checkLambdaEvent(request: ApiRequest): void {
  const bytes = lambdaEventBytes(request);
  if (bytes > MAX_REQUEST_PAYLOAD_BYTES) {
    throw new GatewayRefusal(
      500,
      `the Lambda event is ${bytes} bytes, over Lambda's ${MAX_REQUEST_PAYLOAD_BYTES} (RequestTooLargeException)`,
    );
  }
}

/** Refuses a result Lambda would not return (Function.ResponseSizeTooLarge). Streams are local only. */
export function checkLambdaResult(response: ApiResponse): void {
  if (response.stream) return;
  const bytes = Buffer.byteLength(JSON.stringify(toHttpApiResult(response)));
  if (bytes > MAX_RESPONSE_PAYLOAD_BYTES) {
    throw new GatewayRefusal(
      500,
      `the function's result is ${bytes} bytes, over Lambda's ${MAX_RESPONSE_PAYLOAD_BYTES} (Function.ResponseSizeTooLarge)`,
    );
  }
}

/**
 * Runs the invocation under both clocks: the function's own timeout (Lambda ends it: 500) and the
 * integration timeout (API Gateway stops waiting: 503), whichever comes first.
 */
export async function withinTimeouts<T>(
  invocation: Promise<T>,
  limits: { functionTimeoutMs: number; integrationTimeoutMs: number },
): Promise<T> {
  const timers: NodeJS.Timeout[] = [];
  const after = (ms: number, refusal: () => GatewayRefusal) =>
    new Promise<never>((_, reject) => {
      timers.push(setTimeout(() => reject(refusal()), ms));
    });
  try {
    return await Promise.race([
      invocation,
      after(
        limits.functionTimeoutMs,
        () => new GatewayRefusal(500, `the function timed out after ${limits.functionTimeoutMs} ms`),
      ),
      after(
        limits.integrationTimeoutMs,
        () =>
          new GatewayRefusal(
            503,
            `no answer within the ${limits.integrationTimeoutMs} ms integration timeout`,
          ),
      ),
    ]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}
