/**
 * The system health verdict (pure): the store and the orchestrator are required for
 * anything to happen (down → unhealthy); a missing event bus only delays notifications,
 * and stale tasks mean the supervisor is behind (either → degraded).
 */
import type { HealthReport } from './schemas.ts';

export type ProbeResult = { ok: true; latencyMs: number } | { ok: false; latencyMs: number; error: string };

export interface HealthInputs {
  store: ProbeResult;
  orchestrator: ProbeResult;
  eventBus: ProbeResult;
  /** Tenants whose lock lease expired while still held; undefined when the store could not be read. */
  staleTenants: readonly string[] | undefined;
  version: string;
}

const component = (probe: ProbeResult) =>
  probe.ok
    ? { status: 'up' as const, latencyMs: probe.latencyMs }
    : { status: 'down' as const, latencyMs: probe.latencyMs, error: probe.error };

export function evaluateHealth(inputs: HealthInputs): HealthReport {
  const stale = inputs.staleTenants;
  const staleTasks = {
    status: stale === undefined ? ('unknown' as const) : stale.length ? ('stale' as const) : ('ok' as const),
    count: stale?.length ?? 0,
    tenants: [...(stale ?? [])].sort(),
  };
  const status =
    !inputs.store.ok || !inputs.orchestrator.ok
      ? 'unhealthy'
      : !inputs.eventBus.ok || staleTasks.status !== 'ok'
        ? 'degraded'
        : 'healthy';
  return {
    status,
    components: {
      store: component(inputs.store),
      orchestrator: component(inputs.orchestrator),
      eventBus: component(inputs.eventBus),
      staleTasks,
    },
    version: inputs.version,
  };
}

/** 503 lets load balancers and scripts act on an unhealthy API without reading the body. */
export const healthStatusCode = (report: HealthReport) => (report.status === 'unhealthy' ? 503 : 200);
