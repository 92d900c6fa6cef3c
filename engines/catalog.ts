/**
 * The engine catalog: which services get a freshly started engine per rollout,
 * and how to run it. CDK builds one Fargate task definition per entry; the local
 * ECS endpoint runs the same entry as a child process.
 */
export interface EngineSpec {
  /** The service (stage) name this engine serves. */
  service: string;
  containerName: string;
  cpu: number;
  memoryMb: number;
  port: number;
  healthPath: string;
  /** Dockerfile (built from the repository root) for AWS. */
  dockerfile: string;
  /** Entry module run with Node locally. */
  localEntry: string;
}

export const ENGINE_CATALOG: readonly EngineSpec[] = [
  {
    service: 'media-engine',
    containerName: 'engine',
    cpu: 256,
    memoryMb: 512,
    port: 8080,
    healthPath: '/health',
    dockerfile: 'engines/reference/Dockerfile',
    localEntry: 'engines/reference/main.ts',
  },
];

export const engineFor = (service: string): EngineSpec | undefined =>
  ENGINE_CATALOG.find((e) => e.service === service);

/**
 * The task-definition family of an engine: prefixed like every other resource, so two stacks in one
 * region never run each other's engines. The task machine composes it from the deployed prefix.
 */
export const engineFamily = (prefix: string, service: string) => `${prefix}-${service}`;

/** The catalog entry a family belongs to, whatever the prefix (the longest service name that ends it). */
export function engineForFamily(family: string): EngineSpec | undefined {
  return ENGINE_CATALOG.filter((e) => family.endsWith(`-${e.service}`)).sort(
    (a, b) => b.service.length - a.service.length,
  )[0];
}
