/**
 * Defaults and their precedence: the plan request, then the deployment
 * configuration (environment variables set by CDK or the local runtime), then DEFAULTS.
 */
import { SETTINGS_ENV } from './env.ts';
import type { FailureThreshold } from './model.ts';
import type { HealthCheckSettings, PlanRequest } from './schemas.ts';

export const DEFAULTS = {
  healthCheck: {
    intervalSeconds: 3,
    maxAttempts: 10,
    path: '/health',
    versionKey: 'version',
    timeoutSeconds: 2,
  } satisfies HealthCheckSettings,
  broadcastPath: '/config',
  maxConcurrency: 1,
  heartbeatSeconds: 10,
  maxRetries: 3,
  lockLeaseSeconds: 60,
  eventTtlDays: 30,
  provisionTimeoutSeconds: 120,
  drainGraceSeconds: 30,
  /** Stages used when a config names no serviceNames. */
  serviceNames: ['app'],
} as const;

type Env = Record<string, string | undefined>;

function numberFrom(env: Env, name: string, fallback: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'a positive integer' : 'a positive number';
    throw new Error(`environment variable ${name} must be ${kind}, got "${raw}"`);
  }
  return value;
}

export interface DeploymentSettings {
  defaultServiceNames: string[];
  healthCheck: HealthCheckSettings;
  broadcastPath: string;
  eventTtlDays: number;
  lockLeaseSeconds: number;
  provisionTimeoutSeconds: number;
  drainGraceSeconds: number;
  /** Where Fargate engines run (comma-separated ids in the environment). */
  engineSubnets: string[];
  engineSecurityGroups: string[];
}

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function deploymentSettings(env: Env = process.env): DeploymentSettings {
  const services = env[SETTINGS_ENV.defaultServiceNames];
  const defaultServiceNames = services
    ? services
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...DEFAULTS.serviceNames];
  // A list that names no service would plan tasks with no stages, which "complete" having done nothing.
  if (defaultServiceNames.length === 0) {
    throw new Error(
      `environment variable ${SETTINGS_ENV.defaultServiceNames} names no service, got "${services}"`,
    );
  }
  return {
    defaultServiceNames,
    healthCheck: {
      intervalSeconds: numberFrom(
        env,
        SETTINGS_ENV.healthIntervalSeconds,
        DEFAULTS.healthCheck.intervalSeconds,
      ),
      maxAttempts: numberFrom(env, SETTINGS_ENV.healthMaxAttempts, DEFAULTS.healthCheck.maxAttempts, true),
      path: env[SETTINGS_ENV.healthPath] || DEFAULTS.healthCheck.path,
      versionKey: env[SETTINGS_ENV.healthVersionKey] || DEFAULTS.healthCheck.versionKey,
      timeoutSeconds: DEFAULTS.healthCheck.timeoutSeconds,
    },
    broadcastPath: env[SETTINGS_ENV.broadcastPath] || DEFAULTS.broadcastPath,
    eventTtlDays: numberFrom(env, SETTINGS_ENV.eventTtlDays, DEFAULTS.eventTtlDays),
    lockLeaseSeconds: numberFrom(env, SETTINGS_ENV.lockLeaseSeconds, DEFAULTS.lockLeaseSeconds),
    provisionTimeoutSeconds: numberFrom(
      env,
      SETTINGS_ENV.provisionTimeoutSeconds,
      DEFAULTS.provisionTimeoutSeconds,
      // It becomes the engine state's TimeoutSecondsPath, which must be a positive integer (States.Runtime otherwise).
      true,
    ),
    drainGraceSeconds: numberFrom(env, SETTINGS_ENV.drainGraceSeconds, DEFAULTS.drainGraceSeconds),
    engineSubnets: list(env[SETTINGS_ENV.engineSubnets]),
    engineSecurityGroups: list(env[SETTINGS_ENV.engineSecurityGroups]),
  };
}

export interface PlanSettings {
  name: string;
  maxConcurrency: number;
  failureThreshold?: FailureThreshold;
  healthCheck: HealthCheckSettings;
  broadcastPath: string;
  provisionTimeoutSeconds: number;
}

export function resolvePlanSettings(
  request: PlanRequest,
  deployment: DeploymentSettings,
  now: Date,
): PlanSettings {
  const threshold = request.failureThreshold;
  return {
    name: request.name ?? `rollout ${now.toISOString()}`,
    maxConcurrency: request.maxConcurrency ?? DEFAULTS.maxConcurrency,
    ...(threshold === undefined
      ? {}
      : {
          failureThreshold:
            typeof threshold === 'number' ? { count: threshold } : { percent: Number.parseFloat(threshold) },
        }),
    healthCheck: { ...deployment.healthCheck, ...request.healthCheck },
    broadcastPath: request.broadcastPath ?? deployment.broadcastPath,
    provisionTimeoutSeconds: request.provisionTimeoutSeconds ?? deployment.provisionTimeoutSeconds,
  };
}

/** True once more tasks failed than the threshold allows. */
export function thresholdExceeded(
  threshold: FailureThreshold | undefined,
  failed: number,
  total: number,
): boolean {
  if (!threshold) return false;
  if ('count' in threshold) return failed > threshold.count;
  return total > 0 && (failed / total) * 100 > threshold.percent;
}
