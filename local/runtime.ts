/**
 * The embedded runtime: DynamoDB Local, the Step Functions / ECS / EventBridge
 * endpoints, in-process functions and the stream poller, wired so production
 * code reaches them through ordinary SDK clients and environment variables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RESOURCE_ENV } from '../functions/core/env.ts';
import {
  ENGINE_TASK_ROLE,
  ENGINE_TASK_ROLE_GRANTS,
  functionGrants,
  type GrantNames,
  renderGrants,
} from '../functions/grants.ts';
import { FUNCTIONS, type FunctionSpec } from '../functions/manifest.ts';
import {
  fillPlaceholders,
  placeholders,
  readDefinition,
  STATE_MACHINES,
  type StateMachineSpec,
} from '../statemachines/index.ts';
import { arns, DEFAULT_BUS_NAME, PROJECT_BUS_NAME, RESOURCE_PREFIX } from './arns.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, useLocalIdentity } from './aws-env.ts';
import { cloudWatchService, LocalAlarms } from './cloudwatch.ts';
import { ensureTable, startDynamoDbLocal } from './dynamodb.ts';
import { startDynamoDbProxy } from './dynamodb-proxy.ts';
import { type EngineCommand, ecsService, LocalEcs, taskStateChangeDetail } from './ecs.ts';
import { engineCommandsFromCatalog } from './engines.ts';
import { type ArchivedEvent, eventBridgeService, LocalBus } from './eventbridge.ts';
import { type JsonServer, type Log, startJsonServer } from './http.ts';
import {
  Authorizer,
  accessKeyOf,
  credentialsEnv,
  LOCAL_SECRET_ACCESS_KEY,
  type PolicyStatement,
  scopeCredentialsByInvocation,
} from './iam.ts';
import { CONCURRENT_INVOCATIONS_ENV, Functions, installInvocationStore } from './lambda.ts';
import { FunctionLogs } from './logs.ts';
import { type EventRule, rulesFromManifest } from './rules.ts';
import { ExecutionArchive } from './sfn/archive.ts';
import { StepFunctions } from './sfn/executions.ts';
import { stepFunctionsService } from './sfn/service.ts';
import { StreamPoller } from './streams.ts';

export interface LocalRuntimeOptions {
  /** Data directory; default `$ROLLOUT_HOME` or `.rollout` under the working directory. */
  home?: string;
  /** Keep DynamoDB Local and executions in memory and skip stream checkpoints (tests). */
  inMemory?: boolean;
  /** Reuse a running DynamoDB Local instead of starting one. */
  dynamoEndpoint?: string;
  tableName?: string;
  functions?: readonly FunctionSpec[];
  stateMachines?: readonly StateMachineSpec[];
  /** ECS task-definition family → the command that runs it. */
  engineCommands?: Record<string, EngineCommand>;
  extraRules?: EventRule[];
  /** Function name → interval overriding its schedule trigger's rate. */
  scheduleEveryMs?: Record<string, number>;
  extraEnv?: Record<string, string>;
  /** Fixed ports; a free loopback port for each one not given. */
  ports?: { dynamodb?: number; sfn?: number; ecs?: number; eventbridge?: number; cloudwatch?: number };
  /** SIGTERM → SIGKILL grace of ECS StopTask. */
  ecsStopGraceMs?: number;
  /** In memory: finished executions that keep their history. */
  historyRetention?: number;
  /**
   * Where each function's log goes (`<function>.log`, JSON lines); default `<home>/logs`, or, for an
   * in-memory runtime given no home, a temporary directory removed on stop.
   */
  logDir?: string;
  log?: Log;
  /** Sees every event put on a bus (the bench counts a plan's events; `bus.archive()` keeps the last 10,000). */
  onBusEvent?: (event: ArchivedEvent) => void;
}

