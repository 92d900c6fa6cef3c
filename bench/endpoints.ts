/**
 * Instant endpoints: `GET {prefix}/health` answers `{version}` with the version
 * the last `POST {prefix}/config` set for that prefix. Nothing else (no request
 * log, no fault rules, no overlap tracking), so its cost per request is one map
 * lookup on top of Node's HTTP server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InstantEndpoints {
  url: string;
  requests: () => number;
  stop(): Promise<void>;
}

export async function startInstantEndpoints(): Promise<InstantEndpoints> {
  const versions = new Map<string, string>();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const path = req.url ?? '/';
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (req.method === 'GET' && path.endsWith('/health')) {
      reply(200, { status: 'UP', version: versions.get(path.slice(0, -'/health'.length)) ?? '0' });
      return;
    }
    if (req.method === 'POST' && path.endsWith('/config')) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown };
          versions.set(path.slice(0, -'/config'.length), String(body.version));
          reply(200, { accepted: true });
        } catch {
          reply(400, { error: 'body is not JSON' });
        }
      });
      return;
    }
    reply(404, { error: 'not found' });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
