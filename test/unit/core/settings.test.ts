import { describe, expect, it } from 'vitest';
import { SETTINGS_ENV } from '../../../functions/core/env.ts';
import { parseOrThrow, planRequestSchema } from '../../../functions/core/schemas.ts';
import {
  DEFAULTS,
  deploymentSettings,
  resolvePlanSettings,
  thresholdExceeded,
} from '../../../functions/core/settings.ts';

const NOW = new Date('2025-01-02T03:04:05.000Z');
const request = (extra: Record<string, unknown> = {}) =>
  parseOrThrow(planRequestSchema, { configs: [{ tenantId: 't1', deployUnitVersion: '1' }], ...extra });

describe('deployment settings', () => {
  it('match the documented defaults when the environment sets nothing', () => {
    const settings = deploymentSettings({});

    expect(settings).toEqual({
      defaultServiceNames: ['app'],
      healthCheck: {
        intervalSeconds: 3,
        maxAttempts: 10,
        path: '/health',
        versionKey: 'version',
        timeoutSeconds: 2,
      },
      broadcastPath: '/config',
      eventTtlDays: 30,
      lockLeaseSeconds: 60,
      provisionTimeoutSeconds: 120,
      drainGraceSeconds: 30,
      engineSubnets: [],
      engineSecurityGroups: [],
    });
  });

  it('take every value the environment sets', () => {
    const settings = deploymentSettings({
      [SETTINGS_ENV.defaultServiceNames]: ' gateway, media ,,billing',
      [SETTINGS_ENV.healthIntervalSeconds]: '0.25',
      [SETTINGS_ENV.healthMaxAttempts]: '4',
      [SETTINGS_ENV.healthPath]: '/ready',
      [SETTINGS_ENV.healthVersionKey]: 'build',
      [SETTINGS_ENV.broadcastPath]: '/push',
      [SETTINGS_ENV.eventTtlDays]: '7',
      [SETTINGS_ENV.lockLeaseSeconds]: '15',
      [SETTINGS_ENV.provisionTimeoutSeconds]: '30',
      [SETTINGS_ENV.drainGraceSeconds]: '5',
      [SETTINGS_ENV.engineSubnets]: 'subnet-a, subnet-b',
      [SETTINGS_ENV.engineSecurityGroups]: 'sg-1',
    });

    expect(settings).toEqual({
      defaultServiceNames: ['gateway', 'media', 'billing'],
      healthCheck: {
        intervalSeconds: 0.25,
        maxAttempts: 4,
        path: '/ready',
        versionKey: 'build',
        timeoutSeconds: 2,
      },
      broadcastPath: '/push',
      eventTtlDays: 7,
      lockLeaseSeconds: 15,
      provisionTimeoutSeconds: 30,
      drainGraceSeconds: 5,
      engineSubnets: ['subnet-a', 'subnet-b'],
      engineSecurityGroups: ['sg-1'],
    });
  });

  it('treat an empty variable as unset', () => {
    const settings = deploymentSettings({ [SETTINGS_ENV.lockLeaseSeconds]: '' });

    expect(settings.lockLeaseSeconds).toBe(DEFAULTS.lockLeaseSeconds);
  });

  const numericVariables = [
    SETTINGS_ENV.healthIntervalSeconds,
    SETTINGS_ENV.healthMaxAttempts,
    SETTINGS_ENV.eventTtlDays,
    SETTINGS_ENV.lockLeaseSeconds,
    SETTINGS_ENV.provisionTimeoutSeconds,
    SETTINGS_ENV.drainGraceSeconds,
  ];
  const badNumbers = ['abc', '0', '-5', 'Infinity', '10s'];

  it.each(numericVariables.flatMap((name) => badNumbers.map((raw) => [name, raw] as const)))(
    'refuse %s=%s, naming the variable and the value',
    (name, raw) => {
      expect(() => deploymentSettings({ [name]: raw })).toThrow(
        new RegExp(`environment variable ${name} must be a positive .*, got "${raw}"`),
      );
    },
  );

  it('refuse a fractional number of health-check attempts', () => {
    expect(() => deploymentSettings({ [SETTINGS_ENV.healthMaxAttempts]: '2.5' })).toThrow(
      `environment variable ${SETTINGS_ENV.healthMaxAttempts} must be a positive integer, got "2.5"`,
    );
  });

  it('refuse a default service list that names no service', () => {
    expect(() => deploymentSettings({ [SETTINGS_ENV.defaultServiceNames]: ' , ' })).toThrow(
      SETTINGS_ENV.defaultServiceNames,
    );
  });
});

