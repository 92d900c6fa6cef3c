import { describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../../../engines/reference/env.ts';
import { advertisedHost, handOffPayload } from '../../../engines/reference/handoff.ts';

describe('settingsFromEnv', () => {
  it('defaults to a free port on loopback, version 0 and version key "version"', () => {
    expect(settingsFromEnv({})).toEqual({
      engine: { port: 0, host: '127.0.0.1', engineVersion: '0', versionKey: 'version' },
      handOffDelayMs: 0,
    });
  });

  it('reads identity, faults and hand-off settings', () => {
    const settings = settingsFromEnv({
      PORT: '8080',
      HOST: '0.0.0.0',
      ENGINE_VERSION: '5',
      TENANT_ID: 't1',
      SERVICE_NAME: 'app',
      VERSION_KEY: 'buildVersion',
      ENGINE_ID: 'e-1',
      FAULTS: '{"neverHandOff":true}',
      TASK_TOKEN: 'token',
      HANDOFF_DELAY_MS: '250',
      ENGINE_ADVERTISE_HOST: '10.0.0.5',
    });
    expect(settings).toEqual({
      engine: {
        port: 8080,
        host: '0.0.0.0',
        engineVersion: '5',
        versionKey: 'buildVersion',
        tenantId: 't1',
        service: 'app',
        engineId: 'e-1',
        faults: [{ neverHandOff: true }],
      },
      taskToken: 'token',
      handOffDelayMs: 250,
      advertiseHost: '10.0.0.5',
    });
  });

  it('refuses values it cannot use, naming the variable', () => {
    expect(() => settingsFromEnv({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => settingsFromEnv({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => settingsFromEnv({ FAULTS: '{not json' })).toThrow(/FAULTS/);
    expect(() => settingsFromEnv({ FAULTS: '{"crash":true}' })).toThrow(/invalid faults/);
    expect(() => settingsFromEnv({ HANDOFF_DELAY_MS: '-1' })).toThrow(/HANDOFF_DELAY_MS/);
  });
});

describe('hand-off payload', () => {
  it('reports a reachable host: configured, else the bind host, else the task IP for a wildcard bind', () => {
    expect(advertisedHost('0.0.0.0', 'engine.internal', '10.0.0.9')).toBe('engine.internal');
    expect(advertisedHost('127.0.0.1', undefined, '10.0.0.9')).toBe('127.0.0.1');
    expect(advertisedHost('0.0.0.0', undefined, '10.0.0.9')).toBe('10.0.0.9');
  });

  it('refuses to advertise an address it does not know rather than loopback', () => {
    expect(() => advertisedHost('0.0.0.0', undefined, undefined)).toThrow(/ENGINE_ADVERTISE_HOST/);
  });

  it('builds the endpoint from host and port', () => {
    expect(handOffPayload({ engineId: 'e', host: '::1', port: 81, version: '2', tenantId: 't1' })).toEqual({
      engineId: 'e',
      endpoint: 'http://[::1]:81',
      version: '2',
      tenantId: 't1',
    });
  });
});
