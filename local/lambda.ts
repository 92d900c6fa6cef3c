/**
 * Functions invoked in-process, as Lambda would: JSON in and out, a context
 * with the remaining time, the configured timeout enforced, and failures shaped
 * as Lambda reports them (`errorType`, `errorMessage`, `trace`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { FunctionSpec } from '../functions/manifest.ts';
import { arns } from './arns.ts';
import { asPrincipal } from './iam.ts';
import type { FunctionLogs } from './logs.ts';

/**
 * Every function runs in this one process, several invocations at once, as on a Lambda
 * Managed Instance: with this variable set, Powertools keeps per-invocation state
 * (log keys, Lambda context, metrics) in the runtime's InvokeStore instead of on its
 * module-level instances.
 */
export const CONCURRENT_INVOCATIONS_ENV = { AWS_LAMBDA_MAX_CONCURRENCY: '1000' };

type InvocationContext = Record<string | symbol, unknown>;

/** The invocation-scoped store Lambda's runtime provides for concurrent invocations (one context per invocation). */
class InvocationStore extends InvokeStoreBase {
  private readonly als = new AsyncLocalStorage<InvocationContext>();
  getContext() {
    return this.als.getStore();
  }
  hasContext() {
    return this.als.getStore() !== undefined;
  }
  get<T = unknown>(key: string | symbol): T | undefined {
    return this.als.getStore()?.[key] as T | undefined;
  }
  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key))
      throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    const context = this.als.getStore();
    if (!context) throw new Error('No context available');
    context[key] = value;
  }
  run<T>(context: InvocationContext, fn: () => T): T {
    return this.als.run(context, fn);
  }
}

/**
 * Installs the store where Lambda's runtime puts it. It replaces one created earlier in this
 * process: the AWS SDK creates a single-invocation store on first use, before the runtime started.
 */
export function installInvocationStore(): InvokeStoreBase {
  const global = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
  const current = global.awslambda?.InvokeStore;
  if (current instanceof InvocationStore) return current;
  const store = new InvocationStore();
  global.awslambda = { ...global.awslambda, InvokeStore: store };
  return store;
}

/**
 * "Invocation payload (request and response): 6 MB each for request and response (synchronous)"
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The request limit is the
 * Invoke body, 6 MiB; a response above it fails the invocation as a function error
 * (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html, RequestTooLargeException: 413).
 */
export const MAX_REQUEST_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_RESPONSE_PAYLOAD_BYTES = MAX_REQUEST_PAYLOAD_BYTES + 100;

/** Lambda refused the Invoke call itself: the function never ran (Step Functions reports it as `Lambda.<name>`). */
export class LambdaServiceError extends Error {
  readonly status: number;
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.status = status;
  }
}

export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** A failed invocation; `name` is the Lambda `errorType`, so ASL Retry/Catch match on it. */
export class FunctionError extends Error {
  readonly payload: LambdaErrorPayload;
  constructor(payload: LambdaErrorPayload) {
    super(payload.errorMessage);
    this.name = payload.errorType;
    this.payload = payload;
  }
}

export interface LambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

type Handler = (event: unknown, context: LambdaContext) => unknown;

const repoRoot = new URL('../', import.meta.url);

export function lambdaErrorPayload(error: unknown): LambdaErrorPayload {
  if (error instanceof FunctionError) return error.payload;
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    errorType: err.name || 'Error',
    errorMessage: err.message,
    trace: (err.stack ?? `${err.name}: ${err.message}`).split('\n'),
  };
}

export class Functions {
  private readonly byName = new Map<string, FunctionSpec>();
  private readonly loaded = new Map<string, Promise<Handler>>();
  private readonly scope: { store: InvokeStoreBase; logs: FunctionLogs };

  /** `logs` receives what each function writes; `store` scopes each invocation's state. */
  constructor(specs: readonly FunctionSpec[], scope: { store: InvokeStoreBase; logs: FunctionLogs }) {
    this.scope = scope;
    for (const spec of specs) {
      this.byName.set(spec.name, spec);
      this.byName.set(arns.functionName(spec.name), spec);
      this.byName.set(arns.function(spec.name), spec);
    }
  }

  /** Short name, deployed name, or ARN (with or without a qualifier) → spec. */
  resolve(nameOrArn: string): FunctionSpec {
    const unqualified = nameOrArn.startsWith('arn:')
      ? nameOrArn.split(':').slice(0, 7).join(':')
      : nameOrArn.split(':')[0]!;
    const spec = this.byName.get(unqualified);
    if (!spec) throw new FunctionError(lambdaErrorPayload(notFound(nameOrArn)));
    return spec;
  }

  async invoke(nameOrArn: string, payload: unknown): Promise<unknown> {
    const spec = this.resolve(nameOrArn);
    const handler = await this.handlerOf(spec);
    const timeoutMs = spec.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    const requestId = randomUUID();
    const functionName = arns.functionName(spec.name);
    const context: LambdaContext = {
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: arns.function(spec.name),
      memoryLimitInMB: String(spec.memoryMb),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    // Lambda hands the handler a fresh deserialised event and serialises what it returns.
    const request = payload === undefined ? '{}' : JSON.stringify(payload);
    if (Buffer.byteLength(request) > MAX_REQUEST_PAYLOAD_BYTES) {
      throw new LambdaServiceError(
        'RequestTooLargeException',
        `Request must be smaller than ${MAX_REQUEST_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
        413,
      );
    }
    const event = JSON.parse(request);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new FunctionError({
              errorType: 'Sandbox.Timedout',
              errorMessage: `Task timed out after ${spec.timeoutSeconds.toFixed(2)} seconds`,
              trace: [],
            }),
          ),
        timeoutMs,
      );
    });
    try {
      const invocation = this.runAs(
        spec.name,
        () => Promise.resolve().then(() => handler(event, context)),
        requestId,
      );
      const result = await Promise.race([invocation, timedOut]);
      const response = JSON.stringify(result ?? null);
      if (Buffer.byteLength(response) > MAX_RESPONSE_PAYLOAD_BYTES) {
        throw new FunctionError({
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_PAYLOAD_BYTES} bytes).`,
          trace: [],
        });
      }
      return JSON.parse(response);
    } catch (error) {
      throw error instanceof FunctionError ? error : new FunctionError(lambdaErrorPayload(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `fn` as an invocation of the function `name`: its own invocation state, its output to the
   * function's log, its execution role's credentials (local/iam.ts).
   */
  runAs<T>(name: string, fn: () => T, requestId: string = randomUUID()): T {
    const spec = this.resolve(name);
    return this.scope.store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, () =>
      this.scope.logs.run(spec.name, () => asPrincipal(spec.name, fn)),
    );
  }

  /** Imported on first use: handlers build SDK clients at module load, after the runtime set the environment. */
  private handlerOf(spec: FunctionSpec): Promise<Handler> {
    let loading = this.loaded.get(spec.name);
    if (!loading) {
      // One instance of the entry module per function, as each Lambda loads its own bundle: the SDK clients
      // it builds belong to that function and sign with its role (two functions may share an entry).
      const url = `${pathToFileURL(new URL(spec.entry, repoRoot).pathname).href}?function=${encodeURIComponent(spec.name)}`;
      loading = import(url).then((module) => {
        if (typeof module.handler !== 'function') throw new Error(`${spec.entry} does not export a handler`);
        return module.handler as Handler;
      });
      this.loaded.set(spec.name, loading);
    }
    return loading;
  }
}

function notFound(name: string) {
  const error = new Error(`Function not found: ${name}`);
  error.name = 'ResourceNotFoundException';
  return error;
}
