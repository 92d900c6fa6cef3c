/**
 * Overlap detector: proves (or disproves) that two rollout plans never worked on the same tenant at
 * once. Every broadcast or health request that can be attributed to a plan is a touch; per tenant the
 * touches are folded into runs of consecutive touches by the same plan. Since neighbouring runs always
 * belong to different plans, a plan that owns two runs was interleaved (A…B…A) with whatever ran in
 * between. Pure functions; the server keeps the runs.
 */

export interface Touch {
  tenantId: string;
  planId: string;
  planVersion?: string;
  at: number;
}

export interface Run {
  planId: string;
  planVersion?: string;
  firstAt: number;
  lastAt: number;
  touches: number;
}

export interface PlanWindow {
  planId: string;
  planVersion?: string;
  firstTouch: string;
  lastTouch: string;
  touches: number;
}

export interface Overlap {
  tenantId: string;
  /** Unordered pairs of plans whose touches interleaved, each pair once, sorted. */
  interleaved: [string, string][];
  /** The order in which plans touched the tenant, one entry per run. */
  sequence: string[];
  windows: PlanWindow[];
}

export function recordTouch(runs: readonly Run[], touch: Touch): Run[] {
  const last = runs.at(-1);
  if (last && last.planId === touch.planId) {
    const extended: Run = {
      ...last,
      lastAt: Math.max(last.lastAt, touch.at),
      touches: last.touches + 1,
      ...(touch.planVersion !== undefined && { planVersion: touch.planVersion }),
    };
    return [...runs.slice(0, -1), extended];
  }
  return [
    ...runs,
    {
      planId: touch.planId,
      ...(touch.planVersion !== undefined && { planVersion: touch.planVersion }),
      firstAt: touch.at,
      lastAt: touch.at,
      touches: 1,
    },
  ];
}

/** One window per plan: from its first to its last touch of the tenant. */
export function planWindows(runs: readonly Run[]): PlanWindow[] {
  const byPlan = new Map<
    string,
    { planVersion?: string; firstAt: number; lastAt: number; touches: number }
  >();
  for (const run of runs) {
    const seen = byPlan.get(run.planId);
    byPlan.set(run.planId, {
      planVersion: run.planVersion ?? seen?.planVersion,
      firstAt: Math.min(seen?.firstAt ?? run.firstAt, run.firstAt),
      lastAt: Math.max(seen?.lastAt ?? run.lastAt, run.lastAt),
      touches: (seen?.touches ?? 0) + run.touches,
    });
  }
  return [...byPlan].map(([planId, w]) => ({
    planId,
    ...(w.planVersion !== undefined && { planVersion: w.planVersion }),
    firstTouch: new Date(w.firstAt).toISOString(),
    lastTouch: new Date(w.lastAt).toISOString(),
    touches: w.touches,
  }));
}

export function interleavedPairs(runs: readonly Run[]): [string, string][] {
  const pairs = new Map<string, [string, string]>();
  const lastIndex = new Map<string, number>();
  runs.forEach((run, index) => {
    const previous = lastIndex.get(run.planId);
    if (previous !== undefined) {
      for (const between of runs.slice(previous + 1, index)) {
        const pair = [run.planId, between.planId].sort() as [string, string];
        pairs.set(pair.join('\u0000'), pair);
      }
    }
    lastIndex.set(run.planId, index);
  });
  return [...pairs.values()].sort((a, b) => a.join().localeCompare(b.join()));
}

export function findOverlaps(runsByTenant: ReadonlyMap<string, readonly Run[]>): Overlap[] {
  const overlaps: Overlap[] = [];
  for (const [tenantId, runs] of runsByTenant) {
    const interleaved = interleavedPairs(runs);
    if (interleaved.length === 0) continue;
    overlaps.push({
      tenantId,
      interleaved,
      sequence: runs.map((run) => run.planId),
      windows: planWindows(runs),
    });
  }
  return overlaps.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
}
