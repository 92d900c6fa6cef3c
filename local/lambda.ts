/**
 * Functions invoked in-process, as Lambda would: JSON in and out, a context
 * with the remaining time, the configured timeout enforced, and failures shaped
 * as Lambda reports them (`errorType`, `errorMessage`, `trace`).
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { FunctionSpec } from '../functions/manifest.ts';
import { arns } from './arns.ts';

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

  constructor(specs: readonly FunctionSpec[]) {
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
    const event = payload === undefined ? {} : JSON.parse(JSON.stringify(payload));
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
      const result = await Promise.race([Promise.resolve().then(() => handler(event, context)), timedOut]);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      throw error instanceof FunctionError ? error : new FunctionError(lambdaErrorPayload(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Imported on first use: handlers build SDK clients at module load, after the runtime set the environment. */
  private handlerOf(spec: FunctionSpec): Promise<Handler> {
    let loading = this.loaded.get(spec.name);
    if (!loading) {
      loading = import(pathToFileURL(new URL(spec.entry, repoRoot).pathname).href).then((module) => {
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
