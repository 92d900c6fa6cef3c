/**
 * The one list of functions. CDK builds one Lambda per entry (grants derived
 * from `table` and `uses`); the local runtime loads the same handler modules
 * and invokes them in-process. Nothing else declares a function.
 */
import type { ResourceEnvName } from './core/resources.ts';

export type TableAccess = 'RO' | 'RW';
export type ServiceUse = 'sfn' | 'ecs' | 'events';

export type FunctionTrigger =
  /** The HTTP API (API Gateway locally: the local API server) routes to it. */
  | { kind: 'http' }
  /** The table's stream feeds it. */
  | { kind: 'stream' }
  /** A scheduled EventBridge rule runs it. */
  | { kind: 'schedule'; rateMinutes: number }
  /** An EventBridge rule matching this detail-type (source any) invokes it. */
  | { kind: 'event'; detailType: string };

export interface FunctionSpec {
  /** Short name; the deployed function is `${prefix}-${name}`; ASL refers to it as `${<Pascal>FunctionArn}`. */
  name: string;
  /** Module path from the repository root; it exports `handler`. */
  entry: string;
  description: string;
  timeoutSeconds: number;
  memoryMb: number;
  table: TableAccess;
  uses: readonly ServiceUse[];
  /** Resource variables it reads (see RESOURCE_ENV). */
  env: readonly ResourceEnvName[];
  trigger?: FunctionTrigger;
}

export const FUNCTIONS: readonly FunctionSpec[] = [];

export function functionSpec(name: string): FunctionSpec {
  const spec = FUNCTIONS.find((f) => f.name === name);
  if (!spec) throw new Error(`no function named ${name} in functions/manifest.ts`);
  return spec;
}
