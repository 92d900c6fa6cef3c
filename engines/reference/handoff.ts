/**
 * The hand-off: a provisioned engine tells the waiting `ecs:runTask.waitForTaskToken` state where it
 * listens, once it really answers healthy. The client has no explicit endpoint on purpose: locally the
 * runtime sets AWS_ENDPOINT_URL_SFN, on AWS the task role and region apply.
 */
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { ReferenceEngine } from './server.ts';
import { SELF_CHECK_HEADER } from './server.ts';

const sfn = new SFNClient({});

export interface HandOffPayload {
  engineId: string;
  endpoint: string;
  version: string;
  tenantId?: string;
  service?: string;
  taskArn?: string;
}

export interface HandOffInput {
  engine: ReferenceEngine;
  taskToken: string;
  advertiseHost?: string;
  versionKey: string;
  delayMs: number;
  tenantId?: string;
  service?: string;
  taskArn?: string;
  env: NodeJS.ProcessEnv;
}

export type HandOffOutcome =
  | { sent: true; payload: HandOffPayload }
  | { sent: false; reason: 'neverHandOff' };

const PROBE_EVERY_MS = 100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function handOffPayload(input: Omit<HandOffPayload, 'endpoint'> & { host: string; port: number }) {
  const { host, port, ...rest } = input;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { ...rest, endpoint: `http://${hostPart}:${port}` } satisfies HandOffPayload;
}

/**
 * Probes the engine over real HTTP (so faults such as neverHealthy hold the hand-off back) until it
 * answers 2xx, and returns the version it reported. An engine that never gets healthy never hands off;
 * the provisioning step's timeout deals with it.
 */
export async function waitUntilHealthy(url: string, versionKey: string): Promise<string> {
  for (;;) {
    try {
      const res = await fetch(`${url}/health`, {
        headers: { [SELF_CHECK_HEADER]: '1' },
        signal: AbortSignal.timeout(2_000),
      });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.ok) return String(body[versionKey]);
    } catch {
      // not answering yet: probe again
    }
    await sleep(PROBE_EVERY_MS);
  }
}

interface TaskMetadata {
  TaskARN?: string;
  Containers?: { Networks?: { IPv4Addresses?: string[] }[] }[];
}

/** On Fargate the task ARN and the task's private address are only known from the task metadata endpoint. */
export async function readTaskMetadata(env: NodeJS.ProcessEnv): Promise<{ taskArn?: string; ip?: string }> {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!uri) return {};
  try {
    const res = await fetch(`${uri}/task`, { signal: AbortSignal.timeout(2_000) });
    const body = (await res.json()) as TaskMetadata;
    const ip = body.Containers?.[0]?.Networks?.[0]?.IPv4Addresses?.[0];
    return { ...(body.TaskARN && { taskArn: body.TaskARN }), ...(ip && { ip }) };
  } catch {
    return {};
  }
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * A wildcard bind address is not something a caller can connect to, so report a reachable one instead.
 * Without one (no task metadata, nothing configured) there is none to report: 127.0.0.1 would send
 * every health check and broadcast to the caller itself, so the hand-off fails instead.
 */
export function advertisedHost(
  bindHost: string,
  configured: string | undefined,
  metadataIp: string | undefined,
): string {
  if (configured) return configured;
  if (!WILDCARD_HOSTS.has(bindHost)) return bindHost;
  if (metadataIp) return metadataIp;
  throw new Error(
    `listening on ${bindHost || 'every interface'} but the task metadata gave no address; set ENGINE_ADVERTISE_HOST`,
  );
}

export async function handOff(input: HandOffInput): Promise<HandOffOutcome> {
  if (input.delayMs > 0) await sleep(input.delayMs);
  const version = await waitUntilHealthy(input.engine.url, input.versionKey);
  if (input.engine.faultsFor(input.tenantId, input.service).neverHandOff) {
    return { sent: false, reason: 'neverHandOff' };
  }
  const metadata = await readTaskMetadata(input.env);
  const taskArn = input.taskArn ?? metadata.taskArn;
  const payload = handOffPayload({
    engineId: input.engine.engineId,
    host: advertisedHost(input.engine.host, input.advertiseHost, metadata.ip),
    port: input.engine.port,
    version,
    ...(input.tenantId && { tenantId: input.tenantId }),
    ...(input.service && { service: input.service }),
    ...(taskArn && { taskArn }),
  });
  await sfn.send(new SendTaskSuccessCommand({ taskToken: input.taskToken, output: JSON.stringify(payload) }));
  return { sent: true, payload };
}
