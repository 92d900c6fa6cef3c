import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NetworkEndpoint } from '../../../functions/core/schemas.ts';
import {
  broadcastUrl,
  endpointBaseUrl,
  endpointLabel,
  endpointsForStage,
  healthUrl,
  planStages,
  remainingStages,
} from '../../../functions/core/stages.ts';

describe('planStages', () => {
  it('uses the config serviceNames in their order', () => {
    expect(planStages({ serviceNames: ['media', 'gateway'] }, ['app'])).toEqual(['media', 'gateway']);
  });

  it('falls back to the default list when serviceNames is absent or empty', () => {
    expect(planStages({}, ['app', 'worker'])).toEqual(['app', 'worker']);
    expect(planStages({ serviceNames: [] }, ['app'])).toEqual(['app']);
  });

  it('returns a copy, so changing the plan never changes the default list', () => {
    const defaults = ['app'];

    planStages({}, defaults).push('intruder');

    expect(defaults).toEqual(['app']);
  });
});

describe('remainingStages', () => {
  it('skips completed stages and keeps the order of the rest', () => {
    expect(remainingStages(['a', 'b', 'c', 'd'], ['c', 'a'])).toEqual(['b', 'd']);
  });

  it('is empty once every stage completed', () => {
    expect(remainingStages(['a', 'b'], ['b', 'a'])).toEqual([]);
  });

  it('ignores completed names that are not stages of this plan', () => {
    expect(remainingStages(['a', 'b'], ['zzz'])).toEqual(['a', 'b']);
  });

  it('never repeats a completed stage and keeps every other stage in plan order', () => {
    const stagesAndCompleted = fc
      .uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { maxLength: 12 })
      .chain((stages) =>
        fc.record({
          stages: fc.constant(stages),
          completed: fc
            .subarray(stages)
            .chain((subset) => fc.shuffledSubarray(subset, { minLength: subset.length })),
        }),
      );

    fc.assert(
      fc.property(stagesAndCompleted, ({ stages, completed }) => {
        const remaining = remainingStages(stages, completed);

        expect(remaining.filter((stage) => completed.includes(stage))).toEqual([]);
        expect(remaining).toEqual(stages.filter((stage) => !completed.includes(stage)));
      }),
    );
  });
});

describe('endpoint URLs', () => {
  it.each([
    ['http://10.0.0.5:8080', 'http://10.0.0.5:8080'],
    ['https://gw.example.com/', 'https://gw.example.com'],
    ['https://gw.example.com/base//', 'https://gw.example.com/base'],
  ])('uses an http(s) value %s as the base URL', (value, base) => {
    expect(endpointBaseUrl({ value, targetDomain: 'ignored.internal', targetIp: '10.9.9.9' })).toBe(base);
  });

  it('prefers targetDomain over targetIp when value is not a URL', () => {
    expect(endpointBaseUrl({ value: 'gw:5060', targetDomain: 'gw.internal', targetIp: '10.0.0.2' })).toBe(
      'http://gw.internal',
    );
  });

  it('uses targetIp when there is no targetDomain', () => {
    expect(endpointBaseUrl({ value: 'ftp://gw', targetIp: '10.0.0.2' })).toBe('http://10.0.0.2');
  });

  it('refuses an endpoint with nothing to reach', () => {
    expect(() => endpointBaseUrl({ key: 'app', value: 'gw:5060' })).toThrow(/neither an http\(s\) value/);
  });

  it('builds health and broadcast URLs from the base and the configured paths', () => {
    const endpoint: NetworkEndpoint = { value: 'https://gw.example.com/' };

    expect(healthUrl(endpoint, '/health')).toBe('https://gw.example.com/health');
    expect(broadcastUrl(endpoint, '/config')).toBe('https://gw.example.com/config');
    expect(healthUrl({ targetIp: '10.0.0.2' }, '/ready')).toBe('http://10.0.0.2/ready');
  });

  it('labels an endpoint by key and base URL, with * for one without key', () => {
    expect(endpointLabel({ key: 'media', targetDomain: 'm.internal' })).toBe('media@http://m.internal');
    expect(endpointLabel({ targetIp: '10.0.0.2' })).toBe('*@http://10.0.0.2');
  });
});

describe('endpointsForStage', () => {
  const stages = ['gateway', 'media'];
  const gateway: NetworkEndpoint = { key: 'gateway', targetDomain: 'gw.internal' };
  const media: NetworkEndpoint = { key: 'media', targetDomain: 'media.internal' };
  const shared: NetworkEndpoint = { key: 'sbc', targetDomain: 'sbc.internal' };
  const unkeyed: NetworkEndpoint = { targetDomain: 'lb.internal' };
  const endpoints = [gateway, media, shared, unkeyed];

  it('gives a stage the endpoints keyed to it plus those whose key names no stage', () => {
    expect(endpointsForStage(endpoints, 'gateway', stages)).toEqual([gateway, shared, unkeyed]);
    expect(endpointsForStage(endpoints, 'media', stages)).toEqual([media, shared, unkeyed]);
  });

  it('never gives a stage the endpoints keyed to another stage', () => {
    const forGateway = endpointsForStage(endpoints, 'gateway', stages);

    expect(forGateway).not.toContain(media);
  });
});
