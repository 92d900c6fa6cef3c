/** Stage planning and endpoint resolution: which stages a task runs and which endpoints each stage checks. */
import type { NetworkEndpoint, TenantDeployConfig } from './schemas.ts';

export function planStages(
  config: Pick<TenantDeployConfig, 'serviceNames'>,
  defaultServiceNames: readonly string[],
) {
  return config.serviceNames?.length ? [...config.serviceNames] : [...defaultServiceNames];
}

/** Stages still to run, in order, given the stages already completed (a completed stage never runs again). */
export function remainingStages(stages: readonly string[], completed: readonly string[]): string[] {
  const done = new Set(completed);
  return stages.filter((stage) => !done.has(stage));
}

export function endpointBaseUrl(endpoint: NetworkEndpoint): string {
  if (endpoint.value && /^https?:\/\//.test(endpoint.value)) return endpoint.value.replace(/\/+$/, '');
  const host = endpoint.targetDomain || endpoint.targetIp;
  if (!host) throw new Error('endpoint has neither an http(s) value nor a targetDomain/targetIp');
  return `http://${host}`;
}

export const healthUrl = (endpoint: NetworkEndpoint, healthCheckPath: string) =>
  endpointBaseUrl(endpoint) + healthCheckPath;
export const broadcastUrl = (endpoint: NetworkEndpoint, broadcastPath: string) =>
  endpointBaseUrl(endpoint) + broadcastPath;

/** An endpoint belongs to the stage named by its key; one whose key names no stage belongs to every stage. */
export function endpointsForStage(
  endpoints: readonly NetworkEndpoint[],
  stage: string,
  stages: readonly string[],
): NetworkEndpoint[] {
  return endpoints.filter((e) => e.key === stage || e.key === undefined || !stages.includes(e.key));
}

/** A short, stable name for an endpoint in failure messages and results. */
export const endpointLabel = (endpoint: NetworkEndpoint) =>
  `${endpoint.key ?? '*'}@${endpointBaseUrl(endpoint)}`;
