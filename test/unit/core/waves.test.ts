import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../functions/core/errors.ts';
import { parseOrThrow, planRequestSchema } from '../../../functions/core/schemas.ts';
import { assignWaves, configDiff, resolveWaves } from '../../../functions/core/waves.ts';

const tenants = ['canary-1', 'acme', 'internal-a', 'internal-b', 'globex', 'initech', 'umbrella', 'hooli'];
const configs = tenants.map((tenantId) => ({ tenantId, deployUnitVersion: '2.0.0' }));

function fieldErrors(strategy: unknown) {
  try {
    parseOrThrow(planRequestSchema, { configs, strategy });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).fields;
  }
  throw new Error('expected the strategy to be rejected');
}

describe('wave assignment', () => {
  it('takes named tenants and globs, then counts and percentages in request order, the last wave the rest', () => {
    const assignment = assignWaves(tenants, {
      waves: [
        { name: 'canary', tenants: ['canary-1'] },
        { name: 'internal', tenants: ['internal-*'] },
        { name: 'early', count: 2 },
        { name: 'quarter', percent: 20 },
        { name: 'rest' },
      ],
    });

    expect(assignment.issues).toEqual([]);
    const names = assignment.waves?.map((wave) => wave.map((i) => tenants[i]));
    expect(names).toEqual([
      ['canary-1'],
      ['internal-a', 'internal-b'],
      ['acme', 'globex'],
      ['initech', 'umbrella'],
      ['hooli'],
    ]);
  });

  it('lets a glob skip tenants an earlier wave took', () => {
    const assignment = assignWaves(tenants, {
      waves: [
        { name: 'one', tenants: ['internal-a'] },
        { name: 'all-internal', tenants: ['internal-*'] },
        { name: 'rest' },
      ],
    });

    expect(assignment.waves?.[1]?.map((i) => tenants[i])).toEqual(['internal-b']);
  });

  it('resolves each wave with the plan concurrency and a zero failure threshold unless it sets its own', () => {
    const waves = resolveWaves(
      {
        waves: [
          { name: 'canary', count: 1, bakeSeconds: 1.5, approval: true },
          { name: 'rest', maxConcurrency: 4, failureThreshold: '10%' },
        ],
      },
      [[0], [1, 2]],
      2,
    );

    expect(waves).toEqual([
      {
        index: 0,
        name: 'canary',
        tenantCount: 1,
        maxConcurrency: 2,
        failureThreshold: { count: 0 },
        bakeSeconds: 1.5,
        approval: true,
        status: 'PENDING',
      },
      {
        index: 1,
        name: 'rest',
        tenantCount: 2,
        maxConcurrency: 4,
        failureThreshold: { percent: 10 },
        bakeSeconds: 0,
        approval: false,
        status: 'PENDING',
      },
    ]);
  });
});

describe('strategy validation names the field and the reason', () => {
  it('rejects a tenant named in two waves', () => {
    expect(
      fieldErrors({
        waves: [{ name: 'a', tenants: ['acme'] }, { name: 'b', tenants: ['acme', 'globex'] }, { name: 'c' }],
      }),
    ).toContainEqual({
      path: 'strategy.waves[1].tenants[0]',
      message: 'tenant acme is already in wave a (waves[0])',
    });
  });

  it('rejects a pattern that matches nothing and a tenant the plan does not have', () => {
    const fields = fieldErrors({ waves: [{ name: 'a', tenants: ['nobody-*', 'ghost'] }, { name: 'b' }] });

    expect(fields).toContainEqual({
      path: 'strategy.waves[0].tenants[0]',
      message: 'pattern nobody-* matches no tenant of the plan',
    });
    expect(fields).toContainEqual({
      path: 'strategy.waves[0].tenants[1]',
      message: 'tenant ghost is not in configs',
    });
  });

  it('rejects tenants left in no wave, naming them', () => {
    expect(
      fieldErrors({
        waves: [
          { name: 'a', count: 3 },
          { name: 'b', count: 2 },
        ],
      }),
    ).toEqual([
      {
        path: 'strategy.waves',
        message:
          'tenant(s) initech, umbrella, hooli in no wave (leave the last wave without tenants, count or percent to take the rest)',
      },
    ]);
  });

  it('rejects a wave that gets no tenant', () => {
    expect(fieldErrors({ waves: [{ name: 'all', percent: 100 }, { name: 'late' }] })).toEqual([
      { path: 'strategy.waves[1]', message: 'wave late gets no tenant' },
    ]);
  });

  it('rejects a percentage out of range', () => {
    expect(fieldErrors({ waves: [{ name: 'a', percent: 0 }, { name: 'b' }] })).toContainEqual({
      path: 'strategy.waves[0].percent',
      message: 'must be more than 0',
    });
    expect(fieldErrors({ waves: [{ name: 'a', percent: 150 }] })).toContainEqual({
      path: 'strategy.waves[0].percent',
      message: 'at most 100',
    });
  });

  it('rejects a wave before the last that selects no tenants, and one that selects two ways', () => {
    expect(fieldErrors({ waves: [{ name: 'a' }, { name: 'b' }] })).toContainEqual({
      path: 'strategy.waves[0]',
      message: 'needs tenants, count or percent (only the last wave may take the remaining tenants)',
    });
    expect(fieldErrors({ waves: [{ name: 'a', count: 1, percent: 10 }, { name: 'b' }] })).toContainEqual({
      path: 'strategy.waves[0].percent',
      message: 'a wave takes tenants, count or percent, not count and percent',
    });
  });

  it('rejects duplicate wave names, too many waves or alarms, and an unknown onFailure', () => {
    expect(fieldErrors({ waves: [{ name: 'a', count: 1 }, { name: 'a' }] })).toContainEqual({
      path: 'strategy.waves[1].name',
      message: 'duplicate wave name (waves[0])',
    });
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `w${i}`, count: 1 }));
    expect(fieldErrors({ waves: many })).toContainEqual({
      path: 'strategy.waves',
      message: 'at most 20 waves',
    });
    const alarms = Array.from({ length: 11 }, (_, i) => `alarm-${i}`);
    expect(fieldErrors({ waves: [{ name: 'all' }], alarms })).toContainEqual({
      path: 'strategy.alarms',
      message: 'at most 10 alarms',
    });
    expect(fieldErrors({ waves: [{ name: 'all' }], onFailure: 'PANIC' })).toContainEqual({
      path: 'strategy.onFailure',
      message: 'must be HALT or ROLLBACK',
    });
    expect(fieldErrors({ waves: [] })).toContainEqual({
      path: 'strategy.waves',
      message: 'must contain at least one wave',
    });
  });

  it('accepts a plan without a strategy exactly as before', () => {
    expect(parseOrThrow(planRequestSchema, { configs }).strategy).toBeUndefined();
  });
});

describe('config diff', () => {
  it('lists the top-level fields the new config changes, adds and removes, leaving the rollback source out', () => {
    const current = { tenantId: 't', deployUnitVersion: '1.0.0', trunkGroup: 'tg-1', defaultFlag: true };
    const next = {
      tenantId: 't',
      deployUnitVersion: '2.0.0',
      trunkGroup: 'tg-1',
      nacosNameSpace: 'ns',
      sourceTenantDeployConfig: { tenantId: 't', deployUnitVersion: '1.0.0' },
    };

    expect(configDiff(current, next)).toEqual([
      { field: 'defaultFlag', from: true },
      { field: 'deployUnitVersion', from: '1.0.0', to: '2.0.0' },
      { field: 'nacosNameSpace', to: 'ns' },
    ]);
  });
});
