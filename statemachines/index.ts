/**
 * The state machines and the placeholder convention of their ASL files.
 * CDK fills placeholders with deployed ARNs; the local runtime fills them with
 * local ARNs. Both call `placeholders()` so a name is declared only here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface StateMachineSpec {
  /** Short name; deployed as `${prefix}-${name}`. */
  name: string;
  /** Absolute path of the ASL file (which also holds the execution timeout, `TimeoutSeconds`). */
  file: string;
  description: string;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export const STATE_MACHINES: readonly StateMachineSpec[] = [
  {
    name: 'plan',
    file: here('./plan.asl.json'),
    description: 'Fans a plan out to one task execution per tenant, at most maxConcurrency at once',
  },
  {
    name: 'waves',
    file: here('./waves.asl.json'),
    description:
      "Fans a plan with a strategy out wave by wave: approval gate, the wave's tenants, verdict, bake, halt",
  },
  {
    name: 'task',
    file: here('./task.asl.json'),
    description: 'Rolls one tenant forward stage by stage under the tenant lock',
  },
  {
    name: 'rollback',
    file: here('./rollback.asl.json'),
    description: 'Rolls one tenant back to its previous good config, confirmed by health checks',
  },
  {
    name: 'plan-operation',
    file: here('./plan-operation.asl.json'),
    description: "Applies an operator's action on a large plan to each of its tasks, a page at a time",
  },
];

export function stateMachineSpec(name: string): StateMachineSpec {
  const spec = STATE_MACHINES.find((m) => m.name === name);
  if (!spec) throw new Error(`no state machine named ${name} in statemachines/index.ts`);
  return spec;
}

export const pascal = (name: string) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

/** Placeholder names used in ASL files. */
export const placeholders = {
  functionArn: (functionName: string) => `${pascal(functionName)}FunctionArn`,
  stateMachineArn: (machineName: string) => `${pascal(machineName)}StateMachineArn`,
  tableName: 'TableName',
  eventBusName: 'EventBusName',
  clusterArn: 'ClusterArn',
  /** The deployment's name prefix (engine task-definition families are `${prefix}-${service}`). */
  resourcePrefix: 'ResourcePrefix',
} as const;

export const readDefinition = (spec: StateMachineSpec) => readFileSync(spec.file, 'utf8');

/** Every `${Name}` in an ASL text. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!))];
}

/** Replace every placeholder; a placeholder without a value is an error, never left in place. */
export function fillPlaceholders(text: string, values: Record<string, string>): string {
  const missing = placeholdersIn(text).filter((name) => values[name] === undefined);
  if (missing.length) throw new Error(`no value for ASL placeholder(s): ${missing.join(', ')}`);
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => values[name]!);
}
