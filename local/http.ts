/**
 * A tiny server for the AWS JSON protocols (1.0 for Step Functions, 1.1 for ECS
 * and EventBridge): one POST route, the operation in `X-Amz-Target`, errors as
 * `{__type, message}` so the real SDK maps them to its exception classes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessDenied, type AccessRequest, type Authorizer } from './iam.ts';

export class AwsError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.status = status;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: request bodies are JSON validated by each operation
export type Operation = (input: any) => unknown;

/** The resources (and condition keys) one call touches, as IAM authorizes it. */
// biome-ignore lint/suspicious/noExplicitAny: request bodies are JSON validated by each operation
export type Access = (input: any) => Omit<AccessRequest, 'action'>[];

export interface JsonService {
  /** e.g. `AWSStepFunctions`: the part of `X-Amz-Target` before the dot. */
  targetPrefix: string;
  /** `1.0` or `1.1`. */
  jsonVersion: '1.0' | '1.1';
  /** The service's IAM prefix (`states`): actions are `<prefix>:<operation>`. */
  iamPrefix: string;
  operations: Record<string, Operation>;
  /** Per operation; an operation without one is authorized on `*`. */
  access?: Record<string, Access>;
}

export interface JsonServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export type Log = (line: string) => void;

/** Dates in the AWS JSON protocols travel as epoch seconds. */
export const epochSeconds = (ms: number) => ms / 1000;

export async function startJsonServer(
  service: JsonService,
  port: number,
  log: Log,
  authorizer?: Authorizer,
): Promise<JsonServer> {
  const contentType = `application/x-amz-json-${service.jsonVersion}`;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body ?? {});
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, name] = target.split('.');
    const operation = prefix === service.targetPrefix && name ? service.operations[name] : undefined;
    if (!operation) {
      send(res, 400, { __type: 'UnknownOperationException', message: `unsupported operation ${target}` });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      const input = text ? JSON.parse(text) : {};
      if (authorizer) {
        const touched = service.access?.[name!]?.(input) ?? [{ resource: '*' }];
        const action = `${service.iamPrefix}:${name}`;
        authorizer.check(
          req.headers.authorization,
          touched.map((access) => ({ action, ...access })),
        );
      }
      send(res, 200, await operation(input));
    } catch (error) {
      if (error instanceof AccessDenied) {
        send(res, 400, { __type: 'AccessDeniedException', message: error.message });
      } else if (error instanceof AwsError) {
        send(res, error.status, { __type: error.type, message: error.message });
      } else {
        log(`${service.targetPrefix}.${name} failed: ${(error as Error).stack ?? String(error)}`);
        send(res, 500, { __type: 'InternalServerError', message: (error as Error).message });
      }
    }
  };
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // SDK clients keep connections alive; without this close() waits for them to idle out.
        server.closeAllConnections();
      }),
  };
}
