/**
 * The inbound contract (TenantDeployConfig, NetworkEndpoint: field names kept exactly)
 * and the plan request. Every error names the field path and the reason.
 */
import { z } from 'zod';
import { type FieldError, ValidationError } from './errors.ts';
import { DEFAULTS } from './settings.ts';
import { rejectUnsafeText } from './text.ts';
import { assignWaves } from './waves.ts';

const text = (max = 256) =>
  z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);
const idOrNumber = z.union([text(128), z.number().finite()]);

/** Tenant ids end up in keys, lock names and execution names, so they are kept to a safe alphabet. */
export const tenantIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'at most 64 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'only letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

export const serviceNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'at most 64 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'only letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

export const networkEndpointSchema = z
  .strictObject({
    key: text().optional(),
    value: text(2048).optional(),
    sourceIp: text().optional(),
    sourceDomain: text().optional(),
    targetIp: text().optional(),
    targetDomain: text().optional(),
  })
  .superRefine((endpoint, ctx) => {
    const isUrl = endpoint.value !== undefined && /^https?:\/\//.test(endpoint.value);
    if (!isUrl && !endpoint.targetDomain && !endpoint.targetIp) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs a value starting with http:// or https://, or a targetDomain or targetIp',
      });
    }
  });
export type NetworkEndpoint = z.infer<typeof networkEndpointSchema>;

const baseConfigShape = {
  tenantId: tenantIdSchema,
  deployUnitId: idOrNumber.optional(),
  deployUnitVersion: idOrNumber,
  deployUnitName: text().optional(),
  networkEndpoints: z.array(networkEndpointSchema).max(100, 'at most 100 endpoints').default([]),
  nacosNameSpace: text().optional(),
  defaultFlag: z.boolean().optional(),
  calledNumberRules: z.string().max(4096).optional(),
  trunkGroup: z.string().max(256).optional(),
  planId: idOrNumber.optional(),
  planVersion: idOrNumber.optional(),
  serviceNames: z
    .array(serviceNameSchema)
    .min(1, 'must name at least one service')
    .max(50, 'at most 50 services')
    .refine((names) => new Set(names).size === names.length, 'service names must be unique')
    .optional(),
};

/** The config to roll back to: same shape, one level deep (it has no source of its own). */
export const sourceTenantDeployConfigSchema = z.strictObject(baseConfigShape);

export const tenantDeployConfigSchema = z
  .strictObject({ ...baseConfigShape, sourceTenantDeployConfig: sourceTenantDeployConfigSchema.optional() })
  .superRefine((config, ctx) => {
    const source = config.sourceTenantDeployConfig;
    if (source && source.tenantId !== config.tenantId) {
      ctx.addIssue({
        code: 'custom',
        path: ['sourceTenantDeployConfig', 'tenantId'],
        message: `must equal tenantId (${config.tenantId})`,
      });
    }
  });
export type TenantDeployConfig = z.infer<typeof tenantDeployConfigSchema>;

export const healthCheckSettingsSchema = z.strictObject({
  intervalSeconds: z.number().min(0.01, 'at least 0.01').max(300, 'at most 300'),
  maxAttempts: z.number().int('must be an integer').min(1, 'at least 1').max(100, 'at most 100'),
  path: z.string().regex(/^\/\S*$/, 'must start with "/" and contain no spaces'),
  versionKey: text(128),
  timeoutSeconds: z.number().min(0.01, 'at least 0.01').max(60, 'at most 60'),
});
export type HealthCheckSettings = z.infer<typeof healthCheckSettingsSchema>;

/** Either a count (`3`) or a percentage (`"10%"`) of the plan's tasks. */
export const failureThresholdSchema = z.union([
  z.number().int('must be an integer').min(0, 'at least 0'),
  z.string().regex(/^(100(\.0+)?|[1-9]?\d(\.\d+)?)%$/, 'must be a count or a percentage such as "10%"'),
]);

export const MAX_TENANTS_PER_PLAN = 10_000;

/** A stage's health check runs inside one function invocation (15 minutes at most on Lambda). */
export const MAX_HEALTH_CHECK_SECONDS = 600;

/** Step Functions runs a Map's items at most this many at once when told; the plan's own bound. */
const maxConcurrencySchema = z
  .number()
  .int('must be an integer')
  .min(1, 'at least 1')
  .max(1000, 'at most 1000');

/** A wave's tenant: a tenant id, or a glob where `*` matches any run of characters. */
const tenantPatternSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'at most 64 characters')
  .regex(/^[A-Za-z0-9*][A-Za-z0-9._*-]*$/, 'a tenant id, or a pattern where "*" matches any characters');

export const MAX_WAVES = 20;
/**
 * CloudWatch DescribeAlarms takes at most 100 alarm names per call; a plan names at most 10.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
 */
export const MAX_ALARMS = 10;
/** A bake waits at most a week (it polls health meanwhile; the plan machine runs for weeks at most). */
export const MAX_BAKE_SECONDS = 7 * 24 * 3600;

