/*
 * The API's body gate: a CloudFront Function (runtime cloudfront-js-2.0) on the viewer request of the
 * distribution in front of the HTTP API (cdk/constructs/api-edge.ts); the local API server runs this
 * same file before it reads a body (local/edge.ts). It answers in the API's own `{code, message}` shape.
 *
 * Why: API Gateway accepts bodies up to 10 MB, but the body travels inside the api function's Lambda
 * event, which must fit Lambda's 6 MB synchronous payload; over it the invocation fails and API Gateway
 * answers 500 before the function runs (local/api-gateway.ts). An HTTP API cannot have AWS WAF, so the
 * gate is here. The limit is functions/api/routes.ts MAX_BODY_BYTES, written in at synth and at load
 * (functions/edge/index.ts).
 *
 * Content-Length and Transfer-Encoding are readable (read-only) in viewer request events
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-function-restrictions-all.html);
 * event and response shapes:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html.
 * A body whose size is not declared (chunked, or an HTTP/2 request without content-length) cannot be
 * checked before it is forwarded, so a method that carries a body must declare it (411).
 */
var MAX_BODY_BYTES = __MAX_BODY_BYTES__;
var BODY_METHODS = { POST: true, PUT: true, PATCH: true };

function refuse(statusCode, statusDescription, error) {
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: { 'content-type': { value: 'application/json; charset=utf-8' } },
    body: { encoding: 'text', data: JSON.stringify(error) },
  };
}

// biome-ignore lint/correctness/noUnusedVariables: CloudFront calls the function named handler
function handler(event) {
  var request = event.request;
  var declared = request.headers['content-length'];
  if (declared === undefined || !/^[0-9]+$/.test(declared.value)) {
    if (declared === undefined && !BODY_METHODS[request.method] && !request.headers['transfer-encoding']) {
      return request;
    }
    return refuse(411, 'Length Required', {
      code: 'LENGTH_REQUIRED',
      message:
        request.method +
        ' needs a Content-Length header giving the body size in bytes (0 for no body); the limit is ' +
        MAX_BODY_BYTES +
        ' bytes',
      details: {
        limitBytes: MAX_BODY_BYTES,
        fields: [{ path: 'headers.Content-Length', message: 'required: the body size in bytes' }],
      },
    });
  }
  var size = Number(declared.value);
  if (size > MAX_BODY_BYTES) {
    return refuse(413, 'Payload Too Large', {
      code: 'PAYLOAD_TOO_LARGE',
      message: 'request body is ' + size + ' bytes; the limit is ' + MAX_BODY_BYTES + ' bytes',
      details: { limitBytes: MAX_BODY_BYTES, sizeBytes: size },
    });
  }
  return request;
}
