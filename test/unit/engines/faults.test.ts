import { describe, expect, it } from 'vitest';
import {
  clearFaults,
  evaluateBroadcast,
  evaluateHealth,
  faultsFor,
  parseFaultSpecs,
  setFaults,
} from '../../../engines/reference/faults.ts';

describe('fault table', () => {
  it('applies the most specific rule per switch: global < service < tenant < tenant+service', () => {
    let table = setFaults([], { neverHealthy: true, slowMs: 5 });
    table = setFaults(table, { service: 'app', slowMs: 10 });
    table = setFaults(table, { tenantId: 't1', wrongVersion: 'x' });
    table = setFaults(table, { tenantId: 't1', service: 'app', neverHealthy: false });

    expect(faultsFor(table, 't1', 'app')).toEqual({ neverHealthy: false, slowMs: 10, wrongVersion: 'x' });
    expect(faultsFor(table, 't1', 'db')).toEqual({ neverHealthy: true, slowMs: 5, wrongVersion: 'x' });
    expect(faultsFor(table, 't2', 'app')).toEqual({ neverHealthy: true, slowMs: 10 });
    expect(faultsFor(table, undefined, undefined)).toEqual({ neverHealthy: true, slowMs: 5 });
  });

  it('replaces the rule of the same scope instead of merging into it', () => {
    let table = setFaults([], { tenantId: 't1', neverHealthy: true });
    table = setFaults(table, { tenantId: 't1', slowMs: 20 });

    expect(table).toEqual([{ scope: { tenantId: 't1' }, faults: { slowMs: 20 } }]);
  });

  it('clears one scope exactly, or everything without a scope', () => {
    let table = setFaults([], { tenantId: 't1', neverHealthy: true });
    table = setFaults(table, { tenantId: 't1', service: 'app', slowMs: 1 });

    expect(clearFaults(table, { tenantId: 't1' })).toEqual([
      { scope: { tenantId: 't1', service: 'app' }, faults: { slowMs: 1 } },
    ]);
    expect(clearFaults(table)).toEqual([]);
  });
});

describe('parseFaultSpecs', () => {
  it('accepts one spec or a list and stringifies wrongVersion', () => {
    expect(parseFaultSpecs({ wrongVersion: 7 })).toEqual([{ wrongVersion: '7' }]);
    expect(parseFaultSpecs([{ tenantId: 't1', neverHandOff: true }, { failBroadcast: 500 }])).toEqual([
      { tenantId: 't1', neverHandOff: true },
      { failBroadcast: 500 },
    ]);
  });

  it('rejects unknown switches and out-of-range statuses, naming the field', () => {
    expect(() => parseFaultSpecs({ neverHealty: true })).toThrow(/invalid faults/);
    expect(() => parseFaultSpecs({ failBroadcast: 200 })).toThrow(/failBroadcast/);
    expect(() => parseFaultSpecs({ healthyAfterPolls: -1 })).toThrow(/healthyAfterPolls/);
  });
});

describe('evaluateHealth', () => {
  it('is healthy with the current version when no fault is set', () => {
    expect(evaluateHealth({}, { version: '3', poll: 1 })).toEqual({
      healthy: true,
      statusCode: 200,
      version: '3',
    });
  });

  it('never gets healthy under neverHealthy, answering the configured status', () => {
    expect(evaluateHealth({ neverHealthy: true, unhealthyStatus: 500 }, { version: '3', poll: 99 })).toEqual({
      healthy: false,
      statusCode: 500,
      version: '3',
      reason: 'neverHealthy',
    });
  });

  it('answers unhealthy for the first n polls and healthy from poll n+1', () => {
    const faults = { healthyAfterPolls: 2 };
    const verdicts = [1, 2, 3, 4].map((poll) => evaluateHealth(faults, { version: '1', poll }));

    expect(verdicts.map((v) => [v.healthy, v.statusCode])).toEqual([
      [false, 503],
      [false, 503],
      [true, 200],
      [true, 200],
    ]);
  });

  it('reports the wrong version while staying healthy', () => {
    expect(evaluateHealth({ wrongVersion: 'x' }, { version: '2', poll: 1 })).toEqual({
      healthy: true,
      statusCode: 200,
      version: 'x',
    });
  });
});

describe('evaluateBroadcast', () => {
  it('accepts by default, fails with the set status, and a crash wins over a failure', () => {
    expect(evaluateBroadcast({})).toEqual({ kind: 'accept' });
    expect(evaluateBroadcast({ failBroadcast: 502 })).toEqual({ kind: 'fail', statusCode: 502 });
    expect(evaluateBroadcast({ failBroadcast: 502, crashOnBroadcast: true })).toEqual({ kind: 'crash' });
  });
});
