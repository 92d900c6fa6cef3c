import { describe, expect, it } from 'vitest';
import { evaluateHealth, type HealthInputs, healthStatusCode } from '../../../functions/api/health.ts';

const up = { ok: true as const, latencyMs: 3 };
const down = { ok: false as const, latencyMs: 2000, error: 'no answer within 2000 ms' };
const inputs = (over: Partial<HealthInputs> = {}): HealthInputs => ({
  store: up,
  orchestrator: up,
  eventBus: up,
  staleTenants: [],
  version: '1.2.3',
  ...over,
});

describe('evaluateHealth', () => {
  it('is healthy when every component is up and no lease is stale', () => {
    const report = evaluateHealth(inputs());

    expect(report).toEqual({
      status: 'healthy',
      components: {
        store: { status: 'up', latencyMs: 3 },
        orchestrator: { status: 'up', latencyMs: 3 },
        eventBus: { status: 'up', latencyMs: 3 },
        staleTasks: { status: 'ok', count: 0, tenants: [] },
      },
      version: '1.2.3',
    });
    expect(healthStatusCode(report)).toBe(200);
  });

  it('is unhealthy (503) when the store or the orchestrator is down', () => {
    const noStore = evaluateHealth(inputs({ store: down, staleTenants: undefined }));
    const noOrchestrator = evaluateHealth(inputs({ orchestrator: down }));

    expect(noStore.status).toBe('unhealthy');
    expect(noStore.components.store).toEqual({
      status: 'down',
      latencyMs: 2000,
      error: 'no answer within 2000 ms',
    });
    expect(noStore.components.staleTasks.status).toBe('unknown');
    expect(noOrchestrator.status).toBe('unhealthy');
    expect(healthStatusCode(noOrchestrator)).toBe(503);
  });

  it('is degraded (still 200) when only the event bus is down', () => {
    const report = evaluateHealth(inputs({ eventBus: down }));

    expect(report.status).toBe('degraded');
    expect(healthStatusCode(report)).toBe(200);
  });

  it('is degraded when tasks hold locks whose lease expired, naming their tenants in order', () => {
    const report = evaluateHealth(inputs({ staleTenants: ['zeta', 'alpha'] }));

    expect(report.status).toBe('degraded');
    expect(report.components.staleTasks).toEqual({ status: 'stale', count: 2, tenants: ['alpha', 'zeta'] });
  });

  it('lets unhealthy win over degraded', () => {
    expect(evaluateHealth(inputs({ store: down, eventBus: down, staleTenants: ['a'] })).status).toBe(
      'unhealthy',
    );
  });
});
