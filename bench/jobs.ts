/** What the parent asks a worker process to measure, and how the worker reports back. */

export type Job =
  | {
      kind: 'orchestration';
      overhead: { tenants: number; stages: number };
      floor: { rounds: number; loopRounds: number };
      cost: { tenants: number; stages: number };
      locks: { uncontended: number; total: number; inFlight: number };
    }
  | {
      kind: 'scale';
      tenants: number;
      stages: number;
      maxConcurrency: number;
      timeoutMs: number;
    };

export const RESULT_PREFIX = 'BENCH_RESULT ';
