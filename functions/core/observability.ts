/**
 * Powertools Logger, Metrics and Tracer, one of each per module instance, and the
 * middy middleware every handler uses. State that belongs to one invocation
 * (appended keys, metrics) is scoped by Powertools to that invocation, also when
 * several run at once in one process (AWS_LAMBDA_MAX_CONCURRENCY; the local
 * runtime runs every function that way).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Plan, RolloutEvent, Task } from './model.ts';
import {
  type Datapoint,
  METRICS,
  metricsForTransition,
  TELEMETRY_DEFAULTS,
  TELEMETRY_ENV,
} from './telemetry.ts';

const serviceName = process.env[TELEMETRY_ENV.serviceName] || TELEMETRY_DEFAULTS.serviceName;

export const logger = new Logger({
  serviceName,
  logLevel: (process.env[TELEMETRY_ENV.logLevel] || TELEMETRY_DEFAULTS.logLevel) as 'INFO',
});
export const metrics = new Metrics({
  serviceName,
  namespace: process.env[TELEMETRY_ENV.metricsNamespace] || TELEMETRY_DEFAULTS.metricsNamespace,
  logger,
});
/**
 * Powertools' tracer, loaded only where it records something: on Lambda (AWS_EXECUTION_ENV) with
 * tracing on, as Powertools itself decides. Merely importing the X-Ray SDK installs an async hook
 * that tracks every promise of the process (cls-hooked, unless AWS_XRAY_MANUAL_MODE). In the local
 * runtime every function, the state machines and the API share one process with tracing off; in a
 * CPU profile of a 1,000-tenant bench run that hook took 11 % of the process's CPU time.
 */
const tracing =
  process.env.AWS_EXECUTION_ENV && process.env.POWERTOOLS_TRACE_ENABLED !== 'false'
    ? await loadTracing()
    : undefined;

async function loadTracing() {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import('@aws-lambda-powertools/tracer'),
    import('@aws-lambda-powertools/tracer/middleware'),
  ]);
  return { tracer: new Tracer({ serviceName }), captureLambdaHandler };
}

/** An SDK client whose calls become X-Ray subsegments when tracing is on; the client itself otherwise. */
export function traced<Client>(client: Client): Client {
  return tracing ? tracing.tracer.captureAWSv3Client(client) : client;
}

/** The keys every log line of this invocation carries from now on. */
export interface LogKeys {
  planId?: string;
  taskId?: string;
  tenantId?: string;
  stage?: string;
  executionArn?: string;
}

export function appendLogKeys(keys: LogKeys): void {
  const defined = Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined && v !== ''));
  if (Object.keys(defined).length) logger.appendKeys(defined);
}

/** One EMF record per datapoint: each metric has its own dimensions. */
export function emit(points: readonly Datapoint[], metadata: Record<string, string | undefined> = {}): void {
  for (const point of points) {
    const spec = METRICS[point.metric];
    const single = metrics.singleMetric();
    if (spec.dimension && point.dimension) single.addDimension(spec.dimension, point.dimension);
    for (const [key, value] of Object.entries(metadata)) if (value) single.addMetadata(key, value);
    single.addMetric(spec.name, spec.unit as (typeof MetricUnit)[keyof typeof MetricUnit], point.value);
  }
}

/**
 * A committed transition: one log line naming it, and the metrics it stands for.
 * The store calls this after each transaction that wrote an event.
 */
export function observeTransition(event: RolloutEvent, before: Task | Plan, after: Task | Plan): void {
  try {
    reportTransition(event, before, after);
  } catch (error) {
    // The transition is committed; failing to report it must not fail the step that made it.
    logger.warn({ message: 'could not report a transition', eventType: event.type, error });
  }
}

function reportTransition(event: RolloutEvent, before: Task | Plan, after: Task | Plan): void {
  const keys = {
    planId: event.planId,
    taskId: event.taskId,
    tenantId: event.tenantId,
    stage: event.currentStage,
  };
  const failed = event.failureInfo !== undefined && /Failed$/.test(event.type);
  const line = {
    message: event.type,
    ...keys,
    status: event.status,
    sequenceId: event.sequenceId,
    ...(event.failureInfo ? { failureInfo: event.failureInfo } : {}),
  };
  if (failed) logger.warn(line);
  else if (event.type === 'TaskHeartbeat' || event.type === 'PlanProgress') logger.debug(line);
  else logger.info(line);
  emit(metricsForTransition(event, before, after), keys);
}

/** Logger (Lambda context, keys reset per invocation), Tracer, and a log line for every failed invocation. */
export function observability<E, R>(
  options: { expectedErrors?: readonly string[] } = {},
): MiddlewareObj<E, R, Error, Context>[] {
  const expected = new Set(options.expectedErrors ?? []);
  const logFailure: MiddlewareObj<E, R, Error, Context> = {
    onError: ({ error }) => {
      if (!error) return;
      // Expected errors (a lock still held, a stage failure already recorded) steer the state machine.
      if (expected.has(error.name)) {
        logger.info({
          message: 'step ended with an expected error',
          errorName: error.name,
          reason: error.message,
        });
        return;
      }
      logger.error({ message: 'invocation failed', error });
      emit([{ metric: 'invocationFailed', value: 1 }]);
    },
  };
  return [
    injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj<E, R, Error, Context>,
    ...(tracing
      ? [
          tracing.captureLambdaHandler(tracing.tracer, { captureResponse: false }) as MiddlewareObj<
            E,
            R,
            Error,
            Context
          >,
        ]
      : []),
    logFailure,
  ];
}
