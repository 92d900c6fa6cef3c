/**
 * State machines and their executions, run on aws-local-stepfunctions. Owns
 * name idempotency, the execution record, the AWS-shaped history, task tokens
 * and the per-state work the library leaves to us (see definition.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { arns, stateMachineNameOf } from '../arns.ts';
import { LOCAL_REGION } from '../aws-env.ts';
import { AwsError } from '../http.ts';
import type { ExecutionArchive, ExecutionRecord } from './archive.ts';
import {
  fillMarkers,
  InvalidDefinitionError,
  type PreparedDefinition,
  parseResource,
  prepareDefinition,
  type TaskInfo,
} from './definition.ts';
import { errorMessage, errorName, StatesError, TerminalStatesError, whenAborted } from './errors.ts';
import { callIntegration, type ExecutionView, type IntegrationDeps } from './integrations.ts';
import {
  checkExecutionInput,
  dataLimitExceeded,
  isValidName,
  MAX_HISTORY_EVENTS,
  MAX_PAYLOAD_BYTES,
  oversized,
  payloadBytes,
} from './limits.ts';
import { TaskTokens } from './tokens.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

export interface Machine {
  name: string;
  arn: string;
  definition: string;
  roleArn: string;
  creationDate: number;
  prepared: PreparedDefinition;
  runner: StateMachine;
  executions: Execution[];
  byName: Map<string, Execution>;
}

export interface Execution extends ExecutionView {
  status: ExecutionStatus;
  machine: Machine;
  /** In memory without an archive; dropped for old finished executions (see historyRetention). */
  history: HistoryEvent[] | undefined;
  /** Events recorded so far (the history may live on disk only). */
  historyLength: number;
  /** A quota the execution broke: it ends FAILED with this error, whatever Catch says. */
  terminal?: StatesError;
  controller: AbortController;
  abortRun(): void;
  done: Promise<ExecutionView>;
}

export interface StepFunctionsOptions {
  deps: Omit<IntegrationDeps, 'executions'>;
  /** Where executions and histories are kept across restarts; in memory only when absent. */
  archive?: ExecutionArchive;
  /** Without an archive: finished executions whose history is kept; older ones keep their record only. */
  historyRetention?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const DETAILS_KEY: Record<string, string> = {
  ExecutionStarted: 'executionStartedEventDetails',
  ExecutionSucceeded: 'executionSucceededEventDetails',
  ExecutionFailed: 'executionFailedEventDetails',
  ExecutionAborted: 'executionAbortedEventDetails',
  ExecutionTimedOut: 'executionTimedOutEventDetails',
  TaskScheduled: 'taskScheduledEventDetails',
  TaskStarted: 'taskStartedEventDetails',
  TaskSubmitted: 'taskSubmittedEventDetails',
  TaskSucceeded: 'taskSucceededEventDetails',
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
  MapIterationStarted: 'mapIterationStartedEventDetails',
  MapIterationSucceeded: 'mapIterationSucceededEventDetails',
  MapIterationFailed: 'mapIterationFailedEventDetails',
  MapRunStarted: 'mapRunStartedEventDetails',
  MapRunFailed: 'mapRunFailedEventDetails',
};

export class StepFunctions {
  readonly tokens: TaskTokens;
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, Execution>();
  private readonly withHistory: Execution[] = [];
  private readonly deps: IntegrationDeps;
  private readonly options: StepFunctionsOptions;
  /** Archived executions by machine name, until that machine is created. */
  private readonly archived = new Map<string, ExecutionRecord[]>();

  constructor(options: StepFunctionsOptions) {
    this.options = options;
    for (const record of options.archive?.load() ?? []) {
      const list = this.archived.get(record.machineName);
      if (list) list.push(record);
      else this.archived.set(record.machineName, [record]);
    }
    this.tokens = new TaskTokens((arn) => this.executions.has(arn));
    this.deps = {
      ...options.deps,
      executions: {
        start: (machineArn, name, input) => this.startExecution(machineArn, name, input),
        whenDone: (arn) => this.execution(arn).done,
        stop: (arn, error, cause) => this.stopExecution(arn, error, cause),
      },
    };
  }

