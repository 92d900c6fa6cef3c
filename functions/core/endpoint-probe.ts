/**
 * The dry run's reachability check: one GET of each endpoint's health path, no config
 * sent and no version judged, to say before a rollout which endpoints would not answer.
 * Any HTTP answer counts except 404 (nothing serves that health path): a 5xx before the
 * rollout is a service warming up or busy, which the stage's health rounds wait out.
 */
import type { NetworkEndpoint, TenantDeployConfig } from './schemas.ts';
import { endpointLabel, healthUrl } from './stages.ts';

export interface UnansweredEndpoint {
  tenantId: string;
  endpoint: string;
  url: string;
  error: string;
}

export interface ProbeOptions {
  healthPath: string;
  timeoutSeconds: number;
  fetch: typeof fetch;
  /** Endpoints asked at the same time. */
  parallel?: number;
  /**
   * Stop starting probes after this long, so a dry run of a large plan still answers within
   * API Gateway's 30 s integration timeout for HTTP APIs
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
   */
  budgetMs?: number;
}

export interface ProbeResult {
  probed: number;
  /** Endpoints left unprobed because the time budget ran out. */
  skipped: number;
  unanswered: UnansweredEndpoint[];
}

const PARALLEL = 32;
const BUDGET_MS = 20_000;

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is on its cause. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

async function probe(url: string, options: ProbeOptions): Promise<string | undefined> {
  try {
    const response = await options.fetch(url, { signal: AbortSignal.timeout(options.timeoutSeconds * 1000) });
    await response.body?.cancel();
    return response.status === 404 ? 'answered HTTP 404: no health check at this path' : undefined;
  } catch (error) {
    return (error as Error).name === 'TimeoutError'
      ? `did not answer within ${options.timeoutSeconds}s`
      : `unreachable (${causeOf(error)})`;
  }
}

/** Probes every distinct health URL of the plan's endpoints once; names every endpoint that did not answer. */
export async function probeEndpoints(
  configs: readonly Pick<TenantDeployConfig, 'tenantId' | 'networkEndpoints'>[],
  options: ProbeOptions,
): Promise<ProbeResult> {
  const byUrl = new Map<string, { tenantId: string; endpoint: NetworkEndpoint }[]>();
  for (const config of configs) {
    for (const endpoint of config.networkEndpoints) {
      const url = healthUrl(endpoint, options.healthPath);
      byUrl.set(url, [...(byUrl.get(url) ?? []), { tenantId: config.tenantId, endpoint }]);
    }
  }
  const urls = [...byUrl.keys()];
  const deadline = Date.now() + (options.budgetMs ?? BUDGET_MS);
  const errors = new Map<string, string>();
  let next = 0;
  let probed = 0;
  const worker = async () => {
    while (next < urls.length && Date.now() < deadline) {
      const url = urls[next++]!;
      const error = await probe(url, options);
      probed += 1;
      if (error) errors.set(url, error);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.parallel ?? PARALLEL, urls.length) }, worker));
  const unanswered = [...errors].flatMap(([url, error]) =>
    byUrl
      .get(url)!
      .map(({ tenantId, endpoint }) => ({ tenantId, endpoint: endpointLabel(endpoint), url, error })),
  );
  return { probed, skipped: urls.length - probed, unanswered };
}
