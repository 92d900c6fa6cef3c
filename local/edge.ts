/**
 * CloudFront in front of the local API: the viewer-request function the distribution runs
 * (functions/edge/body-limit.js, with the API's body limit written in), run in node:vm on an event
 * built from the request line and headers as CloudFront builds it, before anything reads the body.
 */
import type { IncomingMessage } from 'node:http';
import { runInNewContext } from 'node:vm';
import { bodyLimitFunctionCode } from '../functions/edge/index.ts';

/** The response a viewer-request function returns instead of the request. */
export interface EdgeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface FunctionResponse {
  statusCode: number;
  headers?: Record<string, { value: string }>;
  body?: string | { encoding: 'text' | 'base64'; data: string };
}

type ViewerRequestHandler = (event: unknown) => unknown;

/** https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html */
export function viewerRequestEvent(request: {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
}) {
  const url = new URL(request.url, 'http://localhost');
  const querystring: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name).map((value) => ({ value }));
    querystring[name] = values.length > 1 ? { ...values[0]!, multiValue: values } : values[0]!;
  }
  const headers: Record<string, { value: string; multiValue?: { value: string }[] }> = {};
  for (const [name, raw] of Object.entries(request.headers)) {
    if (raw === undefined) continue;
    const values = (Array.isArray(raw) ? raw : [raw]).map((value) => ({ value }));
    headers[name.toLowerCase()] = values.length > 1 ? { ...values[0]!, multiValue: values } : values[0]!;
  }
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'LOCAL', requestId: crypto.randomUUID() },
    viewer: { ip: request.ip ?? '127.0.0.1' },
    request: { method: request.method, uri: url.pathname, querystring, headers, cookies: {} },
  };
}

/** Loads the function once; the returned gate answers a request the function refuses, else undefined. */
export function loadEdgeGate(
  code: string = bodyLimitFunctionCode(),
): (req: IncomingMessage) => EdgeAnswer | undefined {
  const handler = runInNewContext(
    `${code}\nhandler;`,
    {},
    { filename: 'body-limit.js' },
  ) as ViewerRequestHandler;
  if (typeof handler !== 'function') throw new Error('the edge function defines no handler');
  return (req) => {
    const event = viewerRequestEvent({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress } : {}),
    });
    const result = handler(event) as FunctionResponse | { method: string };
    if (!('statusCode' in result)) return undefined;
    const headers: Record<string, string> = {};
    for (const [name, { value }] of Object.entries(result.headers ?? {})) headers[name] = value;
    const body =
      typeof result.body === 'string'
        ? result.body
        : result.body?.encoding === 'base64'
          ? Buffer.from(result.body.data, 'base64').toString()
          : (result.body?.data ?? '');
    return { status: result.statusCode, headers, body };
  };
}
