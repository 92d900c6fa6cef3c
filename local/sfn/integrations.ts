/**
 * Task resources served as Step Functions' optimized integrations: request
 * fields from Parameters, result and error shapes as AWS produces them.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { EcsTask, LocalEcs, RunTaskInput } from '../ecs.ts';
import type { LocalBus, PutEventsEntry } from '../eventbridge.ts';
import { AwsError } from '../http.ts';
import { FunctionError, type Functions, lambdaErrorPayload } from '../lambda.ts';
import { errorMessage, errorName, StatesError, whenAborted } from './errors.ts';

export interface ExecutionView {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
}

export interface ChildExecutions {
  start(stateMachineArn: string, name: string | undefined, input: string): ExecutionView;
  whenDone(executionArn: string): Promise<ExecutionView>;
  stop(executionArn: string, error: string, cause: string): void;
}

export interface IntegrationDeps {
  functions: Functions;
  dynamodb: DynamoDBClient;
  bus: LocalBus;
  ecs: LocalEcs;
  executions: ChildExecutions;
}

export interface TaskCall {
  service: string;
  action: string;
  /** '', 'sync', 'sync:2' or 'waitForTaskToken' (for which the call only submits). */
  pattern: string;
  // biome-ignore lint/suspicious/noExplicitAny: Parameters are free-form JSON checked per integration
  parameters: any;
  /** Aborts when the execution stops or the state times out. */
  signal: AbortSignal;
  onSubmitted(output: unknown): void;
}

// biome-ignore lint/suspicious/noExplicitAny: see TaskCall.parameters
type Params = any;

export async function callIntegration(call: TaskCall, deps: IntegrationDeps): Promise<unknown> {
  switch (call.service) {
    case 'lambda-function':
      return invokeLambda(call.action, call.parameters, deps, false);
    case 'lambda':
      if (call.action !== 'invoke') break;
      return invokeLambda(
        String(call.parameters?.FunctionName),
        call.parameters?.Payload,
        deps,
        true,
        call.parameters?.InvocationType === 'Event',
      );
    case 'dynamodb':
      return dynamodb(call.action, call.parameters, deps.dynamodb);
    case 'events':
      if (call.action === 'putEvents') return putEvents(call.parameters, deps.bus);
      break;
    case 'ecs':
      if (call.action === 'runTask') return runTask(call, deps.ecs);
      break;
    case 'states':
      if (call.action === 'startExecution') return startExecution(call, deps.executions);
      break;
  }
  throw new StatesError(
    'States.Runtime',
    `resource not supported by the local runtime: ${call.service}:${call.action}`,
  );
}

async function invokeLambda(
  functionName: string,
  payload: unknown,
  deps: IntegrationDeps,
  optimized: boolean,
  async = false,
): Promise<unknown> {
  const invocation = deps.functions.invoke(functionName, payload ?? {});
  if (async) {
    invocation.catch(() => {});
    return { Payload: '', StatusCode: 202, SdkHttpMetadata: { HttpStatusCode: 202 } };
  }
  try {
    const result = await invocation;
    if (!optimized) return result;
    return {
      ExecutedVersion: '$LATEST',
      Payload: result,
      SdkHttpMetadata: { HttpHeaders: { 'X-Amz-Executed-Version': '$LATEST' }, HttpStatusCode: 200 },
      SdkResponseMetadata: {},
      StatusCode: 200,
    };
  } catch (error) {
    const payload = lambdaErrorPayload(error);
    if (!(error instanceof FunctionError) || payload.errorType === 'ResourceNotFoundException') {
      throw new StatesError(`Lambda.${payload.errorType}`, payload.errorMessage);
    }
    throw new StatesError(payload.errorType, JSON.stringify(payload));
  }
}

const DYNAMODB_ACTIONS: Record<
  string,
  (client: DynamoDBClient, p: Params) => Promise<{ $metadata: unknown }>
> = {
  getItem: (client, p) => client.send(new GetItemCommand(p)),
  putItem: (client, p) => client.send(new PutItemCommand(p)),
  updateItem: (client, p) => client.send(new UpdateItemCommand(p)),
  deleteItem: (client, p) => client.send(new DeleteItemCommand(p)),
};

