/**
 * The DynamoDB endpoint the functions see: a thin proxy in front of DynamoDB Local that authorizes
 * each call as IAM would (local/iam.ts) and forwards the allowed ones unchanged, except for the
 * signing key: DynamoDB Local keeps one database per access key, and every principal must see the
 * same data.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { arns } from './arns.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './aws-env.ts';
import { AccessDenied, type AccessRequest, type Authorizer } from './iam.ts';

type Body = Record<string, unknown>;

/** A table name or ARN (DynamoDB accepts both); DynamoDB Local's ARNs say region `ddblocal`. */
const tableArn = (nameOrArn: unknown) =>
  typeof nameOrArn === 'string' && nameOrArn.startsWith('arn:')
    ? localArn(nameOrArn)
    : arns.table(String(nameOrArn ?? ''));
const localArn = (arn: string) =>
  arn.replace(/^arn:aws:dynamodb:ddblocal:/, `arn:aws:dynamodb:${LOCAL_REGION}:`);

const onTable = (action: string, body: Body): AccessRequest[] => {
  const table = tableArn(body.TableName);
  const index = typeof body.IndexName === 'string' ? `${table}/index/${body.IndexName}` : undefined;
  return [{ action, resource: index ?? table }];
};

/** Transactions are authorized per item, on the item's own action (there is no Transact* action). */
const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

const STREAM_ARN = /arn:aws:dynamodb:[^|"\s]*\/stream\/[^|"\s]+/;

/**
 * What one request asks of IAM, per
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html and, for
 * transactions, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html.
 */
export function dynamoDbAccess(operation: string, body: Body): AccessRequest[] {
  const action = `dynamodb:${operation}`;
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((body.RequestItems as Body | undefined) ?? {}).map((table) => ({
        action,
        resource: tableArn(table),
      }));
    case 'TransactWriteItems':
    case 'TransactGetItems':
      return ((body.TransactItems as Body[] | undefined) ?? []).flatMap((item) =>
        Object.entries(item).flatMap(([kind, detail]) => {
          const itemAction = TRANSACT_ITEM_ACTIONS[kind];
          return itemAction ? [{ action: itemAction, resource: tableArn((detail as Body).TableName) }] : [];
        }),
      );
    case 'DescribeStream':
    case 'GetShardIterator':
      return [{ action, resource: localArn(String(body.StreamArn ?? '')) }];
    case 'GetRecords': {
      const stream = STREAM_ARN.exec(String(body.ShardIterator ?? ''))?.[0];
      return [{ action, resource: stream ? localArn(stream) : '*' }];
    }
    case 'ListTables':
    case 'ListStreams':
      return [{ action, resource: '*' }];
    default:
      return body.TableName === undefined ? [{ action, resource: '*' }] : onTable(action, body);
  }
}

export interface DynamoDbProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDynamoDbProxy(options: {
  target: string;
  authorizer: Authorizer;
  port?: number;
  log: (line: string) => void;
}): Promise<DynamoDbProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true });
  const deny = (res: ServerResponse, error: AccessDenied) => {
    const body = JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException',
      message: error.message,
    });
    res.writeHead(400, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const payload = Buffer.concat(chunks);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    try {
      const body = payload.length ? (JSON.parse(payload.toString('utf8')) as Body) : {};
      options.authorizer.check(req.headers.authorization, dynamoDbAccess(operation, body));
    } catch (error) {
      if (error instanceof AccessDenied) {
        deny(res, error);
        return;
      }
      // Not JSON: DynamoDB Local answers it as it would.
    }
    const headers = { ...req.headers, host: target.host };
    if (headers.authorization) {
      headers.authorization = headers.authorization.replace(
        /Credential=[^/,\s]+\//,
        `Credential=${LOCAL_CREDENTIALS.accessKeyId}/`,
      );
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
      (reply) => {
        res.writeHead(reply.statusCode ?? 500, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.once('error', (error) => {
      options.log(`dynamodb proxy: ${error.message}`);
      res.destroy(error);
    });
    upstream.end(payload);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log(`dynamodb proxy: ${(error as Error).message}`);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