  createStateMachine(name: string, definition: string, roleArn?: string): Machine {
    if (!isValidName(name)) throw new AwsError('InvalidName', `Invalid State Machine Name: '${name}'`);
    const arn = arns.stateMachineNamed(name);
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.definition === definition) return existing;
      throw new AwsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    let prepared: PreparedDefinition;
    let runner: StateMachine;
    try {
      prepared = prepareDefinition(definition);
      runner = new StateMachine(prepared.definition as unknown as StateMachineDefinition);
    } catch (error) {
      const message = error instanceof InvalidDefinitionError ? error.message : errorMessage(error);
      throw new AwsError('InvalidDefinition', `Invalid State Machine Definition: '${message}'`);
    }
    const machine: Machine = {
      name,
      arn,
      definition,
      roleArn: roleArn ?? arns.stateMachineRole(name),
      creationDate: Date.now(),
      prepared,
      runner,
      executions: [],
      byName: new Map(),
    };
    this.machines.set(arn, machine);
    for (const record of this.archived.get(name) ?? []) this.restore(machine, record);
    this.archived.delete(name);
    return machine;
  }

  /**
   * An execution of an earlier process. One that was still running died with that process: unlike
   * on AWS it cannot go on, so it is recorded as aborted (the supervisor restarts its task or plan).
   */
  private restore(machine: Machine, record: ExecutionRecord) {
    const { machineName: _, ...view } = record;
    const execution: Execution = {
      ...view,
      status: record.status as ExecutionStatus,
      machine,
      history: undefined,
      controller: new AbortController(),
      abortRun: () => {},
      done: Promise.resolve().then(() => execution),
    };
    execution.controller.abort();
    machine.byName.set(record.name, execution);
    machine.executions.push(execution);
    this.executions.set(record.executionArn, execution);
    if (record.status === 'RUNNING') {
      execution.status = 'ABORTED';
      execution.stopDate = Date.now();
      execution.error = 'States.Aborted';
      execution.cause = 'the local runtime stopped while this execution ran';
      this.recordEnd(execution);
    }
  }

  /** The full history, from memory or from the archive. */
  async history(arn: string): Promise<HistoryEvent[]> {
    const execution = this.execution(arn);
    if (execution.history) return execution.history;
    const archive = this.options.archive;
    return archive ? archive.history({ machineName: execution.machine.name, name: execution.name }) : [];
  }

  machine(arn: string): Machine {
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  listMachines(): Machine[] {
    return [...this.machines.values()];
  }

  execution(arn: string): Execution {
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  startExecution(machineArn: string, name: string | undefined, input = '{}'): Execution {
    if (!stateMachineNameOf(machineArn)) throw new AwsError('InvalidArn', `Invalid Arn: '${machineArn}'`);
    const machine = this.machine(machineArn);
    const executionName = name ?? randomUUID();
    if (!isValidName(executionName)) throw new AwsError('InvalidName', `Invalid Name: '${executionName}'`);
    checkExecutionInput(input);
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new AwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
    }
    const existing = machine.byName.get(executionName);
    if (existing) {
      // AWS: a repeated start is idempotent only while the first is running and with the same input.
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${existing.executionArn}'`);
    }
    const execution = this.launch(machine, executionName, input, parsedInput);
    machine.byName.set(executionName, execution);
    machine.executions.push(execution);
    this.executions.set(execution.executionArn, execution);
    return execution;
  }

  stopExecution(arn: string, error?: string, cause?: string): Execution {
    const execution = this.execution(arn);
    if (execution.status !== 'RUNNING') return execution;
    execution.status = 'ABORTED';
    execution.stopDate = Date.now();
    if (error !== undefined) execution.error = error;
    if (cause !== undefined) execution.cause = cause;
    execution.controller.abort(new StatesError('States.Aborted', 'execution stopped'));
    execution.abortRun();
    return execution;
  }

  /**
   * Ends an execution that broke a quota the library cannot see (a state's input or output, a Map's
   * collected result, the history length): no Catch applies, as on AWS.
   */
  private failTerminal(execution: Execution, error: StatesError) {
    if (execution.status !== 'RUNNING' || execution.terminal) return;
    execution.terminal = error;
    execution.abortRun();
  }

  /** Aborts every running execution (runtime shutdown) and waits until they settled. */
  async stopAll(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const execution of running)
      this.stopExecution(execution.executionArn, 'States.Aborted', 'runtime stopped');
    await Promise.allSettled(running.map((e) => e.done));
  }

