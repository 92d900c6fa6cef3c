import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { authorize, tokensEqual } from '../../../functions/api/auth.ts';
import { Unauthorized } from '../../../functions/api/errors.ts';
import { fromHttpApiEvent, toHttpApiResult } from '../../../functions/api/http-api.ts';
import { consolePageUrl, stepFunctionsConsoleUrl } from '../../../functions/api/views.ts';

const event = (over: Partial<APIGatewayProxyEventV2> & { stage?: string; method?: string }) =>
  ({
    version: '2.0',
    routeKey: 'POST /v1/plans',
    rawPath: '/v1/plans',
    rawQueryString: '',
    headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' },
    isBase64Encoded: false,
    requestContext: { stage: over.stage ?? '$default', http: { method: over.method ?? 'POST' } },
    ...over,
  }) as unknown as APIGatewayProxyEventV2;

describe('HTTP API payload v2', () => {
  it('turns an event into an ApiRequest with lower-cased headers', () => {
    const request = fromHttpApiEvent(
      event({ body: '{"configs":[]}', queryStringParameters: { limit: '5' }, method: 'post' }),
    );

    expect(request).toEqual({
      method: 'POST',
      path: '/v1/plans',
      query: { limit: '5' },
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"configs":[]}',
    });
  });

  it('decodes a base64 body and strips a named stage from the path', () => {
    const request = fromHttpApiEvent(
      event({
        stage: 'prod',
        rawPath: '/prod/v1/plans',
        body: Buffer.from('{"a":1}').toString('base64'),
        isBase64Encoded: true,
      }),
    );

    expect(request.path).toBe('/v1/plans');
    expect(request.body).toEqual(Buffer.from('{"a":1}'));
  });

  it('turns an ApiResponse into a structured result', () => {
    expect(
      toHttpApiResult({ status: 201, headers: { 'content-type': 'application/json' }, body: '{}' }),
    ).toEqual({
      statusCode: 201,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
  });
});

describe('authorize', () => {
  it('lets open routes and unconfigured tokens through', () => {
    expect(() => authorize('none', undefined, 'secret')).not.toThrow();
    expect(() => authorize('bearer', undefined, undefined)).not.toThrow();
  });

  it.each([
    [undefined, 'missing Authorization: Bearer <token> header'],
    ['Basic abc', 'Authorization header must be "Bearer <token>"'],
    ['Bearer wrong', 'invalid token'],
    ['Bearer secret-and-more', 'invalid token'],
  ])('refuses %s: %s', (header, message) => {
    expect(() => authorize('bearer', header, 'secret')).toThrow(new Unauthorized(message));
  });

  it('accepts the right token, case-insensitively for the scheme', () => {
    expect(() => authorize('bearer', 'bearer secret', 'secret')).not.toThrow();
    expect(tokensEqual('secret', 'secret')).toBe(true);
    expect(tokensEqual('secret', 'secreT')).toBe(false);
  });
});

describe('console links', () => {
  it('links the Step Functions console in the region of the execution ARN', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:tenant-rollout-task:01ABC-00000-a0';

    expect(stepFunctionsConsoleUrl(arn)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`,
    );
  });

  it('is null without an execution or for something that is not one', () => {
    expect(stepFunctionsConsoleUrl(undefined)).toBeNull();
    expect(stepFunctionsConsoleUrl('not-an-arn')).toBeNull();
  });

  it("links this project's console page below the API's own origin, with the id encoded", () => {
    const links = { apiBase: 'https://abc.execute-api.eu-west-1.amazonaws.com', awsConsole: true };

    expect(consolePageUrl(links, 'tasks', 'plan-00001')).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/console/tasks/plan-00001',
    );
    expect(consolePageUrl({ apiBase: '', awsConsole: false }, 'plans', 'a/b')).toBe('/console/plans/a%2Fb');
  });
});
