/** Reads and checks the engine's environment once, failing loudly on anything it cannot use. */
import { parseFaultSpecs } from './faults.ts';
import type { ReferenceEngineOptions } from './server.ts';

export interface EngineSettings {
  engine: Omit<ReferenceEngineOptions, 'onCrash'> & {
    host: string;
    engineVersion: string;
    versionKey: string;
  };
  /** The host the hand-off reports, when set; otherwise derived from HOST (see handoff.ts). */
  advertiseHost?: string;
  taskToken?: string;
  handOffDelayMs: number;
  taskArn?: string;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const optional = (env: NodeJS.ProcessEnv, name: string) => (env[name] ? env[name] : undefined);

export function settingsFromEnv(env: NodeJS.ProcessEnv): EngineSettings {
  const host = optional(env, 'HOST') ?? '127.0.0.1';
  let faults: ReturnType<typeof parseFaultSpecs> | undefined;
  const rawFaults = optional(env, 'FAULTS');
  if (rawFaults) {
    let json: unknown;
    try {
      json = JSON.parse(rawFaults);
    } catch {
      throw new Error('FAULTS must be JSON: one fault spec or a list of them');
    }
    faults = parseFaultSpecs(json);
  }
  const tenantId = optional(env, 'TENANT_ID');
  const service = optional(env, 'SERVICE_NAME');
  const engineId = optional(env, 'ENGINE_ID');
  const taskToken = optional(env, 'TASK_TOKEN');
  const taskArn = optional(env, 'TASK_ARN');
  const advertiseHost = optional(env, 'ENGINE_ADVERTISE_HOST');
  return {
    engine: {
      port: integer(env, 'PORT', 0, 0, 65_535),
      host,
      engineVersion: optional(env, 'ENGINE_VERSION') ?? '0',
      versionKey: optional(env, 'VERSION_KEY') ?? 'version',
      ...(tenantId && { tenantId }),
      ...(service && { service }),
      ...(engineId && { engineId }),
      ...(faults && { faults }),
    },
    handOffDelayMs: integer(env, 'HANDOFF_DELAY_MS', 0, 0, 86_400_000),
    ...(taskToken && { taskToken }),
    ...(taskArn && { taskArn }),
    ...(advertiseHost && { advertiseHost }),
  };
}