  private launch(machine: Machine, name: string, input: string, parsedInput: unknown): Execution {
    const executionArn = arns.execution(machine.name, name);
    const startDate = Date.now();
    let finish!: (view: ExecutionView) => void;
    const execution: Execution = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: 'RUNNING',
      input,
      startDate,
      machine,
      history: this.options.archive ? undefined : [],
      historyLength: 0,
      controller: new AbortController(),
      abortRun: () => {},
      done: new Promise((resolve) => (finish = resolve)),
    };
    this.options.archive?.started(recordOf(execution));
    this.record(execution, 'ExecutionStarted', {
      input,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
      stateMachineArn: machine.arn,
    });
    const tasks = machine.prepared.tasks;
    // One handler object per execution, without a closure per Task state.
    const taskResourceLocalHandlers = new Proxy({} as Record<string, (input: unknown) => Promise<unknown>>, {
      get: (_, stateName) => {
        const info = typeof stateName === 'string' ? tasks.get(stateName) : undefined;
        return (
          info &&
          ((taskInput: unknown) => {
            const running = this.runTask(execution, stateName as string, info, taskInput);
            // The library drops this promise when the state fails before awaiting it (a bad TimeoutSecondsPath).
            running.catch(() => {});
            return running;
          })
        );
      },
    });
    const run = machine.runner.run(parsedInput as never, {
      // The library types handlers with its JSON type; ours take the same values.
      overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: parsedInput as never,
          StartTime: new Date(startDate).toISOString(),
          RoleArn: machine.roleArn,
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    execution.abortRun = run.abort;
    const consumed = this.consumeEvents(execution, run.eventLogs);
    void run.result
      .then(
        (output) => this.settle(execution, 'SUCCEEDED', { output: JSON.stringify(output ?? null) }),
        (error) => {
          const { terminal } = execution;
          if (terminal) this.settle(execution, 'FAILED', { error: terminal.name, cause: terminal.message });
          else this.settle(execution, ...failureOf(error));
        },
      )
      .then(() => consumed)
      .then(() => {
        this.recordEnd(execution);
        finish(execution);
      });
    return execution;
  }

  private settle(execution: Execution, status: ExecutionStatus, fields: Partial<ExecutionView>) {
    if (execution.status !== 'RUNNING') return;
    execution.status = status;
    execution.stopDate = Date.now();
    Object.assign(execution, fields);
    execution.controller.abort(new StatesError('States.Aborted', 'execution ended'));
  }

  private recordEnd(execution: Execution) {
    const { status, output, error, cause } = execution;
    const errorFields = {
      ...(error !== undefined ? { error } : {}),
      ...(cause !== undefined ? { cause } : {}),
    };
    if (status === 'SUCCEEDED') {
      this.record(execution, 'ExecutionSucceeded', { output, outputDetails: { truncated: false } });
    } else if (status === 'FAILED') this.record(execution, 'ExecutionFailed', errorFields);
    else if (status === 'ABORTED') this.record(execution, 'ExecutionAborted', errorFields);
    else this.record(execution, 'ExecutionTimedOut', errorFields);
    const archive = this.options.archive;
    if (archive) {
      const { stopDate, historyLength } = execution;
      archive.ended(execution.executionArn, { status, output, error, cause, stopDate, historyLength });
      return;
    }
    this.withHistory.push(execution);
    const retention = this.options.historyRetention ?? 1000;
    while (this.withHistory.length > retention) {
      const oldest = this.withHistory.shift();
      if (oldest) oldest.history = undefined;
    }
  }

  private async consumeEvents(
    execution: Execution,
    events: ReturnType<StateMachine['run']>['eventLogs'],
  ): Promise<void> {
    const { quietStates, distributedMaps } = execution.machine.prepared;
    /** Bytes of the result array each Map is collecting ("[" + items + commas + "]"). */
    const collected = new Map<string, number>();
    for await (const event of events) {
      switch (event.type) {
        case 'StateEntered': {
          const { name, type, input } = event.state;
          const inputBytes = oversized(input);
          if (inputBytes) this.failTerminal(execution, dataLimitExceeded('input', name, inputBytes));
          if (type === 'Map') collected.set(name, 1);
          if (quietStates.has(name)) break;
          this.record(execution, `${type}StateEntered`, {
            name,
            input: JSON.stringify(input),
            inputDetails: { truncated: false },
          });
          if (distributedMaps.has(name)) {
            this.record(execution, 'MapRunStarted', {
              mapRunArn: `${execution.executionArn.replace(':execution:', ':mapRun:')}/${name}`,
            });
          }
          break;
        }
        case 'StateExited': {
          const { name, type, output } = event.state;
          const outputBytes = oversized(output);
          if (outputBytes) this.failTerminal(execution, dataLimitExceeded('output', name, outputBytes));
          if (quietStates.has(name)) break;
          if (distributedMaps.has(name)) this.record(execution, 'MapRunSucceeded', {});
          this.record(execution, `${type}StateExited`, {
            name,
            output: JSON.stringify(output),
            outputDetails: { truncated: false },
          });
          break;
        }
        case 'StateFailed': {
          const { name, type } = event.state;
          if (quietStates.has(name)) break;
          const details = { error: event.Error, cause: String(event.Cause ?? '') };
          // Our task handler records its own failures; a timeout is decided by the library.
          if (type === 'Task' && event.Error === 'States.Timeout') {
            const { service, action } = parseResource(
              execution.machine.prepared.tasks.get(name)?.resource ?? '',
            );
            this.record(execution, 'TaskTimedOut', { resourceType: service, resource: action, ...details });
          } else if (type === 'Map') {
            if (distributedMaps.has(name)) this.record(execution, 'MapRunFailed', details);
            this.record(execution, 'MapStateFailed', {});
          } else if (type === 'Parallel') this.record(execution, 'ParallelStateFailed', {});
          break;
        }
        case 'MapIterationStarted':
        case 'MapIterationSucceeded':
        case 'MapIterationFailed': {
          const mapName = event.parentState.name;
          if (event.type === 'MapIterationSucceeded') {
            // The Map's result is every iteration's output, whatever ResultPath then keeps of it; it
            // fails once the array passes the quota (locally the remaining iterations do not run).
            const output = (event as { output?: unknown }).output;
            const bytes = (collected.get(mapName) ?? 1) + payloadBytes(JSON.stringify(output ?? null)) + 1;
            collected.set(mapName, bytes);
            if (bytes > MAX_PAYLOAD_BYTES)
              this.failTerminal(execution, dataLimitExceeded('result', mapName, bytes));
          }
          if (distributedMaps.has(mapName) || quietStates.has(mapName)) break;
          this.record(execution, event.type, { name: mapName, index: event.index });
          break;
        }
      }
    }
  }

  private async runTask(execution: Execution, stateName: string, info: TaskInfo, taskInput: unknown) {
    // The library dispatches StateEntered just before calling us; let it be recorded first.
    await new Promise((resolve) => setImmediate(resolve));
    // A quota broken by an earlier state ends the execution before this state does anything.
    if (execution.terminal) throw execution.terminal;
    const enteredTime = new Date().toISOString();
    const wrapped = info.wrapped ? (taskInput as { p: unknown; t?: unknown; h?: unknown }) : undefined;
    if (wrapped) {
      for (const [field, value] of [
        ['TimeoutSecondsPath', wrapped.t],
        ['HeartbeatSecondsPath', wrapped.h],
      ] as const) {
        // https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html: both paths must
        // resolve to positive integers; anything else is States.Runtime, which no Catch matches.
        if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
          throw new TerminalStatesError(
            'States.Runtime',
            `${field} of state '${stateName}' evaluated to ${JSON.stringify(value)}, but expected a positive integer`,
          );
        }
      }
    }
    const timeoutSeconds = wrapped ? (wrapped.t as number | undefined) : info.timeoutSeconds;
    const heartbeatSeconds = (wrapped?.h as number | undefined) ?? info.heartbeatSeconds;
    const { service, action, pattern } = parseResource(info.resource);
    const resourceLabel = pattern ? `${action}.${pattern}` : action;
    const waitForToken = pattern === 'waitForTaskToken';
    const token = waitForToken || info.hasMarkers ? this.tokens.mint(execution.executionArn, stateName) : '';
    let parameters = wrapped ? wrapped.p : taskInput;
    if (info.hasMarkers) parameters = fillMarkers(parameters, token, enteredTime);
    const parameterBytes = oversized(parameters);
    if (parameterBytes) throw dataLimitExceeded('input', stateName, parameterBytes);

    const record = (type: string, details: Record<string, unknown>) => {
      if (!info.quiet)
        this.record(execution, type, { resourceType: service, resource: resourceLabel, ...details });
    };
    record('TaskScheduled', {
      region: LOCAL_REGION,
      parameters: JSON.stringify(parameters),
      ...(timeoutSeconds ? { timeoutInSeconds: timeoutSeconds } : {}),
      ...(heartbeatSeconds ? { heartbeatInSeconds: heartbeatSeconds } : {}),
    });
    record('TaskStarted', {});

    // The library decides a States.Timeout; this controller only releases what the state still holds afterwards.
    const stateController = new AbortController();
    const signal = AbortSignal.any([execution.controller.signal, stateController.signal]);
    const release =
      timeoutSeconds !== undefined
        ? setTimeout(
            () => stateController.abort(new StatesError('States.Timeout', '')),
            Math.min(timeoutSeconds * 1000 + 1000, MAX_TIMER_MS),
          )
        : undefined;
    const onSubmitted = (output: unknown) => record('TaskSubmitted', { output: JSON.stringify(output) });
    try {
      let output: unknown;
      if (waitForToken) {
        const callback = this.tokens.wait(token, signal, heartbeatSeconds);
        const submitted = await Promise.race([
          callIntegration({ service, action, pattern, parameters, signal, onSubmitted }, this.deps),
          whenAborted(signal),
        ]);
        onSubmitted(submitted);
        output = await callback;
      } else {
        output = await callIntegration(
          { service, action, pattern, parameters, signal, onSubmitted },
          this.deps,
        );
      }
      const resultBytes = oversized(output);
      if (resultBytes) throw dataLimitExceeded('result', stateName, resultBytes);
      record('TaskSucceeded', { output: JSON.stringify(output ?? null) });
      return output ?? null;
    } catch (error) {
      const failure =
        error instanceof StatesError ? error : new StatesError(errorName(error), errorMessage(error));
      if (!signal.aborted) {
        const type = failure.name === 'States.HeartbeatTimeout' ? 'TaskTimedOut' : 'TaskFailed';
        record(type, { error: failure.name, cause: failure.message });
      }
      throw failure;
    } finally {
      clearTimeout(release);
      if (token) this.tokens.discard(token);
      stateController.abort();
    }
  }

