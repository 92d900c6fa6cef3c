import { describe, expect, it } from 'vitest';
import {
  findOverlaps,
  interleavedPairs,
  planWindows,
  type Run,
  recordTouch,
} from '../../../engines/reference/overlap.ts';

const touches = (tenantId: string, plans: string[], start = 1_000) =>
  plans.reduce<Run[]>((runs, planId, i) => recordTouch(runs, { tenantId, planId, at: start + i * 10 }), []);

describe('recordTouch', () => {
  it('folds consecutive touches of one plan into one run', () => {
    expect(touches('t1', ['A', 'A', 'B', 'B', 'B'])).toEqual([
      { planId: 'A', firstAt: 1_000, lastAt: 1_010, touches: 2 },
      { planId: 'B', firstAt: 1_020, lastAt: 1_040, touches: 3 },
    ]);
  });

  it('keeps the latest plan version seen in a run', () => {
    const runs = recordTouch(recordTouch([], { tenantId: 't', planId: 'A', planVersion: '1', at: 1 }), {
      tenantId: 't',
      planId: 'A',
      planVersion: '2',
      at: 2,
    });
    expect(runs).toEqual([{ planId: 'A', planVersion: '2', firstAt: 1, lastAt: 2, touches: 2 }]);
  });
});

describe('interleavedPairs', () => {
  it('finds nothing when plans touch a tenant one after another', () => {
    expect(interleavedPairs(touches('t1', ['A', 'A', 'B', 'B', 'C']))).toEqual([]);
  });

  it('finds A…B…A', () => {
    expect(interleavedPairs(touches('t1', ['A', 'B', 'A']))).toEqual([['A', 'B']]);
  });

  it('names every plan caught between two touches of the same plan, each pair once', () => {
    expect(interleavedPairs(touches('t1', ['B', 'A', 'C', 'B', 'A']))).toEqual([
      ['A', 'B'],
      ['A', 'C'],
      ['B', 'C'],
    ]);
  });
});

describe('findOverlaps', () => {
  it('reports only the tenants whose plans interleaved, with each plan window', () => {
    const runsByTenant = new Map([
      ['t1', touches('t1', ['A', 'B', 'B', 'A'], 0)],
      ['t2', touches('t2', ['A', 'B'], 0)],
    ]);

    expect(findOverlaps(runsByTenant)).toEqual([
      {
        tenantId: 't1',
        interleaved: [['A', 'B']],
        sequence: ['A', 'B', 'A'],
        windows: [
          {
            planId: 'A',
            firstTouch: new Date(0).toISOString(),
            lastTouch: new Date(30).toISOString(),
            touches: 2,
          },
          {
            planId: 'B',
            firstTouch: new Date(10).toISOString(),
            lastTouch: new Date(20).toISOString(),
            touches: 2,
          },
        ],
      },
    ]);
  });

  it('gives one window per plan spanning its first and last touch', () => {
    expect(planWindows(touches('t1', ['A', 'B', 'A'], 0)).map((w) => [w.planId, w.touches])).toEqual([
      ['A', 2],
      ['B', 1],
    ]);
  });
});