describe('plan settings precedence', () => {
  it('request values win over the environment', () => {
    const deployment = deploymentSettings({
      [SETTINGS_ENV.healthPath]: '/env-health',
      [SETTINGS_ENV.healthIntervalSeconds]: '5',
      [SETTINGS_ENV.broadcastPath]: '/env-config',
      [SETTINGS_ENV.provisionTimeoutSeconds]: '200',
    });

    const settings = resolvePlanSettings(
      request({
        healthCheck: { path: '/req-health', intervalSeconds: 0.1 },
        broadcastPath: '/req-config',
        provisionTimeoutSeconds: 9,
      }),
      deployment,
      NOW,
    );

    expect(settings.healthCheck.path).toBe('/req-health');
    expect(settings.healthCheck.intervalSeconds).toBe(0.1);
    expect(settings.broadcastPath).toBe('/req-config');
    expect(settings.provisionTimeoutSeconds).toBe(9);
  });

  it('the environment fills what the request leaves out, defaults fill the rest', () => {
    const deployment = deploymentSettings({
      [SETTINGS_ENV.healthVersionKey]: 'build',
      [SETTINGS_ENV.broadcastPath]: '/env-config',
    });

    const settings = resolvePlanSettings(request({ healthCheck: { maxAttempts: 2 } }), deployment, NOW);

    expect(settings.healthCheck).toEqual({
      intervalSeconds: DEFAULTS.healthCheck.intervalSeconds,
      maxAttempts: 2,
      path: DEFAULTS.healthCheck.path,
      versionKey: 'build',
      timeoutSeconds: DEFAULTS.healthCheck.timeoutSeconds,
    });
    expect(settings.broadcastPath).toBe('/env-config');
    expect(settings.provisionTimeoutSeconds).toBe(DEFAULTS.provisionTimeoutSeconds);
  });

  it('a plan without name or maxConcurrency gets a dated name and strict FIFO', () => {
    const settings = resolvePlanSettings(request(), deploymentSettings({}), NOW);

    expect(settings.name).toBe('rollout 2025-01-02T03:04:05.000Z');
    expect(settings.maxConcurrency).toBe(1);
    expect(settings).not.toHaveProperty('failureThreshold');
  });

  it('keeps the requested name and concurrency', () => {
    const settings = resolvePlanSettings(
      request({ name: 'wave 1', maxConcurrency: 8 }),
      deploymentSettings({}),
      NOW,
    );

    expect(settings.name).toBe('wave 1');
    expect(settings.maxConcurrency).toBe(8);
  });

  it.each([
    [3, { count: 3 }],
    ['10%', { percent: 10 }],
    ['12.5%', { percent: 12.5 }],
  ])('turns failureThreshold %j into %j', (threshold, expected) => {
    const settings = resolvePlanSettings(
      request({ failureThreshold: threshold }),
      deploymentSettings({}),
      NOW,
    );

    expect(settings.failureThreshold).toEqual(expected);
  });
});

describe('thresholdExceeded', () => {
  it('is never exceeded without a threshold', () => {
    expect(thresholdExceeded(undefined, 100, 100)).toBe(false);
  });

  it.each([
    { count: 2, failed: 2, exceeded: false },
    { count: 2, failed: 3, exceeded: true },
    { count: 0, failed: 0, exceeded: false },
    { count: 0, failed: 1, exceeded: true },
  ])('with count $count, $failed failed tasks exceed it: $exceeded', ({ count, failed, exceeded }) => {
    expect(thresholdExceeded({ count }, failed, 10)).toBe(exceeded);
  });

  it.each([
    { percent: 10, failed: 2, total: 20, exceeded: false },
    { percent: 10, failed: 3, total: 20, exceeded: true },
    { percent: 12.5, failed: 1, total: 8, exceeded: false },
    { percent: 12.5, failed: 2, total: 8, exceeded: true },
    { percent: 0, failed: 1, total: 1000, exceeded: true },
    { percent: 0, failed: 0, total: 0, exceeded: false },
  ])(
    'with $percent%, $failed of $total failed exceeds it: $exceeded',
    ({ percent, failed, total, exceeded }) => {
      expect(thresholdExceeded({ percent }, failed, total)).toBe(exceeded);
    },
  );
});
