/**
 * Scheduled supervisor. EventBridge schedules run at most once a minute, so one
 * invocation sweeps `SUPERVISOR_SWEEPS` times (default 6), a heartbeat interval apart.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { depsFromEnv } from './core/deps.ts';
import { SUPERVISOR_SWEEPS_ENV } from './core/env.ts';
import { observability } from './core/observability.ts';
import { type SweepReport, sweep } from './core/orchestration/supervisor.ts';
import { DEFAULTS } from './core/settings.ts';

const deps = depsFromEnv();
const sweeps = Number(process.env[SUPERVISOR_SWEEPS_ENV] ?? 6);
if (!Number.isInteger(sweeps) || sweeps < 1)
  throw new Error(
    `${SUPERVISOR_SWEEPS_ENV} must be a positive integer, got ${process.env[SUPERVISOR_SWEEPS_ENV]}`,
  );

export const handler = middy<unknown, SweepReport[], Error, Context>()
  .use(observability())
  .handler(async () => {
    const reports: SweepReport[] = [];
    for (let i = 0; i < sweeps; i++) {
      if (i > 0) await deps.sleep(DEFAULTS.heartbeatSeconds * 1000);
      reports.push(await sweep(deps));
    }
    return reports;
  });