export const waveSchema = z.strictObject({
  name: text(64),
  tenants: z
    .array(tenantPatternSchema)
    .min(1, 'must name at least one tenant')
    .max(MAX_TENANTS_PER_PLAN)
    .optional(),
  count: z.number().int('must be an integer').min(1, 'at least 1').max(MAX_TENANTS_PER_PLAN).optional(),
  percent: z.number().gt(0, 'must be more than 0').max(100, 'at most 100').optional(),
  maxConcurrency: maxConcurrencySchema.optional(),
  failureThreshold: failureThresholdSchema.optional(),
  bakeSeconds: z
    .number()
    .min(0, 'at least 0')
    .max(MAX_BAKE_SECONDS, `at most ${MAX_BAKE_SECONDS}`)
    .optional(),
  approval: z.boolean().optional(),
});

export const strategySchema = z.strictObject({
  waves: z
    .array(waveSchema)
    .min(1, 'must contain at least one wave')
    .max(MAX_WAVES, `at most ${MAX_WAVES} waves`),
  onFailure: z.enum(['HALT', 'ROLLBACK'], { error: 'must be HALT or ROLLBACK' }).optional(),
  // CloudWatch alarm names: 1 to 255 characters.
  alarms: z
    .array(text(255))
    .max(MAX_ALARMS, `at most ${MAX_ALARMS} alarms`)
    .refine((names) => new Set(names).size === names.length, 'alarm names must be unique')
    .optional(),
});
export type Strategy = z.infer<typeof strategySchema>;

export const planRequestSchema = z
  .strictObject({
    name: text(200).optional(),
    maxConcurrency: maxConcurrencySchema.optional(),
    failureThreshold: failureThresholdSchema.optional(),
    dryRun: z.boolean().optional(),
    healthCheck: healthCheckSettingsSchema.partial().optional(),
    broadcastPath: z
      .string()
      .regex(/^\/\S*$/, 'must start with "/" and contain no spaces')
      .optional(),
    // The engine state's TimeoutSecondsPath: Step Functions accepts only a positive integer there.
    provisionTimeoutSeconds: z.number().int().min(1, 'at least 1').max(3600, 'at most 3600').optional(),
    configs: z
      .array(tenantDeployConfigSchema)
      .min(1, 'must contain at least one tenant config')
      .max(MAX_TENANTS_PER_PLAN, `at most ${MAX_TENANTS_PER_PLAN} tenants per plan`),
    strategy: strategySchema.optional(),
  })
  .superRefine((request, ctx) => {
    const health = { ...DEFAULTS.healthCheck, ...request.healthCheck };
    const worstCase = health.maxAttempts * (health.intervalSeconds + health.timeoutSeconds);
    if (worstCase > MAX_HEALTH_CHECK_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['healthCheck'],
        message: `maxAttempts × (intervalSeconds + timeoutSeconds) is ${worstCase} s; at most ${MAX_HEALTH_CHECK_SECONDS} s per endpoint fits in one stage`,
      });
    }
    const firstIndex = new Map<string, number>();
    request.configs.forEach((config, index) => {
      const seen = firstIndex.get(config.tenantId);
      if (seen === undefined) {
        firstIndex.set(config.tenantId, index);
      } else {
        ctx.addIssue({
          code: 'custom',
          path: ['configs', index, 'tenantId'],
          message: `duplicate tenant ${config.tenantId} (already in configs[${seen}])`,
        });
      }
    });
    if (request.strategy) {
      for (const issue of assignWaves(
        request.configs.map((c) => c.tenantId),
        request.strategy,
      ).issues)
        ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  })
  .superRefine(rejectUnsafeText);
export type PlanRequest = z.infer<typeof planRequestSchema>;

/** `configs[3].tenantId` style path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, i) =>
      typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`,
    )
    .join('');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function toFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    // JSON such as 1e999 parses to Infinity, which zod reports as "expected number" for a number.
    if (typeof issue.input === 'number' && !Number.isFinite(issue.input)) {
      return { path, message: 'must be a finite number' };
    }
    // zod reports a fractional number for `.int()` as a type error ("expected int"); it is a number, just not whole.
    if (issue.code === 'invalid_type' && issue.expected === 'int' && typeof issue.input === 'number') {
      return { path, message: 'must be an integer' };
    }
    if (issue.code === 'invalid_type') {
      const received = describe(issue.input);
      return {
        path,
        message:
          issue.input === undefined ? 'required' : `must be ${article(issue.expected)}, got ${received}`,
      };
    }
    if (issue.code === 'unrecognized_keys') {
      return {
        path: formatPath([...issue.path, issue.keys[0] ?? '']),
        message: `unknown field (${issue.keys.join(', ')})`,
      };
    }
    if (issue.code === 'invalid_union') {
      return { path, message: issue.input === undefined ? 'required' : 'has an invalid type or format' };
    }
    return { path, message: issue.message };
  });
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Parse or throw a ValidationError listing every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new ValidationError(toFieldErrors(result.error));
}
