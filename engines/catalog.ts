/**
 * The engine catalog: which services get a freshly started engine per rollout,
 * and how to run it. CDK builds one Fargate task definition per entry; the local
 * ECS endpoint runs the same entry as a child process.
 */
export interface EngineSpec {
  /** The service (stage) name this engine serves. */
  service: string;
  /** ECS task definition family; also the key the local ECS endpoint runs by. */
  family: string;
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
    family: 'tenant-rollout-media-engine',
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
