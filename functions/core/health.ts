/**
 * The stage health check: endpoints polled one after another, round after round.
 * A round passes only when every endpoint answers 2xx with the expected version.
 */
import type { HealthCheckSettings } from './schemas.ts';

export interface HealthTarget {
  label: string;
  url: string;
}

export interface EndpointAnswer {
  endpoint: string;
  url: string;
  ok: boolean;
  status?: number;
  version?: string;
  error?: string;
}

export interface HealthResult {
  passed: boolean;
  rounds: number;
  /** Each endpoint's answer in the last round. */
  answers: EndpointAnswer[];
}

/** Judges one endpoint's answer (pure). */
export function judgeAnswer(
  target: HealthTarget,
  expectedVersion: string,
  versionKey: string,
  answer: { status: number; body: unknown } | { error: string },
): EndpointAnswer {
  const base = { endpoint: target.label, url: target.url };
  if ('error' in answer) return { ...base, ok: false, error: answer.error };
  const { status, body } = answer;
  if (status < 200 || status > 299) return { ...base, ok: false, status, error: `answered HTTP ${status}` };
  const reported =
    body && typeof body === 'object' && versionKey in body
      ? (body as Record<string, unknown>)[versionKey]
      : undefined;
  if (reported === undefined || reported === null) {
    return { ...base, ok: false, status, error: `reported no "${versionKey}"` };
  }
  const version = String(reported);
  if (version !== expectedVersion) {
    return {
      ...base,
      ok: false,
      status,
      version,
      error: `reported version ${version}, expected ${expectedVersion}`,
    };
  }
  return { ...base, ok: true, status, version };
}

/** One line naming every endpoint that failed the last round. */
export function describeFailure(result: HealthResult): string {
  const failing = result.answers.filter((a) => !a.ok);
  return `health check failed after ${result.rounds} round(s): ${failing.map((a) => `${a.endpoint} ${a.error}`).join('; ')}`;
}

export interface HealthIo {
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
}

/** A response's body parsed as JSON; undefined when it is empty or not JSON (an endpoint may answer anything). */
export async function jsonBodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

async function ask(target: HealthTarget, timeoutSeconds: number, io: HealthIo) {
  try {
    const response = await io.fetch(target.url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
    return { status: response.status, body: await jsonBodyOf(response) };
  } catch (error) {
    const name = (error as Error).name;
    return {
      error:
        name === 'TimeoutError'
          ? `did not answer within ${timeoutSeconds}s`
          : `unreachable (${(error as Error).message})`,
    };
  }
}

export async function checkHealth(
  targets: readonly HealthTarget[],
  expectedVersion: string,
  settings: HealthCheckSettings,
  io: HealthIo,
): Promise<HealthResult> {
  let answers: EndpointAnswer[] = [];
  for (let round = 1; round <= settings.maxAttempts; round++) {
    answers = [];
    for (const target of targets) {
      answers.push(
        judgeAnswer(
          target,
          expectedVersion,
          settings.versionKey,
          await ask(target, settings.timeoutSeconds, io),
        ),
      );
    }
    if (answers.every((a) => a.ok)) return { passed: true, rounds: round, answers };
    if (round < settings.maxAttempts) await io.sleep(settings.intervalSeconds * 1000);
  }
  return { passed: false, rounds: settings.maxAttempts, answers };
}

export interface BroadcastFailure {
  endpoint: string;
  url: string;
  error: string;
}

/** POSTs the config to every broadcast URL; any 2xx is accepted, anything else fails the stage. */
export async function broadcast(
  targets: readonly HealthTarget[],
  body: unknown,
  timeoutSeconds: number,
  io: Pick<HealthIo, 'fetch'>,
): Promise<BroadcastFailure[]> {
  const failures: BroadcastFailure[] = [];
  for (const target of targets) {
    try {
      const response = await io.fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
      });
      await response.arrayBuffer();
      if (response.status < 200 || response.status > 299) {
        failures.push({ endpoint: target.label, url: target.url, error: `answered HTTP ${response.status}` });
      }
    } catch (error) {
      failures.push({
        endpoint: target.label,
        url: target.url,
        error: `unreachable (${(error as Error).message})`,
      });
    }
  }
  return failures;
}
