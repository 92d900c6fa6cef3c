import { describe, expect, it } from 'vitest';
import { localPorts } from '../../../local/ports.ts';

describe('localPorts', () => {
  it('puts every endpoint on a stable port next to the API by default', () => {
    expect(localPorts({})).toEqual({
      api: 3000,
      dynamodb: 3001,
      sfn: 3002,
      ecs: 3003,
      eventbridge: 3004,
      cloudwatch: 3005,
    });
  });

  it('derives them from ROLLOUT_PORT and lets one variable per endpoint override its port', () => {
    expect(localPorts({ ROLLOUT_PORT: '4000', ROLLOUT_PORT_SFN: '8083' })).toEqual({
      api: 4000,
      dynamodb: 4001,
      sfn: 8083,
      ecs: 4003,
      eventbridge: 4004,
      cloudwatch: 4005,
    });
  });

  it('asks for free ports everywhere when ROLLOUT_PORT is 0', () => {
    expect(localPorts({ ROLLOUT_PORT: '0' })).toEqual({
      api: 0,
      dynamodb: 0,
      sfn: 0,
      ecs: 0,
      eventbridge: 0,
      cloudwatch: 0,
    });
  });

  it('refuses a port that is not one, naming the variable', () => {
    expect(() => localPorts({ ROLLOUT_PORT_ECS: 'x' })).toThrow(/ROLLOUT_PORT_ECS/);
    expect(() => localPorts({ ROLLOUT_PORT: '65535' })).toThrow(/no room/);
  });
});
