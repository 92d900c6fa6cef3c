/**
 * Instant endpoints: `GET {prefix}/health` answers `{version}` with the version
 * the last `POST {prefix}/config` set for that prefix. Nothing else (no request
 * log, no fault rules, no overlap tracking), so its cost per request is one map
 * lookup on top of Node's HTTP server. They run in a process of their own, as a
 * tenant's engines do: in the measured process they shared one event loop with 100
 * concurrent stages and answered late enough for broadcasts to time out.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface InstantEndpoints {
  url: string;
  stop(): Promise<void>;
}

const READY = 'INSTANT_ENDPOINTS ';

export async function startInstantEndpoints(): Promise<InstantEndpoints> {
  // stdin stays open while this process lives: the child ends when it closes, even after a SIGKILL here.
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith(READY));
      if (line) resolve(line.slice(READY.length).trim());
    });
    child.once('exit', (code) =>
      reject(new Error(`the instant endpoints exited (${code}) before listening`)),
    );
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

async function serve(): Promise<void> {
  const versions = new Map<string, string>();
  const server = createServer((req, res) => {
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
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.stdout.write(`${READY}http://127.0.0.1:${port}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve();
