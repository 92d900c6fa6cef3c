/**
 * The local API server: node:http on loopback feeding the same dispatch the Lambda
 * handler uses, behind what the deployed API puts on the way: the edge function of the CloudFront
 * distribution (local/edge.ts), then what API Gateway and Lambda enforce (local/api-gateway.ts).
 * It adds what only a long-lived server can do: stream events as NDJSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type ApiRequest, type ApiResponse, dispatch } from '../functions/api/dispatch.ts';
import { errorReply } from '../functions/api/errors.ts';
import type { Deps } from '../functions/core/deps.ts';
import { FUNCTIONS } from '../functions/manifest.ts';
import {
  checkLambdaEvent,
  checkLambdaResult,
  GATEWAY_INTEGRATION_TIMEOUT_MS,
  GATEWAY_MAX_PAYLOAD_BYTES,
  GatewayRefusal,
  gatewayError,
  withinTimeouts,
} from './api-gateway.ts';
import { type EdgeAnswer, loadEdgeGate } from './edge.ts';

export interface ApiServerOptions {
  deps: Deps;
  token: string;
  /** 0: a free port. */
  port?: number;
  host?: string;
  /** API Gateway's payload size; default its 10 MB. */
  maxBodyBytes?: number;
  /** Default: the http function's timeout in functions/manifest.ts. */
  functionTimeoutMs?: number;
  /** Default: API Gateway's 30 s. */
  integrationTimeoutMs?: number;
  log?: (line: string) => void;
  /** Runs each request's dispatch as the api function runs (its log lines go to that function's log). */
  asApiFunction?: <T>(dispatch: () => T) => T;
}

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Past this, a refused body is no longer drained (so the client can read the answer) but cut off. */
const DRAIN_LIMIT_FACTOR = 4;

/**
 * The edge's answer, given before any of the body is read. What the client still sends is discarded
 * (up to the drain limit, then the connection is cut) and the connection is kept: closing it while the
 * client still writes would reset it, and the client would see a broken pipe instead of the answer.
 */
function answerAtEdge(req: IncomingMessage, res: ServerResponse, answer: EdgeAnswer, drainLimit: number) {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > drainLimit) req.destroy();
  });
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}

class BodyTooLarge extends Error {}

/** Raw bytes: dispatch decodes them as strict UTF-8, so invalid input is refused rather than repaired. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit * DRAIN_LIMIT_FACTOR) {
      req.destroy();
      break;
    }
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit) throw new BodyTooLarge();
  return size ? Buffer.concat(chunks) : undefined;
}

function toApiRequest(req: IncomingMessage, body: Buffer | undefined): ApiRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query,
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

async function send(res: ServerResponse, response: ApiResponse, abort: AbortController) {
  if (!response.stream) {
    res.writeHead(response.status, {
      ...response.headers,
      'content-length': Buffer.byteLength(response.body ?? ''),
    });
    res.end(response.body ?? '');
    return;
  }
  res.writeHead(response.status, response.headers);
  res.flushHeaders();
  try {
    for await (const line of response.stream) {
      if (abort.signal.aborted) break;
      res.write(line);
    }
  } finally {
    res.end();
  }
}

const httpFunction = FUNCTIONS.find((f) => f.trigger?.kind === 'http');

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  const limit = options.maxBodyBytes ?? GATEWAY_MAX_PAYLOAD_BYTES;
  const timeouts = {
    functionTimeoutMs: options.functionTimeoutMs ?? (httpFunction?.timeoutSeconds ?? 29) * 1000,
    integrationTimeoutMs: options.integrationTimeoutMs ?? GATEWAY_INTEGRATION_TIMEOUT_MS,
  };
  const edge = loadEdgeGate();
  const handle = async (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const refusal = edge(req);
    if (refusal) {
      log(`api: the edge function answers ${refusal.status}: ${refusal.body}`);
      answerAtEdge(req, res, refusal, limit * DRAIN_LIMIT_FACTOR);
      return;
    }
    // Node answers `Expect: 100-continue` itself unless told otherwise; here only once the edge let it pass.
    if (expectsContinue) res.writeContinue();
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    let response: ApiResponse;
    try {
      const body = await readBody(req, limit);
      const request = toApiRequest(req, body);
      checkLambdaEvent(request);
      // As functions/api.ts does on Lambda: long polls end a second before the function would time out.
      // An NDJSON stream is the local server's own extension and lasts as long as the client listens.
      const streams = (request.headers.accept ?? '').includes('application/x-ndjson');
      const deadline = AbortSignal.timeout(Math.max(1_000, timeouts.functionTimeoutMs - 1_000));
      const run = () =>
        dispatch(options.deps, request, {
          token: options.token,
          streaming: true,
          signal: streams ? abort.signal : AbortSignal.any([abort.signal, deadline]),
          log,
        });
      response = await withinTimeouts(
        Promise.resolve(options.asApiFunction ? options.asApiFunction(run) : run()),
        timeouts,
      );
      checkLambdaResult(response);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        response = {
          ...gatewayError(413),
          headers: { 'content-type': 'application/json', connection: 'close' },
        };
      } else if (error instanceof GatewayRefusal) {
        log(`api: API Gateway answers ${error.status}: ${error.message}`);
        response = gatewayError(error.status);
      } else {
        const reply = errorReply(error, log);
        response = {
          status: reply.status,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            connection: 'close',
            ...reply.headers,
          },
          body: JSON.stringify(reply.body),
        };
      }
    }
    await send(res, response, abort);
  };
  const serve = (expectsContinue: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, expectsContinue).catch((error: unknown) => {
      log(`api server: ${(error as Error).stack ?? String(error)}`);
      res.destroy();
    });
  };
  const server = createServer(serve(false));
  server.on('checkContinue', serve(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long polls and event streams would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

export const TOKEN_FILE = 'token';

/**
 * The local API token: `ROLLOUT_TOKEN` when set, else the one in `<home>/token`,
 * else a new one written there (mode 0600). `created` says whether it was just made.
 */
export async function localToken(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ token: string; source: 'env' | 'file' | 'created'; file: string }> {
  const file = join(home, TOKEN_FILE);
  if (env.ROLLOUT_TOKEN) return { token: env.ROLLOUT_TOKEN, source: 'env', file };
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing) return { token: existing, source: 'file', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(home, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, source: 'created', file };
}