async function dynamodb(action: string, parameters: Params, client: DynamoDBClient): Promise<unknown> {
  const send = DYNAMODB_ACTIONS[action];
  if (!send) throw new StatesError('States.Runtime', `dynamodb:${action} is not an optimized integration`);
  try {
    const { $metadata: _, ...output } = await send(client, parameters);
    return output;
  } catch (error) {
    const name = errorName(error);
    const requestId = (error as { $metadata?: { requestId?: string } }).$metadata?.requestId ?? '';
    const cause = `${errorMessage(error)} (Service: DynamoDb, Status Code: 400, Error Code: ${name}, Request ID: ${requestId})`;
    // Step Functions reports DynamoDB errors without a modelled exception class under this name.
    throw new StatesError(
      name === 'ValidationException' ? 'DynamoDB.AmazonDynamoDBException' : `DynamoDB.${name}`,
      cause,
    );
  }
}

function putEvents(parameters: Params, bus: LocalBus): unknown {
  const entries: PutEventsEntry[] = (parameters?.Entries ?? []).map((entry: Params) => ({
    ...entry,
    Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail ?? {}),
  }));
  const result = bus.putEvents(entries);
  if (result.FailedEntryCount > 0) throw new StatesError('EventBridge.FailedEntry', JSON.stringify(result));
  return result;
}

async function runTask(call: TaskCall, ecs: LocalEcs): Promise<unknown> {
  let task: EcsTask;
  try {
    task = ecs.runTask(camelKeys(call.parameters) as RunTaskInput);
  } catch (error) {
    if (error instanceof AwsError) throw new StatesError('ECS.AmazonECSException', error.message);
    throw error;
  }
  if (call.pattern !== 'sync') return { Tasks: [sfnTask(task)], Failures: [] };
  call.onSubmitted({ Tasks: [sfnTask(task)], Failures: [] });
  const onAbort = () => ecs.stopTask(task.taskArn, 'Stopped by Step Functions');
  call.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const stopped = await Promise.race([ecs.whenStopped(task.taskArn), whenAborted(call.signal)]);
    const output = sfnTask(stopped);
    if (stopped.containers.some((c) => c.exitCode !== 0)) {
      throw new StatesError('States.TaskFailed', JSON.stringify(output));
    }
    return output;
  } finally {
    call.signal.removeEventListener('abort', onAbort);
  }
}

async function startExecution(call: TaskCall, executions: ChildExecutions): Promise<unknown> {
  const p = call.parameters ?? {};
  const input =
    p.Input === undefined ? '{}' : typeof p.Input === 'string' ? p.Input : JSON.stringify(p.Input);
  let child: ExecutionView;
  try {
    child = executions.start(String(p.StateMachineArn), p.Name, input);
  } catch (error) {
    if (error instanceof AwsError)
      throw new StatesError(`StepFunctions.${error.type}Exception`, error.message);
    throw error;
  }
  if (!call.pattern.startsWith('sync'))
    return { ExecutionArn: child.executionArn, StartDate: child.startDate };
  call.onSubmitted({ ExecutionArn: child.executionArn, StartDate: child.startDate });
  // As on AWS, stopping the parent stops a child it waits for.
  const onAbort = () => executions.stop(child.executionArn, 'States.Aborted', 'parent execution stopped');
  call.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const done = await Promise.race([executions.whenDone(child.executionArn), whenAborted(call.signal)]);
    const parsed = call.pattern === 'sync:2';
    const output = {
      ExecutionArn: done.executionArn,
      Input: parsed ? JSON.parse(done.input) : done.input,
      InputDetails: { Included: true },
      Name: done.name,
      Output: done.output === undefined ? null : parsed ? JSON.parse(done.output) : done.output,
      OutputDetails: { Included: true },
      StartDate: done.startDate,
      StateMachineArn: done.stateMachineArn,
      Status: done.status,
      StopDate: done.stopDate,
      ...(done.error !== undefined ? { Error: done.error } : {}),
      ...(done.cause !== undefined ? { Cause: done.cause } : {}),
    };
    if (done.status !== 'SUCCEEDED') throw new StatesError('States.TaskFailed', JSON.stringify(output));
    return output;
  } finally {
    call.signal.removeEventListener('abort', onAbort);
  }
}

/** Step Functions returns ECS tasks with PascalCase fields and epoch-millisecond dates. */
function sfnTask(task: EcsTask): unknown {
  const { family: _family, ...rest } = task;
  return pascalKeys(rest);
}

function pascalKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pascalKeys);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k[0]!.toUpperCase() + k.slice(1), pascalKeys(v)]),
  );
}

function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k[0]!.toLowerCase() + k.slice(1), camelKeys(v)]),
  );
}