  private record(execution: Execution, type: string, details: Record<string, unknown>) {
    const archive = this.options.archive;
    if (!archive && !execution.history) return;
    // Once a quota ended the execution, what the library still reports happened after the end.
    if (execution.terminal && !type.startsWith('Execution')) return;
    const id = ++execution.historyLength;
    if (id >= MAX_HISTORY_EVENTS - 1) {
      this.failTerminal(
        execution,
        new StatesError(
          'States.Runtime',
          `The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`,
        ),
      );
    }
    const key = DETAILS_KEY[type] ?? detailsKeyOf(type);
    const event: HistoryEvent = {
      timestamp: Date.now(),
      type,
      id,
      previousEventId: id - 1,
      ...(key && Object.keys(details).length ? { [key]: details } : {}),
    };
    execution.history?.push(event);
    archive?.event({ machineName: execution.machine.name, name: execution.name }, event);
  }
}

function recordOf(execution: Execution): ExecutionRecord {
  const { executionArn, stateMachineArn, name, status, input, startDate, historyLength } = execution;
  return {
    executionArn,
    stateMachineArn,
    machineName: execution.machine.name,
    name,
    status,
    input,
    startDate,
    historyLength,
  };
}

function detailsKeyOf(type: string): string | undefined {
  if (type.endsWith('StateEntered')) return 'stateEnteredEventDetails';
  if (type.endsWith('StateExited')) return 'stateExitedEventDetails';
  return undefined;
}

function failureOf(error: unknown): [ExecutionStatus, Partial<ExecutionView>] {
  if (error instanceof ExecutionAbortedError) return ['ABORTED', {}];
  if (error instanceof ExecutionTimeoutError) {
    return ['TIMED_OUT', { error: 'States.Timeout', cause: 'The execution timed out' }];
  }
  const cause = error instanceof ExecutionError ? error.cause : error;
  return ['FAILED', { error: errorName(cause), cause: errorMessage(cause) }];
}
