/**
 * Turns an ASL definition as written for AWS into one aws-local-stepfunctions
 * runs faithfully, and records what the runtime must do per Task state. Gaps
 * filled here (the library itself was checked):
 * - `$$.Task.Token` / `$$.State.*` do not resolve: their references in a Task's
 *   Parameters become markers the task handler replaces when the state is entered.
 * - A Task without TimeoutSeconds times out after 60 s in the library but runs
 *   (practically) forever on AWS: it gets the longest timer Node can arm.
 * - TimeoutSecondsPath is evaluated against the state input on AWS but against
 *   the effective Parameters by the library: Parameters are wrapped so both agree.
 * - HeartbeatSeconds(Path) is ignored by the library: removed here, enforced by the runtime.
 * - DISTRIBUTED Map runs as an inline Map with the same concurrency; its
 *   tolerated-failure and label fields are dropped; ItemReader/ItemBatcher are refused.
 */
export const TOKEN_MARKER = '\u0000local-sfn:Task.Token';
export const ENTERED_TIME_MARKER = '\u0000local-sfn:State.EnteredTime';

/** setTimeout's ceiling (about 24.8 days): larger values fire at once. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface TaskInfo {
  resource: string;
  /** Parameters were wrapped as `{p, t?, h?}` to carry TimeoutSecondsPath / HeartbeatSecondsPath values. */
  wrapped: boolean;
  /** Parameters contain markers to replace. */
  hasMarkers: boolean;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** Inside a DISTRIBUTED Map: on AWS its events live in child executions, not in this history. */
  quiet: boolean;
}

export interface PreparedDefinition {
  definition: Record<string, unknown>;
  tasks: Map<string, TaskInfo>;
  stateTypes: Map<string, string>;
  quietStates: Set<string>;
  distributedMaps: Set<string>;
}

type Json = Record<string, unknown>;

export class InvalidDefinitionError extends Error {
  override name = 'InvalidDefinition';
}

export function prepareDefinition(text: string): PreparedDefinition {
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidDefinitionError(`definition is not JSON: ${(error as Error).message}`);
  }
  const prepared: PreparedDefinition = {
    definition: parsed,
    tasks: new Map(),
    stateTypes: new Map(),
    quietStates: new Set(),
    distributedMaps: new Set(),
  };
  if (parsed.QueryLanguage === 'JSONata')
    throw new InvalidDefinitionError('JSONata is not supported locally');
  if (typeof parsed.TimeoutSeconds === 'number') {
    parsed.TimeoutSeconds = Math.min(parsed.TimeoutSeconds, MAX_TIMER_SECONDS);
  }
  walkStates(parsed, false, prepared);
  return prepared;
}

function walkStates(machine: Json, quiet: boolean, prepared: PreparedDefinition) {
  const states = machine.States as Record<string, Json> | undefined;
  if (!states || typeof states !== 'object') throw new InvalidDefinitionError('States is required');
  for (const [name, state] of Object.entries(states)) {
    if (state.QueryLanguage === 'JSONata')
      throw new InvalidDefinitionError(`${name}: JSONata is not supported`);
    prepared.stateTypes.set(name, String(state.Type));
    if (quiet) prepared.quietStates.add(name);
    if (state.Type === 'Task') prepareTask(name, state, quiet, prepared);
    if (state.Type === 'Map') prepareMap(name, state, quiet, prepared);
    if (state.Type === 'Parallel') {
      for (const branch of (state.Branches as Json[] | undefined) ?? []) walkStates(branch, quiet, prepared);
    }
  }
}

function prepareMap(name: string, state: Json, quiet: boolean, prepared: PreparedDefinition) {
  const processor = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
  if (!processor) throw new InvalidDefinitionError(`${name}: Map needs an ItemProcessor`);
  for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter']) {
    if (field in state) throw new InvalidDefinitionError(`${name}: ${field} is not supported locally`);
  }
  const config = processor.ProcessorConfig as Json | undefined;
  const distributed = config?.Mode === 'DISTRIBUTED';
  if (distributed) {
    prepared.distributedMaps.add(name);
    processor.ProcessorConfig = { Mode: 'INLINE' };
    for (const field of [
      'ToleratedFailurePercentage',
      'ToleratedFailurePercentagePath',
      'ToleratedFailureCount',
      'ToleratedFailureCountPath',
      'Label',
    ]) {
      delete state[field];
    }
  }
  walkStates(processor, quiet || distributed, prepared);
}

