import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/core/errors.ts';
import {
  failureThresholdSchema,
  networkEndpointSchema,
  parseOrThrow,
  planRequestSchema,
  tenantDeployConfigSchema,
} from '../../../functions/core/schemas.ts';

const config = (tenantId: string, extra: Record<string, unknown> = {}) => ({
  tenantId,
  deployUnitVersion: '2.0.0',
  ...extra,
});

/** Runs parseOrThrow and returns the ValidationError it throws; fails the test when it does not throw. */
function rejection(schema: Parameters<typeof parseOrThrow>[0], input: unknown): ValidationError {
  try {
    parseOrThrow(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected the input to be rejected');
}

describe('TenantDeployConfig', () => {
  it('accepts every contract field under its exact camelCase name and keeps it', () => {
    const input = {
      tenantId: 'tenant-1',
      deployUnitId: 'du-7',
      deployUnitVersion: '2.0.0',
      deployUnitName: 'voice',
      networkEndpoints: [
        {
          key: 'gateway',
          value: 'https://gw.example.com',
          sourceIp: '10.0.0.1',
          sourceDomain: 'src.example.com',
          targetIp: '10.0.0.2',
          targetDomain: 'gw.internal',
        },
      ],
      nacosNameSpace: 'ns-prod',
      defaultFlag: true,
      calledNumberRules: '^\\+49',
      trunkGroup: 'tg-1',
      planId: 42,
      planVersion: 'v3',
      serviceNames: ['gateway', 'media'],
      sourceTenantDeployConfig: { tenantId: 'tenant-1', deployUnitVersion: '1.0.0' },
    };

    const parsed = parseOrThrow(tenantDeployConfigSchema, input);

    expect(parsed).toEqual({
      ...input,
      sourceTenantDeployConfig: { ...input.sourceTenantDeployConfig, networkEndpoints: [] },
    });
  });

  it('defaults networkEndpoints to an empty list', () => {
    const parsed = parseOrThrow(tenantDeployConfigSchema, config('t1'));

    expect(parsed.networkEndpoints).toEqual([]);
  });

  it('reports a missing tenantId as required', () => {
    const error = rejection(tenantDeployConfigSchema, { deployUnitVersion: '1' });

    expect(error.fields).toEqual([{ path: 'tenantId', message: 'required' }]);
  });

  it('reports a missing deployUnitVersion as required, not as a format problem', () => {
    const error = rejection(tenantDeployConfigSchema, { tenantId: 't1' });

    expect(error.fields).toEqual([{ path: 'deployUnitVersion', message: 'required' }]);
  });

  it('names the expected and received type when a field has the wrong type', () => {
    const error = rejection(tenantDeployConfigSchema, config('t1', { defaultFlag: 'yes' }));

    expect(error.fields).toEqual([{ path: 'defaultFlag', message: 'must be a boolean, got string' }]);
  });

  it('rejects a tenantId outside the key-safe alphabet', () => {
    const error = rejection(tenantDeployConfigSchema, config('tenant#1'));

    expect(error.message).toMatch(/^tenantId: only letters, digits/);
  });

  it('rejects an unknown field, naming it', () => {
    const error = rejection(tenantDeployConfigSchema, config('t1', { tenantID: 'typo' }));

    expect(error.fields).toEqual([{ path: 'tenantID', message: 'unknown field (tenantID)' }]);
  });

  it('rejects repeated service names', () => {
    const error = rejection(tenantDeployConfigSchema, config('t1', { serviceNames: ['a', 'b', 'a'] }));

    expect(error.fields).toEqual([{ path: 'serviceNames', message: 'service names must be unique' }]);
  });

  it('accepts a sourceTenantDeployConfig for the same tenant', () => {
    const parsed = parseOrThrow(
      tenantDeployConfigSchema,
      config('t1', { sourceTenantDeployConfig: { tenantId: 't1', deployUnitVersion: '1.0.0' } }),
    );

    expect(parsed.sourceTenantDeployConfig?.deployUnitVersion).toBe('1.0.0');
  });

  it('rejects a sourceTenantDeployConfig for another tenant at its tenantId path', () => {
    const error = rejection(
      tenantDeployConfigSchema,
      config('t1', { sourceTenantDeployConfig: { tenantId: 't2', deployUnitVersion: '1.0.0' } }),
    );

    expect(error.fields).toEqual([
      { path: 'sourceTenantDeployConfig.tenantId', message: 'must equal tenantId (t1)' },
    ]);
  });

  it('rejects a source config that has a source of its own', () => {
    const nested = { tenantId: 't1', deployUnitVersion: '0.9.0' };
    const error = rejection(
      tenantDeployConfigSchema,
      config('t1', {
        sourceTenantDeployConfig: {
          tenantId: 't1',
          deployUnitVersion: '1.0.0',
          sourceTenantDeployConfig: nested,
        },
      }),
    );

    expect(error.fields.map((f) => f.path)).toEqual(['sourceTenantDeployConfig.sourceTenantDeployConfig']);
  });
});

describe('NetworkEndpoint', () => {
  it('accepts the six contract fields', () => {
    const endpoint = {
      key: 'media',
      value: '10.1.1.1:5060',
      sourceIp: '10.0.0.1',
      sourceDomain: 'a.example',
      targetIp: '10.1.1.1',
      targetDomain: 'media.internal',
    };

    expect(parseOrThrow(networkEndpointSchema, endpoint)).toEqual(endpoint);
  });

  it('rejects an endpoint with neither an http(s) value nor a target to reach', () => {
    const error = rejection(networkEndpointSchema, { key: 'media', value: 'media.internal:80' });

    expect(error.fields).toEqual([
      { path: '', message: 'needs a value starting with http:// or https://, or a targetDomain or targetIp' },
    ]);
  });

  it('rejects an unknown endpoint field with its full path inside a plan request', () => {
    const error = rejection(planRequestSchema, {
      configs: [config('t1', { networkEndpoints: [{ value: 'http://x', port: 80 }] })],
    });

    expect(error.fields).toEqual([
      { path: 'configs[0].networkEndpoints[0].port', message: 'unknown field (port)' },
    ]);
  });
});

describe('plan request', () => {
  it('refuses a fractional provisionTimeoutSeconds: it becomes a TimeoutSecondsPath, integers only', () => {
    const error = rejection(planRequestSchema, { provisionTimeoutSeconds: 1.5, configs: [config('a')] });

    expect(error.fields).toEqual([{ path: 'provisionTimeoutSeconds', message: 'must be an integer' }]);
  });

  it('names the config index and field of a missing tenantId', () => {
    const configs = [config('a'), config('b'), config('c'), { deployUnitVersion: '1' }];

    const error = rejection(planRequestSchema, { configs });

    expect(error.message).toBe('configs[3].tenantId: required');
    expect(error.statusCode).toBe(400);
    expect(error.fields).toEqual([{ path: 'configs[3].tenantId', message: 'required' }]);
  });

  it('rejects a duplicate tenant, naming both positions', () => {
    const error = rejection(planRequestSchema, { configs: [config('a'), config('b'), config('a')] });

    expect(error.fields).toEqual([
      { path: 'configs[2].tenantId', message: 'duplicate tenant a (already in configs[0])' },
    ]);
  });

  it('rejects any request in which some tenant appears twice', () => {
    const tenantId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,11}$/);
    const requestWithDuplicate = fc.uniqueArray(tenantId, { minLength: 1, maxLength: 20 }).chain((ids) =>
      fc.record({
        ids: fc.constant(ids),
        duplicateOf: fc.nat({ max: ids.length - 1 }),
        insertAt: fc.nat({ max: ids.length }),
      }),
    );

    fc.assert(
      fc.property(requestWithDuplicate, ({ ids, duplicateOf, insertAt }) => {
        const duplicated = ids[duplicateOf]!;
        const withDuplicate = [...ids.slice(0, insertAt), duplicated, ...ids.slice(insertAt)];

        const error = rejection(planRequestSchema, { configs: withDuplicate.map((id) => config(id)) });

        const secondIndex = withDuplicate.indexOf(duplicated, withDuplicate.indexOf(duplicated) + 1);
        expect(error.fields).toEqual([
          {
            path: `configs[${secondIndex}].tenantId`,
            message: `duplicate tenant ${duplicated} (already in configs[${withDuplicate.indexOf(duplicated)}])`,
          },
        ]);
      }),
    );
  });

  it('requires at least one config', () => {
    expect(rejection(planRequestSchema, { configs: [] }).fields).toEqual([
      { path: 'configs', message: 'must contain at least one tenant config' },
    ]);
    expect(rejection(planRequestSchema, {}).fields).toEqual([{ path: 'configs', message: 'required' }]);
  });

  it('rejects an unknown top-level field', () => {
    const error = rejection(planRequestSchema, { configs: [config('a')], concurrency: 2 });

    expect(error.fields).toEqual([{ path: 'concurrency', message: 'unknown field (concurrency)' }]);
  });

  it('accepts healthCheck with only some settings and leaves the rest unset', () => {
    const parsed = parseOrThrow(planRequestSchema, {
      configs: [config('a')],
      healthCheck: { intervalSeconds: 0.05 },
    });

    expect(parsed.healthCheck).toEqual({ intervalSeconds: 0.05 });
  });

  it('rejects bad and unknown healthCheck settings, naming each', () => {
    const error = rejection(planRequestSchema, {
      configs: [config('a')],
      healthCheck: { maxAttempts: 2.5, path: 'health', retries: 1 },
    });

    expect(error.fields).toEqual(
      expect.arrayContaining([
        { path: 'healthCheck.maxAttempts', message: 'must be an integer' },
        { path: 'healthCheck.path', message: 'must start with "/" and contain no spaces' },
        { path: 'healthCheck.retries', message: 'unknown field (retries)' },
      ]),
    );
    expect(error.fields).toHaveLength(3);
  });

  it('accepts maxConcurrency between 1 and 1000 only', () => {
    expect(
      parseOrThrow(planRequestSchema, { configs: [config('a')], maxConcurrency: 1000 }).maxConcurrency,
    ).toBe(1000);
    expect(rejection(planRequestSchema, { configs: [config('a')], maxConcurrency: 0 }).fields).toEqual([
      { path: 'maxConcurrency', message: 'at least 1' },
    ]);
  });
});

describe('failureThreshold', () => {
  it.each([0, 3, '0%', '10%', '12.5%', '100%'])('accepts %j', (threshold) => {
    expect(parseOrThrow(failureThresholdSchema, threshold)).toBe(threshold);
  });

  it.each([-1, 1.5, '10', '101%', '100.5%', 'abc%', '-5%'])('rejects %j', (threshold) => {
    const error = rejection(planRequestSchema, { configs: [config('a')], failureThreshold: threshold });

    expect(error.fields).toHaveLength(1);
    expect(error.fields[0]?.path).toBe('failureThreshold');
  });
});

describe('health-check budget', () => {
  it('refuses health-check settings that could not finish inside one stage invocation', () => {
    const error = (() => {
      try {
        parseOrThrow(planRequestSchema, {
          healthCheck: { intervalSeconds: 60, maxAttempts: 100 },
          configs: [{ tenantId: 'a', deployUnitVersion: '1' }],
        });
      } catch (e) {
        return e as ValidationError;
      }
    })();

    expect(error?.fields).toEqual([expect.objectContaining({ path: 'healthCheck' })]);
    expect(error?.fields[0]?.message).toContain('at most 600 s');
  });
});
