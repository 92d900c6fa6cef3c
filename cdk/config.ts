/**
 * The deployment configuration, read from CDK context (`cdk.json` or `-c key=value`) and checked
 * before anything is built. Defaults for the functions' own settings stay in functions/core/settings.ts:
 * only the keys given here become environment variables.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { SETTINGS_ENV } from '../functions/core/env.ts';
import { deploymentSettings } from '../functions/core/settings.ts';
import { LOG_LEVELS, type LogLevel, TELEMETRY_DEFAULTS, TELEMETRY_ENV } from '../functions/core/telemetry.ts';

export interface AuthConfig {
  issuer: string;
  audience: string[];
}

export interface RolloutConfig {
  /** Prefix of every resource name. */
  prefix: string;
  /** An existing VPC for the engines and functions; a new one when absent. */
  vpcId?: string;
  /** JWT authorizer settings; IAM authorization when absent. */
  auth?: AuthConfig;
  logRetention: RetentionDays;
  deletionProtection: boolean;
  eventBusName: string;
  throttle: { rateLimit: number; burstLimit: number };
  /** Deployment settings as environment variables (SETTINGS_ENV names), only those configured. */
  settingsEnv: Record<string, string>;
  /** Where the functions' metrics go and how much they log; the service name is the prefix. */
  telemetry: { metricsNamespace: string; logLevel: LogLevel };
}

/** The Powertools environment of every function (TELEMETRY_ENV names). */
export function telemetryEnv(config: RolloutConfig): Record<string, string> {
  return {
    [TELEMETRY_ENV.serviceName]: config.prefix,
    [TELEMETRY_ENV.metricsNamespace]: config.telemetry.metricsNamespace,
    [TELEMETRY_ENV.logLevel]: config.telemetry.logLevel,
  };
}

function telemetry(read: Read): RolloutConfig['telemetry'] {
  const metricsNamespace = text(read, 'metricsNamespace') ?? TELEMETRY_DEFAULTS.metricsNamespace;
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Metric.html: 1-255 characters,
  // not starting with ':'; "AWS/" is reserved for AWS services. The characters are EMF's namespace alphabet.
  if (
    !/^[0-9A-Za-z._#/ -][0-9A-Za-z._#:/ -]{0,254}$/.test(metricsNamespace) ||
    metricsNamespace.startsWith('AWS/')
  ) {
    throw new Error(
      `context metricsNamespace must be 1-255 letters, digits, spaces or . _ # : / - and not start with AWS/, got ${metricsNamespace}`,
    );
  }
  const rawLevel = text(read, 'logLevel') ?? TELEMETRY_DEFAULTS.logLevel;
  const logLevel = rawLevel.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`context logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${rawLevel}`);
  }
  return { metricsNamespace, logLevel: logLevel as LogLevel };
}

export const CONTEXT_DEFAULTS = {
  prefix: 'tenant-rollout',
  logRetentionDays: 30,
  deletionProtection: true,
  throttleRate: 50,
  throttleBurst: 100,
} as const;

/** Settings CDK sets itself from the resources it creates; they are not context keys. */
const DERIVED_SETTINGS = new Set<string>([SETTINGS_ENV.engineSubnets, SETTINGS_ENV.engineSecurityGroups]);

/** Context keys for the functions' deployment settings: the SETTINGS_ENV keys, e.g. `healthMaxAttempts`. */
export const SETTINGS_CONTEXT_KEYS = Object.entries(SETTINGS_ENV)
  .filter(([, envName]) => !DERIVED_SETTINGS.has(envName))
  .map(([key]) => key);

const RETENTION_DAYS = new Set<number>(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'),
);

type Read = (key: string) => unknown;

const text = (read: Read, key: string): string | undefined => {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new Error(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
};

const positiveNumber = (read: Read, key: string, fallback: number): number => {
  const raw = read(key);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`context ${key} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
};

const flag = (read: Read, key: string, fallback: boolean): boolean => {
  const raw = read(key);
  if (raw === undefined || raw === '') return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
};

const list = (raw: unknown): string[] =>
  (Array.isArray(raw) ? raw.map(String) : String(raw).split(',')).map((s) => s.trim()).filter(Boolean);

function auth(read: Read): AuthConfig | undefined {
  const issuer = text(read, 'authIssuer');
  const audienceRaw = read('authAudience');
  const audience = audienceRaw === undefined || audienceRaw === '' ? [] : list(audienceRaw);
  if (!issuer && audience.length === 0) return undefined;
  if (!issuer || audience.length === 0) {
    throw new Error('context authIssuer and authAudience must be set together (JWT) or both left out (IAM)');
  }
  if (!issuer.startsWith('https://'))
    throw new Error(`context authIssuer must be an https URL, got ${issuer}`);
  return { issuer, audience };
}

function settingsEnv(read: Read): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of SETTINGS_CONTEXT_KEYS) {
    const raw = read(key);
    if (raw === undefined || raw === '') continue;
    env[SETTINGS_ENV[key as keyof typeof SETTINGS_ENV]] = Array.isArray(raw)
      ? list(raw).join(',')
      : String(raw);
  }
  // The functions would reject a bad value at cold start; reject it at synth instead.
  deploymentSettings(env);
  return env;
}

export function configFromContext(read: Read): RolloutConfig {
  const prefix = text(read, 'prefix') ?? CONTEXT_DEFAULTS.prefix;
  // Function names are `${prefix}-${function}` and must stay within Lambda's 64 characters.
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(prefix)) {
    throw new Error(`context prefix must be lower-case letters, digits and '-' (at most 40), got ${prefix}`);
  }
  const logRetentionDays = positiveNumber(read, 'logRetentionDays', CONTEXT_DEFAULTS.logRetentionDays);
  if (!RETENTION_DAYS.has(logRetentionDays)) {
    throw new Error(
      `context logRetentionDays must be one of ${[...RETENTION_DAYS].join(', ')}, got ${logRetentionDays}`,
    );
  }
  const vpcId = text(read, 'vpcId');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]+$/.test(vpcId)) {
    throw new Error(`context vpcId must look like vpc-0123abcd, got ${vpcId}`);
  }
  const authConfig = auth(read);
  const rateLimit = positiveNumber(read, 'throttleRate', CONTEXT_DEFAULTS.throttleRate);
  const burstLimit = positiveNumber(read, 'throttleBurst', CONTEXT_DEFAULTS.throttleBurst);
  if (!Number.isInteger(burstLimit))
    throw new Error(`context throttleBurst must be an integer, got ${burstLimit}`);
  return {
    prefix,
    ...(vpcId === undefined ? {} : { vpcId }),
    ...(authConfig === undefined ? {} : { auth: authConfig }),
    logRetention: logRetentionDays as RetentionDays,
    deletionProtection: flag(read, 'deletionProtection', CONTEXT_DEFAULTS.deletionProtection),
    eventBusName: text(read, 'eventBusName') ?? prefix,
    throttle: { rateLimit, burstLimit },
    settingsEnv: settingsEnv(read),
    telemetry: telemetry(read),
  };
}
