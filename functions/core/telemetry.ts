/**
 * What the functions report to operators, declared once: the environment that
 * configures logs, metrics and traces, and the metric catalog (names, units,
 * dimensions) that functions emit and the CDK dashboard and alarms read.
 * Pure: no Powertools here, so CDK can import it.
 */
import type { FailureInfo, Plan, RolloutEvent, Task } from './model.ts';

/** Powertools reads these; CDK sets them on every function and the local runtime in its process. */
export const TELEMETRY_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

export const TELEMETRY_DEFAULTS = {
  serviceName: 'tenant-rollout',
  metricsNamespace: 'TenantRollout',
  logLevel: 'INFO',
} as const;

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every metric carries Powertools' `service` dimension (the service name); some add one more. */
export const METRICS = {
  stageSucceeded: { name: 'StageSucceeded', unit: 'Count', dimension: undefined },
  stageFailed: { name: 'StageFailed', unit: 'Count', dimension: 'step' },
  stageDuration: { name: 'StageDuration', unit: 'Milliseconds', dimension: undefined },
  healthRounds: { name: 'HealthRounds', unit: 'Count', dimension: undefined },
  lockWait: { name: 'LockWait', unit: 'Milliseconds', dimension: undefined },
  taskEnded: { name: 'TaskEnded', unit: 'Count', dimension: 'status' },
  planFinished: { name: 'PlanFinished', unit: 'Count', dimension: 'status' },
  engineProvisionTime: { name: 'EngineProvisionTime', unit: 'Milliseconds', dimension: undefined },
  /** An invocation that ended with an error its caller does not expect (not a lock wait, not a recorded stage failure). */
  invocationFailed: { name: 'InvocationFailed', unit: 'Count', dimension: undefined },
} as const;
export type MetricKey = keyof typeof METRICS;

/** Values of the `step` dimension of StageFailed: the step that failed. */
export const FAILED_STEPS = ['provision', 'broadcast', 'health-check', 'lock', 'other'] as const;
export type FailedStep = (typeof FAILED_STEPS)[number];

export function failedStep(failure: FailureInfo | undefined): FailedStep {
  switch (failure?.type) {
    case 'PROVISION':
      return 'provision';
    case 'BROADCAST':
      return 'broadcast';
    case 'HEALTH_CHECK':
      return 'health-check';
    case 'LOCK':
      return 'lock';
    default:
      return 'other';
  }
}

export interface Datapoint {
  metric: MetricKey;
  value: number;
  /** The value of the metric's own dimension, when it has one. */
  dimension?: string;
}

const TERMINAL_TASK_EVENTS = new Set([
  'TaskCompleted',
  'TaskFailed',
  'TaskCancelled',
  'TaskRolledBack',
  'TaskRollbackFailed',
]);
const TERMINAL_PLAN_EVENTS = new Set([
  'PlanCompleted',
  'PlanFailed',
  'PlanCancelled',
  'PlanRolledBack',
  'PlanRollbackFailed',
]);

const elapsedMs = (from: string | undefined, to: string) => {
  if (!from) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
};

/**
 * The metrics one committed transition stands for. Counting committed events (not
 * attempts) counts each stage outcome and each task and plan end exactly once,
 * whichever path (step, operator, supervisor) caused it.
 */
export function metricsForTransition(
  event: RolloutEvent,
  before: Task | Plan,
  after: Task | Plan,
): Datapoint[] {
  const points: Datapoint[] = [];
  const rounds = event.detail?.rounds;
  const stageMs = 'stageStartedAt' in after ? elapsedMs(after.stageStartedAt, event.timestamp) : undefined;
  switch (event.type) {
    case 'TaskStageSucceeded':
      points.push({ metric: 'stageSucceeded', value: 1 });
      break;
    case 'TaskStageFailed':
      points.push({ metric: 'stageFailed', value: 1, dimension: failedStep(event.failureInfo) });
      break;
    case 'TaskStarted':
      // The task's last change before the lock was its validation or its move to PENDING.
      if (before.status === 'VALIDATED' || before.status === 'PENDING') {
        const waited = elapsedMs(before.updatedAt, event.timestamp);
        if (waited !== undefined) points.push({ metric: 'lockWait', value: waited });
      }
      break;
  }
  if (event.type === 'TaskStageSucceeded' || event.type === 'TaskStageFailed') {
    if (stageMs !== undefined) points.push({ metric: 'stageDuration', value: stageMs });
    if (typeof rounds === 'number') points.push({ metric: 'healthRounds', value: rounds });
  }
  if (TERMINAL_TASK_EVENTS.has(event.type))
    points.push({ metric: 'taskEnded', value: 1, dimension: event.status });
  if (TERMINAL_PLAN_EVENTS.has(event.type))
    points.push({ metric: 'planFinished', value: 1, dimension: event.status });
  return points;
}
