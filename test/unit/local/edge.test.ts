import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../../functions/api/routes.ts';
import type { Deps } from '../../../functions/core/deps.ts';
import { type ApiServer, startApiServer } from '../../../local/api-server.ts';

let server: ApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** No route here gets past validation, so the deps are never used. */
async function start() {
  server = await startApiServer({ deps: {} as Deps, token: 'token', log: () => {} });
  return server;
}

/**
 * Writes `head` (and no more) on a raw connection and reads one answer (its Content-Length tells where
 * it ends). Fails after `deadlineMs` instead of hanging when the server waits for a body that never comes.
 */
function rawExchange(port: number, head: string, deadlineMs = 10_000) {
  return new Promise<{ status: number; headers: string; body: unknown }>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${deadlineMs} ms: the server waited for the body`));
    }, deadlineMs);
    let received = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers = received.subarray(0, end).toString().toLowerCase();
      const length = Number(/content-length: (\d+)/.exec(headers)?.[1]);
      const body = received.subarray(end + 4);
      if (body.length < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(headers.split(' ')[1]), headers, body: JSON.parse(body.toString()) });
    });
    socket.on('error', reject);
  });
}

interface Reply {
  status: number;
  body: { code?: string; message?: string; details?: { fields?: { path: string; message: string }[] } };
}

const post = (url: string, body: string): Promise<Reply> =>
  fetch(`${url}/v1/plans`, {
    method: 'POST',
    headers: { authorization: 'Bearer token', 'content-type': 'application/json' },
    body,
  }).then(async (reply) => ({ status: reply.status, body: (await reply.json()) as Reply['body'] }));

describe('the local API behind the edge function', () => {
  it('answers 413 from the declared Content-Length, in the API error shape, without waiting for the body', async () => {
    const { port } = await start();
    const size = MAX_BODY_BYTES + 1;

    const reply = await rawExchange(
      port,
      `POST /v1/plans HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n{"na`,
    );

    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: `request body is ${size} bytes; the limit is ${MAX_BODY_BYTES} bytes`,
      details: { limitBytes: MAX_BODY_BYTES, sizeBytes: size },
    });
  });

  it('lets a client that sent the whole oversized body read the 413', async () => {
    const { url } = await start();

    const reply = await post(url, `{"name":"${'x'.repeat(7 * 1024 * 1024)}"}`);

    expect(reply.status).toBe(413);
    expect(reply.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('keeps the connection while the client still sends the refused body, so it is not reset', async () => {
    const { port } = await start();
    const size = MAX_BODY_BYTES + 1;
    const socket = connect(port, '127.0.0.1');
    const outcome = new Promise<string>((resolve) => {
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.on('close', () => resolve('closed cleanly'));
    });
    const answered = new Promise<string>((resolve) =>
      socket.once('data', (data) => resolve(data.toString())),
    );

    socket.write(`POST /v1/plans HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${size}\r\n\r\n`);
    const answer = await answered;
    socket.end(Buffer.alloc(size, 'x'));

    expect(answer).toMatch(/^HTTP\/1.1 413 /);
    expect(await outcome).toBe('closed cleanly');
  });

  it('answers 411 to a chunked POST, which declares no Content-Length', async () => {
    const { port } = await start();

    const reply = await rawExchange(
      port,
      'POST /v1/plans HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n',
    );

    expect(reply.status).toBe(411);
    expect(reply.body).toMatchObject({
      code: 'LENGTH_REQUIRED',
      details: { limitBytes: MAX_BODY_BYTES, fields: [{ path: 'headers.Content-Length' }] },
    });
  });

  it('refuses `Expect: 100-continue` over the limit without inviting the body', async () => {
    const { port } = await start();

    const reply = await rawExchange(
      port,
      `POST /v1/plans HTTP/1.1\r\nhost: localhost\r\nexpect: 100-continue\r\ncontent-length: ${MAX_BODY_BYTES + 1}\r\n\r\n`,
    );

    expect(reply.status).toBe(413);
    expect(reply.headers).not.toContain('100 continue');
  });

  it('lets a body just under the limit reach the function', async () => {
    const { url } = await start();
    const body = `{"name":"${'x'.repeat(MAX_BODY_BYTES - 20)}"}`;

    const reply = await post(url, body);

    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY_BYTES);
    expect(reply.status).toBe(400);
    expect(reply.body.details?.fields).toContainEqual({ path: 'name', message: 'at most 200 characters' });
  });

  it('still answers as API Gateway does when a body under the limit makes a Lambda event over 6 MB', async () => {
    const { url } = await start();
    // Each `\"` of the body is escaped again in the JSON event: the body doubles on its way to Lambda.
    const body = `{"name":"${'\\"'.repeat(MAX_BODY_BYTES / 2 - 20)}"}`;

    const reply = await post(url, body);

    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY_BYTES);
    expect(reply).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
  });
});
