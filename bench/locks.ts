/** Tenant lock throughput over distinct tenants, and the latency of one uncontended acquire. */
import { randomUUID } from 'node:crypto';
import { type Summary, summarize } from './stats.ts';
import type { System } from './system.ts';

export interface LockResult {
  uncontendedMs: Summary;
  acquisitions: number;
  inFlight: number;
  perSecond: number;
}

export async function measureLocks(
  system: System,
  options: { uncontended: number; total: number; inFlight: number },
): Promise<LockResult> {
  const store = system.deps.store;
  const run = randomUUID().slice(0, 6);
  const owner = { taskId: `bench-lock-${run}`, planId: `bench-lock-${run}` };
  const leaseMs = 60_000;
  const take = async (tenantId: string) => {
    const result = await store.acquireLock(tenantId, owner, leaseMs);
    if (!result.acquired) throw new Error(`lock on ${tenantId} was not acquired`);
  };

  const latencies: number[] = [];
  for (let i = 0; i < options.uncontended; i++) {
    const started = performance.now();
    await take(`lock-${run}-u${i}`);
    latencies.push(performance.now() - started);
  }

  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.inFlight }, async () => {
      while (next < options.total) await take(`lock-${run}-c${next++}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    uncontendedMs: summarize(latencies.slice(Math.min(20, Math.floor(options.uncontended / 10)))),
    acquisitions: options.total,
    inFlight: options.inFlight,
    perSecond: options.total / seconds,
  };
}