function prepareTask(name: string, state: Json, quiet: boolean, prepared: PreparedDefinition) {
  delete state.Credentials;
  const heartbeatPath = state.HeartbeatSecondsPath as string | undefined;
  const timeoutPath = state.TimeoutSecondsPath as string | undefined;
  const info: TaskInfo = {
    resource: String(state.Resource),
    wrapped: Boolean(heartbeatPath || timeoutPath),
    hasMarkers: false,
    quiet,
  };
  if (typeof state.HeartbeatSeconds === 'number') info.heartbeatSeconds = state.HeartbeatSeconds;
  delete state.HeartbeatSeconds;
  delete state.HeartbeatSecondsPath;

  if ('Parameters' in state) {
    const marked = { found: false };
    state.Parameters = replaceContextReferences(state.Parameters, name, marked);
    info.hasMarkers = marked.found;
  }
  if (info.wrapped) {
    const wrapper: Json = 'Parameters' in state ? { p: state.Parameters } : { 'p.$': '$' };
    if (timeoutPath) {
      wrapper['t.$'] = timeoutPath;
      state.TimeoutSecondsPath = '$.t';
    }
    if (heartbeatPath) wrapper['h.$'] = heartbeatPath;
    state.Parameters = wrapper;
  }
  if (!timeoutPath) {
    const seconds = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : MAX_TIMER_SECONDS;
    state.TimeoutSeconds = Math.min(seconds, MAX_TIMER_SECONDS);
    info.timeoutSeconds = state.TimeoutSeconds as number;
  }
  prepared.tasks.set(name, info);
}

function replaceContextReferences(template: unknown, stateName: string, marked: { found: boolean }): unknown {
  if (Array.isArray(template)) return template.map((v) => replaceContextReferences(v, stateName, marked));
  if (!template || typeof template !== 'object') return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template)) {
    const literal =
      key.endsWith('.$') && typeof value === 'string' ? contextLiteral(value, stateName, marked) : undefined;
    if (literal !== undefined) out[key.slice(0, -2)] = literal;
    else out[key] = replaceContextReferences(value, stateName, marked);
  }
  return out;
}

function contextLiteral(path: string, stateName: string, marked: { found: boolean }): string | undefined {
  if (path === '$$.State.Name') return stateName;
  if (path === '$$.Task.Token' || path === '$$.State.EnteredTime') {
    marked.found = true;
    return path === '$$.Task.Token' ? TOKEN_MARKER : ENTERED_TIME_MARKER;
  }
  return undefined;
}

/** Replaces the markers in the evaluated Parameters of one state entry. */
export function fillMarkers(value: unknown, token: string, enteredTime: string): unknown {
  if (value === TOKEN_MARKER) return token;
  if (value === ENTERED_TIME_MARKER) return enteredTime;
  if (Array.isArray(value)) return value.map((v) => fillMarkers(v, token, enteredTime));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillMarkers(v, token, enteredTime)]));
  }
  return value;
}

/** `arn:aws:states:::ecs:runTask.sync` → {service: 'ecs', action: 'runTask', pattern: 'sync'}. */
export function parseResource(resource: string): { service: string; action: string; pattern: string } {
  if (resource.startsWith('arn:aws:lambda:'))
    return { service: 'lambda-function', action: resource, pattern: '' };
  const match = /^arn:aws:states:::([a-z0-9-]+):([A-Za-z]+)(?:\.(.+))?$/.exec(resource);
  if (!match) return { service: 'unknown', action: resource, pattern: '' };
  return { service: match[1]!, action: match[2]!, pattern: match[3] ?? '' };
}
