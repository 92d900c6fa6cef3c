/** The pure rule derivation CDK and the local runtime share (functions/core/rules.ts). */
import { describe, expect, it } from 'vitest';
import {
  busForSource,
  rulesFromManifest as derive,
  STREAM_EVENT_FILTER,
} from '../../functions/core/rules.ts';
import type { FunctionSpec } from '../../functions/manifest.ts';

const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/rollout';
const rulesFromManifest = (functions: FunctionSpec[]) => derive(functions, { clusterArn: CLUSTER });

const base: Omit<FunctionSpec, 'name' | 'trigger'> = {
  entry: 'functions/x.ts',
  description: 'x',
  timeoutSeconds: 30,
  memoryMb: 256,
  table: 'RO',
  uses: [],
  env: [],
};

describe('rulesFromManifest', () => {
  it('routes project events to the project bus and AWS service events to the default bus', () => {
    const { events } = rulesFromManifest([
      { ...base, name: 'starter', trigger: { kind: 'event', detailType: 'Rollout Plan Requested' } },
      {
        ...base,
        name: 'watcher',
        trigger: { kind: 'event', detailType: 'ECS Task State Change', source: 'aws.ecs' },
      },
    ]);
    expect(events).toEqual([
      {
        name: 'starter-on-Rollout-Plan-Requested',
        eventBusName: 'project',
        pattern: { 'detail-type': ['Rollout Plan Requested'] },
        target: { function: 'starter' },
      },
      {
        name: 'watcher-on-ECS-Task-State-Change',
        eventBusName: 'default',
        pattern: { 'detail-type': ['ECS Task State Change'], source: ['aws.ecs'] },
        target: { function: 'watcher' },
      },
    ]);
  });

  it("narrows a trigger to the deployment's own cluster and to the detail it names", () => {
    const { events } = rulesFromManifest([
      {
        ...base,
        name: 'stopped',
        trigger: {
          kind: 'event',
          detailType: 'ECS Task State Change',
          source: 'aws.ecs',
          detail: { lastStatus: ['STOPPED'] },
          inProjectCluster: true,
        },
      },
    ]);

    expect(events[0]?.pattern).toEqual({
      'detail-type': ['ECS Task State Change'],
      source: ['aws.ecs'],
      detail: { lastStatus: ['STOPPED'], clusterArn: [CLUSTER] },
    });
  });

  it('turns schedule triggers into rate schedules and ignores http and stream triggers', () => {
    const result = rulesFromManifest([
      { ...base, name: 'tick', trigger: { kind: 'schedule', rateMinutes: 5 } },
      { ...base, name: 'api', trigger: { kind: 'http' } },
      { ...base, name: 'publisher', trigger: { kind: 'stream' } },
      { ...base, name: 'step' },
    ]);
    expect(result).toEqual({
      events: [],
      schedules: [{ name: 'tick-schedule', rateMinutes: 5, target: { function: 'tick' } }],
    });
  });

  it('rejects a schedule EventBridge cannot express', () => {
    expect(() =>
      rulesFromManifest([{ ...base, name: 'tick', trigger: { kind: 'schedule', rateMinutes: 0.5 } }]),
    ).toThrow(/rateMinutes/);
  });

  it('treats a custom source like the project', () => {
    expect(busForSource('tenant-rollout')).toBe('project');
    expect(busForSource(undefined)).toBe('project');
    expect(busForSource('aws.ecs')).toBe('default');
  });
});

it('lets only inserted event items through the stream filter', () => {
  expect(STREAM_EVENT_FILTER).toEqual({
    eventName: ['INSERT'],
    dynamodb: { NewImage: { sk: { S: [{ prefix: 'EVENT#' }] } } },
  });
});
