/**
 * Fault switches of the reference engine. Faults live beside the public API (admin calls or the FAULTS
 * env), so a test or demo can make an engine misbehave while the rollout system keeps sending exactly
 * what it sends in production. Everything here is pure; the server owns the table.
 */
import { z } from 'zod';

const status = z.int().min(400).max(599);

export const faultSpecSchema = z.strictObject({
  tenantId: z.string().min(1).optional(),
  service: z.string().min(1).optional(),
  neverHealthy: z.boolean().optional(),
  /** The first n health polls after the last config change answer unhealthy; poll n+1 is healthy. */
  healthyAfterPolls: z.int().min(0).optional(),
  wrongVersion: z
    .union([z.string().min(1), z.number()])
    .transform(String)
    .optional(),
  slowMs: z.int().min(0).max(600_000).optional(),
  failBroadcast: status.optional(),
  crashOnBroadcast: z.boolean().optional(),
  unhealthyStatus: status.optional(),
  neverHandOff: z.boolean().optional(),
  /** The process exits with this code once listening, before any hand-off (an engine that dies on start). */
  exitBeforeHandOff: z.int().min(1).max(255).optional(),
});
export type FaultSpec = z.infer<typeof faultSpecSchema>;

export type Faults = Omit<FaultSpec, 'tenantId' | 'service'>;
export interface FaultScope {
  tenantId?: string;
  service?: string;
}
export interface FaultRule {
  scope: FaultScope;
  faults: Faults;
}

/** Accepts one spec or a list (FAULTS env and PUT bodies share this). Throws with the offending path. */
export function parseFaultSpecs(input: unknown): FaultSpec[] {
  const result = z.union([faultSpecSchema, z.array(faultSpecSchema)]).safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new Error(`invalid faults: ${where}${issue?.message ?? 'unrecognised shape'}`);
  }
  return Array.isArray(result.data) ? result.data : [result.data];
}

const sameScope = (a: FaultScope, b: FaultScope) => a.tenantId === b.tenantId && a.service === b.service;

/** A PUT replaces the whole rule of its scope, so repeating it is idempotent and omitting a switch clears it. */
export function setFaults(table: readonly FaultRule[], spec: FaultSpec): FaultRule[] {
  const { tenantId, service, ...faults } = spec;
  const scope: FaultScope = {
    ...(tenantId !== undefined && { tenantId }),
    ...(service !== undefined && { service }),
  };
  return [...table.filter((rule) => !sameScope(rule.scope, scope)), { scope, faults }];
}

/** Without a scope everything goes; with one, exactly that scope's rule goes. */
export function clearFaults(table: readonly FaultRule[], scope?: FaultScope): FaultRule[] {
  if (!scope) return [];
  return table.filter((rule) => !sameScope(rule.scope, scope));
}

const matches = (scope: FaultScope, tenantId: string | undefined, service: string | undefined) =>
  (scope.tenantId === undefined || scope.tenantId === tenantId) &&
  (scope.service === undefined || scope.service === service);

const specificity = (scope: FaultScope) =>
  (scope.tenantId !== undefined ? 2 : 0) + (scope.service !== undefined ? 1 : 0);

/**
 * The faults in force for one tenant/service: global, then per service, then per tenant, then per
 * tenant+service, each switch taken from the most specific rule that sets it (so a specific rule can
 * switch a global fault off with `false`).
 */
export function faultsFor(
  table: readonly FaultRule[],
  tenantId: string | undefined,
  service: string | undefined,
): Faults {
  const applicable = table
    .filter((rule) => matches(rule.scope, tenantId, service))
    .sort((a, b) => specificity(a.scope) - specificity(b.scope));
  const merged: Record<string, unknown> = {};
  for (const rule of applicable) {
    for (const [name, value] of Object.entries(rule.faults)) {
      if (value !== undefined) merged[name] = value;
    }
  }
  return merged as Faults;
}

export interface HealthVerdict {
  healthy: boolean;
  statusCode: number;
  version: string;
  reason?: 'neverHealthy' | 'healthyAfterPolls';
}

/** `poll` is 1 for the first health poll after the last config change. */
export function evaluateHealth(faults: Faults, current: { version: string; poll: number }): HealthVerdict {
  const unhealthy = (reason: HealthVerdict['reason']): HealthVerdict => ({
    healthy: false,
    statusCode: faults.unhealthyStatus ?? 503,
    version: current.version,
    reason,
  });
  if (faults.neverHealthy) return unhealthy('neverHealthy');
  if (faults.healthyAfterPolls !== undefined && current.poll <= faults.healthyAfterPolls) {
    return unhealthy('healthyAfterPolls');
  }
  return { healthy: true, statusCode: 200, version: faults.wrongVersion ?? current.version };
}

export type BroadcastVerdict = { kind: 'accept' } | { kind: 'fail'; statusCode: number } | { kind: 'crash' };

export function evaluateBroadcast(faults: Faults): BroadcastVerdict {
  if (faults.crashOnBroadcast) return { kind: 'crash' };
  if (faults.failBroadcast !== undefined) return { kind: 'fail', statusCode: faults.failBroadcast };
  return { kind: 'accept' };
}