export interface LocalRuntime {
  endpoints: { dynamodb: string; sfn: string; ecs: string; eventbridge: string; cloudwatch: string };
  tableName: string;
  arns: { functions: Record<string, string>; stateMachines: Record<string, string> };
  /** Every environment variable the runtime set. */
  env: Record<string, string>;
  /** The directory holding the functions' logs. */
  logDir: string;
  /** Runs `fn` as the function `name` would run it: its log lines go to that function's log. */
  asFunction<T>(name: string, fn: () => T): T;
  bus: { archive(): ArchivedEvent[] };
  invokeFunction(name: string, payload: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const log = options.log ?? ((line: string) => console.log(line));
  const functions = options.functions ?? FUNCTIONS;
  const machines = options.stateMachines ?? STATE_MACHINES;
  const tableName = options.tableName ?? RESOURCE_PREFIX;
  const home = options.home ?? process.env.ROLLOUT_HOME ?? join(process.cwd(), '.rollout');
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`stopping the local runtime: ${(error as Error).message}`);
      }
    }
  };

  try {
    const previousEnv = { ...process.env };
    cleanups.push(() => restoreEnv(previousEnv));
    useLocalIdentity();

    cleanups.push(scopeCredentialsByInvocation());

    let dynamoEndpoint = options.dynamoEndpoint;
    if (!dynamoEndpoint) {
      const db = await startDynamoDbLocal(options.inMemory ? {} : { dataPath: join(home, 'dynamodb') });
      cleanups.push(() => db.stop());
      dynamoEndpoint = db.endpoint;
    }
    const dynamodb = new DynamoDBClient({
      endpoint: dynamoEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    cleanups.push(() => dynamodb.destroy());
    await ensureTable(dynamodb, tableName);

    let logDir = options.logDir ?? (options.home || !options.inMemory ? join(home, 'logs') : undefined);
    if (!logDir) {
      const temporary = await mkdtemp(join(tmpdir(), 'rollout-logs-'));
      cleanups.push(() => rm(temporary, { recursive: true, force: true }));
      logDir = temporary;
    }
    const engineCommands = options.engineCommands ?? engineCommandsFromCatalog();
    const authorizer = localAuthorizer(functions, machines, tableName, Object.keys(engineCommands));
    // Functions and tools reach DynamoDB Local through the IAM check, on the stable port.
    const dynamoProxy = await startDynamoDbProxy({
      target: dynamoEndpoint,
      authorizer,
      ...(options.ports?.dynamodb ? { port: options.ports.dynamodb } : {}),
      log,
    });
    cleanups.push(() => dynamoProxy.close());

    const logs = new FunctionLogs(logDir);
    cleanups.push(() => logs.close());
    const lambdas = new Functions(functions, { store: installInvocationStore(), logs });
    const fnArns = Object.fromEntries(functions.map((f) => [f.name, arns.function(f.name)]));
    const machineArns = Object.fromEntries(machines.map((m) => [m.name, arns.stateMachine(m.name)]));

    let sfn: StepFunctions | undefined;
    const { events, schedules } = rulesFromManifest(functions);
    const bus = new LocalBus({
      rules: [...events, ...(options.extraRules ?? [])],
      schedules,
      scheduleEveryMs: options.scheduleEveryMs ?? {},
      log,
      ...(options.onBusEvent ? { onEvent: options.onBusEvent } : {}),
      targets: {
        invokeFunction: (name, event) => lambdas.invoke(name, event),
        startExecution: async (machine, event) => {
          const arn = machineArns[machine] ?? machine;
          return sfn?.startExecution(arn, undefined, JSON.stringify(event));
        },
      },
    });
    cleanups.push(() => bus.stop());
    const ecs = new LocalEcs({
      engineCommands,
      taskEnv: credentialsEnv(ENGINE_TASK_ROLE),
      log,
      ...(options.ecsStopGraceMs !== undefined ? { stopGraceMs: options.ecsStopGraceMs } : {}),
      ...(options.inMemory ? {} : { recordDir: join(home, 'ecs') }),
      onTaskStopped: (task) =>
        bus.publish(DEFAULT_BUS_NAME, 'aws.ecs', 'ECS Task State Change', taskStateChangeDetail(task), [
          task.taskArn,
        ]),
    });
    cleanups.push(() => ecs.stopAll());
    const archive = options.inMemory
      ? undefined
      : new ExecutionArchive(join(home, 'executions'), (error) =>
          log(`writing execution history: ${error.message}`),
        );
    if (archive) cleanups.push(() => archive.flush());
    sfn = new StepFunctions({
      deps: { functions: lambdas, dynamodb, bus, ecs },
      ...(archive ? { archive } : {}),
      ...(options.historyRetention !== undefined ? { historyRetention: options.historyRetention } : {}),
    });
    const stepFunctions = sfn;
    cleanups.push(() => stepFunctions.stopAll());

    const servers: Record<'sfn' | 'ecs' | 'eventbridge' | 'cloudwatch', JsonServer> = {
      sfn: await startJsonServer(stepFunctionsService(sfn), options.ports?.sfn ?? 0, log, authorizer),
      ecs: await startJsonServer(ecsService(ecs), options.ports?.ecs ?? 0, log, authorizer),
      eventbridge: await startJsonServer(
        eventBridgeService(bus),
        options.ports?.eventbridge ?? 0,
        log,
        authorizer,
      ),
      cloudwatch: await startJsonServer(
        cloudWatchService(new LocalAlarms()),
        options.ports?.cloudwatch ?? 0,
        log,
        authorizer,
      ),
    };
    for (const server of Object.values(servers)) cleanups.push(() => server.close());

    const env: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.url,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamoProxy.url,
      AWS_ENDPOINT_URL_SFN: servers.sfn.url,
      AWS_ENDPOINT_URL_ECS: servers.ecs.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: servers.eventbridge.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: servers.cloudwatch.url,
      ...CONCURRENT_INVOCATIONS_ENV,
      // No X-Ray daemon here; Powertools' tracer is off outside Lambda anyway, this says so.
      POWERTOOLS_TRACE_ENABLED: 'false',
      [RESOURCE_ENV.tableName]: tableName,
      [RESOURCE_ENV.eventBusName]: PROJECT_BUS_NAME,
      [RESOURCE_ENV.clusterArn]: arns.cluster(),
      [RESOURCE_ENV.planStateMachineArn]: arns.stateMachine('plan'),
      [RESOURCE_ENV.wavesStateMachineArn]: arns.stateMachine('waves'),
      [RESOURCE_ENV.taskStateMachineArn]: arns.stateMachine('task'),
      [RESOURCE_ENV.rollbackStateMachineArn]: arns.stateMachine('rollback'),
      [RESOURCE_ENV.planOperationStateMachineArn]: arns.stateMachine('plan-operation'),
      ...options.extraEnv,
    };
    // Before any handler module is imported: handlers build their SDK clients at module load.
    Object.assign(process.env, env);

    const values: Record<string, string> = {
      [placeholders.tableName]: tableName,
      [placeholders.eventBusName]: PROJECT_BUS_NAME,
      [placeholders.clusterArn]: arns.cluster(),
      [placeholders.resourcePrefix]: RESOURCE_PREFIX,
    };
    for (const f of functions) values[placeholders.functionArn(f.name)] = arns.function(f.name);
    for (const m of machines) values[placeholders.stateMachineArn(m.name)] = arns.stateMachine(m.name);
    for (const m of machines) {
      sfn.createStateMachine(`${RESOURCE_PREFIX}-${m.name}`, fillPlaceholders(readDefinition(m), values));
    }

    const streamFunction = functions.find((f) => f.trigger?.kind === 'stream');
    if (streamFunction) {
      const poller = new StreamPoller({
        endpoint: dynamoProxy.url,
        credentials: {
          accessKeyId: accessKeyOf(streamFunction.name),
          secretAccessKey: LOCAL_SECRET_ACCESS_KEY,
        },
        dynamodb,
        tableName,
        log,
        deliver: (event) => lambdas.invoke(streamFunction.name, event),
        ...(options.inMemory ? {} : { checkpointFile: join(home, 'streams', `${tableName}.json`) }),
      });
      await poller.start();
      cleanups.push(() => poller.stop());
    }
    bus.startSchedules();
    // Last, once functions can run: an engine of the previous run that ended meanwhile is reported stopped.
    const previous = ecs.adoptRecorded();
    if (previous.adopted || previous.gone) {
      log(`engines of the previous run: ${previous.adopted} still running (adopted), ${previous.gone} gone`);
    }

    return {
      endpoints: {
        dynamodb: dynamoProxy.url,
        sfn: servers.sfn.url,
        ecs: servers.ecs.url,
        eventbridge: servers.eventbridge.url,
        cloudwatch: servers.cloudwatch.url,
      },
      tableName,
      arns: { functions: fnArns, stateMachines: machineArns },
      env,
      logDir,
      asFunction: (name, fn) => lambdas.runAs(name, fn),
      bus: { archive: () => bus.archive() },
      invokeFunction: (name, payload) => lambdas.invoke(name, payload),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Each function's execution role and the engines' task role, as functions/grants.ts derives them, with local ARNs. */
function localAuthorizer(
  functions: readonly FunctionSpec[],
  machines: readonly StateMachineSpec[],
  tableName: string,
  engineFamilies: readonly string[],
): Authorizer {
  const table = arns.table(tableName);
  const names: GrantNames = {
    table,
    index: (name) => `${table}/index/${name}`,
    tableStream: `${table}/stream/*`,
    stateMachine: (machine) => arns.stateMachine(machine),
    executions: (machine) => arns.execution(`${RESOURCE_PREFIX}-${machine}`, '*'),
    eventBus: arns.eventBus(PROJECT_BUS_NAME),
    engineTaskDefinitions: engineFamilies.map((family) => arns.taskDefinition(family)),
    clusterTasks: arns.task('*'),
    // No roles are passed locally: engines are processes, so iam:PassRole is not checked.
    engineRoles: [],
    cluster: arns.cluster(),
    alarms: arns.alarm('*'),
  };
  const machineNames = machines.map((m) => m.name);
  const policies = new Map<string, PolicyStatement[]>(
    functions.map((spec) => [spec.name, renderGrants(functionGrants(spec, machineNames), names)]),
  );
  policies.set(ENGINE_TASK_ROLE, renderGrants(ENGINE_TASK_ROLE_GRANTS, names));
  return new Authorizer(policies, (principal) => `${RESOURCE_PREFIX}-${principal}`);
}

function restoreEnv(previous: NodeJS.ProcessEnv) {
  for (const key of Object.keys(process.env)) if (!(key in previous)) delete process.env[key];
  Object.assign(process.env, previous);
}
