/**
 * ECS, locally: each task is a child process started from the engine mapping
 * (task-definition family → command). Tracks the task lifecycle as ECS does and
 * publishes an `ECS Task State Change` event when a task stops.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arns, taskDefinitionFamily } from './arns.ts';
import { type Access, AwsError, epochSeconds, type JsonService, type Log } from './http.ts';

export interface EngineCommand {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface KeyValue {
  name: string;
  value: string;
}

export interface RunTaskInput {
  taskDefinition: string;
  cluster?: string;
  startedBy?: string;
  group?: string;
  overrides?: { containerOverrides?: { name?: string; environment?: KeyValue[]; command?: string[] }[] };
}

export type TaskStatus = 'PROVISIONING' | 'RUNNING' | 'STOPPED';

export interface EcsTask {
  taskArn: string;
  clusterArn: string;
  taskDefinitionArn: string;
  family: string;
  lastStatus: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  launchType: 'FARGATE';
  createdAt: number;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  stopCode?: 'EssentialContainerExited' | 'UserInitiated' | 'TaskFailedToStart';
  stoppedReason?: string;
  startedBy?: string;
  group: string;
  overrides: NonNullable<RunTaskInput['overrides']>;
  containers: {
    containerArn: string;
    taskArn: string;
    name: string;
    lastStatus: TaskStatus;
    exitCode?: number;
    reason?: string;
  }[];
}

export interface EcsOptions {
  engineCommands: Record<string, EngineCommand>;
  log: Log;
  /** Time between SIGTERM and SIGKILL, as ECS's stopTimeout. */
  stopGraceMs?: number;
  onTaskStopped?: (task: EcsTask) => void;
  /**
   * Where each running task is recorded (its process and task), so a runtime started again after
   * being killed finds the engines of its previous run; without it, tasks live in memory only.
   */
  recordDir?: string;
  /** Environment every task gets, as ECS hands a task its task role's credentials. */
  taskEnv?: Record<string, string>;
}

interface Tracked {
  task: EcsTask;
  /** The task's process, leader of its own process group. */
  pid?: number;
  stopped: Promise<EcsTask>;
  killTimer?: NodeJS.Timeout;
  /** A task adopted from a previous run is not our child: its exit is noticed by polling. */
  watch?: NodeJS.Timeout;
}

interface TaskRecord {
  pid: number;
  task: EcsTask;
}

const ADOPTED_POLL_MS = 500;

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGTERM: 143, SIGKILL: 137, SIGINT: 130 };

export class LocalEcs {
  private readonly tasks = new Map<string, Tracked>();
  private readonly options: EcsOptions;

  constructor(options: EcsOptions) {
    this.options = options;
  }

  runTask(input: RunTaskInput): EcsTask {
    if (!input.taskDefinition) throw new AwsError('InvalidParameterException', 'taskDefinition is required');
    const family = taskDefinitionFamily(input.taskDefinition);
    const engine = this.options.engineCommands[family];
    if (!engine) {
      throw new AwsError('ClientException', `Unable to find task definition '${input.taskDefinition}'`);
    }
    const id = randomUUID().replaceAll('-', '');
    const taskArn = arns.task(id);
    const overrides = input.overrides ?? {};
    const containerName = overrides.containerOverrides?.[0]?.name ?? family;
    const task: EcsTask = {
      taskArn,
      clusterArn: arns.cluster(),
      taskDefinitionArn: arns.taskDefinition(family),
      family,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      launchType: 'FARGATE',
      createdAt: Date.now(),
      group: input.group ?? `family:${family}`,
      overrides,
      containers: [
        {
          containerArn: arns.container(id, containerName),
          taskArn,
          name: containerName,
          lastStatus: 'PROVISIONING',
        },
      ],
      ...(input.startedBy ? { startedBy: input.startedBy } : {}),
    };
    let settle!: (task: EcsTask) => void;
    const tracked: Tracked = { task, stopped: new Promise((resolve) => (settle = resolve)) };
    this.tasks.set(taskArn, tracked);

    const environment = Object.fromEntries(
      (overrides.containerOverrides ?? []).flatMap((o) =>
        (o.environment ?? []).map((e) => [e.name, e.value]),
      ),
    );
    const command = overrides.containerOverrides?.find((o) => o.command?.length)?.command;
    const child = spawn(engine.command, command ?? engine.args ?? [], {
      cwd: engine.cwd,
      // TASK_ARN stands in for the task metadata endpoint a Fargate container reads its ARN from.
      env: { ...process.env, ...this.options.taskEnv, ...engine.env, TASK_ARN: taskArn, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so stopping the task also stops whatever the engine spawned.
      detached: true,
    });
    tracked.pid = child.pid;
    const prefix = `[ecs ${family} ${id.slice(0, 8)}]`;
    pipeLines(child.stdout, (line) => this.options.log(`${prefix} ${line}`));
    pipeLines(child.stderr, (line) => this.options.log(`${prefix} ${line}`));
    child.once('spawn', () => {
      if (task.lastStatus !== 'PROVISIONING') return;
      task.lastStatus = 'RUNNING';
      task.startedAt = Date.now();
      task.containers[0]!.lastStatus = 'RUNNING';
      if (child.pid !== undefined) this.record({ pid: child.pid, task });
    });
    child.once('error', (error) => {
      if (child.pid === undefined)
        this.finish(tracked, settle, undefined, 'TaskFailedToStart', error.message);
    });
    child.once('exit', (code, signal) => {
      const exitCode = code ?? (signal ? (SIGNAL_EXIT_CODES[signal] ?? 128) : undefined);
      if (task.stopCode === 'UserInitiated') {
        this.finish(tracked, settle, exitCode, 'UserInitiated', task.stoppedReason ?? 'Task stopped by user');
      } else {
        this.finish(
          tracked,
          settle,
          exitCode,
          'EssentialContainerExited',
          'Essential container in task exited',
        );
      }
    });
    return task;
  }

  describe(taskArn: string): EcsTask | undefined {
    return this.tasks.get(taskArn)?.task;
  }

  /** Resolves with the stopped task. */
  whenStopped(taskArn: string): Promise<EcsTask> {
    const tracked = this.tasks.get(taskArn);
    if (!tracked) return Promise.reject(new AwsError('InvalidParameterException', `unknown task ${taskArn}`));
    return tracked.stopped;
  }

  stopTask(taskArn: string, reason?: string): EcsTask {
    const tracked = this.tasks.get(taskArn) ?? this.tasks.get(arns.task(taskArn));
    if (!tracked) throw new AwsError('InvalidParameterException', 'The referenced task was not found.');
    const { task, pid } = tracked;
    if (task.lastStatus === 'STOPPED' || task.desiredStatus === 'STOPPED') return task;
    task.desiredStatus = 'STOPPED';
    task.stopCode = 'UserInitiated';
    task.stoppedReason = reason ?? 'Task stopped by user';
    task.stoppingAt = Date.now();
    signalGroup(pid, 'SIGTERM');
    tracked.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.options.stopGraceMs ?? 30_000);
    return task;
  }

  list(filter: { family?: string; desiredStatus?: string; startedBy?: string }): EcsTask[] {
    return [...this.tasks.values()]
      .map((t) => t.task)
      .filter(
        (t) =>
          (!filter.family || t.family === filter.family) &&
          (!filter.startedBy || t.startedBy === filter.startedBy) &&
          t.desiredStatus === (filter.desiredStatus ?? 'RUNNING'),
      );
  }

  /** Stops every task and waits for every process group to be gone. */
  async stopAll(graceMs = 5_000): Promise<void> {
    const running = [...this.tasks.values()].filter((t) => t.task.lastStatus !== 'STOPPED');
    for (const tracked of running) {
      this.stopTask(tracked.task.taskArn, 'Local runtime stopped');
      clearTimeout(tracked.killTimer);
      tracked.killTimer = setTimeout(() => signalGroup(tracked.pid, 'SIGKILL'), graceMs);
    }
    await Promise.all(running.map((t) => t.stopped));
    // SIGKILL is asynchronous: wait until no process of any task's group is left.
    const groups = [...this.tasks.values()].flatMap((t) => (t.pid ? [t.pid] : []));
    const deadline = Date.now() + graceMs;
    while (groups.some(groupExists) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * The tasks a previous run recorded (it was killed before it could stop them): one whose process
   * still runs is tracked again, so it can be listed, stopped and is stopped with the runtime; one
   * that ended meanwhile is reported stopped, so whoever watches ECS events learns it is gone.
   */
  adoptRecorded(): { adopted: number; gone: number } {
    const dir = this.options.recordDir;
    const counts = { adopted: 0, gone: 0 };
    if (!dir || !existsSync(dir)) return counts;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      let record: TaskRecord;
      try {
        record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TaskRecord;
      } catch (error) {
        this.options.log(`[ecs] unreadable task record ${file}, dropped: ${(error as Error).message}`);
        rmSync(join(dir, file), { force: true });
        continue;
      }
      const { pid, task } = record;
      if (this.tasks.has(task.taskArn)) continue;
      let settle!: (task: EcsTask) => void;
      const tracked: Tracked = { task, pid, stopped: new Promise((resolve) => (settle = resolve)) };
      this.tasks.set(task.taskArn, tracked);
      const ended = () =>
        task.stopCode === 'UserInitiated'
          ? this.finish(
              tracked,
              settle,
              undefined,
              'UserInitiated',
              task.stoppedReason ?? 'Task stopped by user',
            )
          : this.finish(
              tracked,
              settle,
              undefined,
              'EssentialContainerExited',
              'Essential container in task exited',
            );
      if (isTaskProcess(pid, task.taskArn)) {
        tracked.watch = setInterval(() => {
          if (!isTaskProcess(pid, task.taskArn)) ended();
        }, ADOPTED_POLL_MS);
        tracked.watch.unref();
        counts.adopted++;
        this.options.log(
          `[ecs] adopted ${task.family} task ${task.taskArn} (pid ${pid}) from a previous run`,
        );
      } else {
        ended();
        counts.gone++;
      }
    }
    return counts;
  }

  private record(record: TaskRecord) {
    const dir = this.options.recordDir;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${recordName(record.task)}.json`), JSON.stringify(record));
  }

  private forget(task: EcsTask) {
    const dir = this.options.recordDir;
    if (dir) rmSync(join(dir, `${recordName(task)}.json`), { force: true });
  }

  private finish(
    tracked: Tracked,
    settle: (task: EcsTask) => void,
    exitCode: number | undefined,
    stopCode: NonNullable<EcsTask['stopCode']>,
    reason: string,
  ) {
    const { task } = tracked;
    if (task.lastStatus === 'STOPPED') return;
    clearTimeout(tracked.killTimer);
    clearInterval(tracked.watch);
    // The engine may have left children in its group; they die with the task, as with a container.
    signalGroup(tracked.pid, 'SIGKILL');
    this.forget(task);
    task.lastStatus = 'STOPPED';
    task.desiredStatus = 'STOPPED';
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.stoppedAt = Date.now();
    const container = task.containers[0]!;
    container.lastStatus = 'STOPPED';
    if (exitCode !== undefined) container.exitCode = exitCode;
    if (stopCode === 'TaskFailedToStart') container.reason = reason;
    this.options.onTaskStopped?.(task);
    settle(task);
  }
}

const recordName = (task: EcsTask) => task.taskArn.split('/').pop() ?? task.taskArn;

/**
 * Whether `pid` is still this task's process and not a reused pid: its environment carries the
 * task's TASK_ARN (readable on Linux; elsewhere a live pid has to do).
 */
function isTaskProcess(pid: number, taskArn: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`TASK_ARN=${taskArn}`);
  } catch {
    if (existsSync('/proc/self')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function pipeLines(stream: NodeJS.ReadableStream | null, emit: (line: string) => void) {
  if (!stream) return;
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) emit(line);
  });
  stream.on('end', () => {
    if (buffer) emit(buffer);
  });
}

/** The task as the ECS API (and the `ECS Task State Change` event) shows it. */
export function apiTask(task: EcsTask) {
  const { family: _family, createdAt, startedAt, stoppingAt, stoppedAt, ...rest } = task;
  return {
    ...rest,
    createdAt: epochSeconds(createdAt),
    ...(startedAt ? { startedAt: epochSeconds(startedAt) } : {}),
    ...(stoppingAt ? { stoppingAt: epochSeconds(stoppingAt) } : {}),
    ...(stoppedAt ? { stoppedAt: epochSeconds(stoppedAt) } : {}),
  };
}

/** The detail of the `ECS Task State Change` event (ISO timestamps, as EventBridge carries them). */
export function taskStateChangeDetail(task: EcsTask) {
  const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);
  return {
    ...apiTask(task),
    createdAt: iso(task.createdAt),
    startedAt: iso(task.startedAt),
    stoppingAt: iso(task.stoppingAt),
    stoppedAt: iso(task.stoppedAt),
  };
}

/** The `ecs:cluster` condition key of a call: the cluster it names, ECS's `default` when it names none. */
const inCluster = (cluster: string | undefined) => ({
  'ecs:cluster': cluster?.startsWith('arn:') ? cluster : arns.clusterNamed(cluster ?? 'default'),
});
const taskArnOf = (reference: string) => (reference.startsWith('arn:') ? reference : arns.task(reference));

function taskDefinitionArnOf(reference: string): string {
  if (reference.startsWith('arn:')) return reference;
  const [family, revision] = reference.split(':');
  return arns.taskDefinition(family!, revision ? Number(revision) : undefined);
}

const ECS_ACCESS: Record<string, Access> = {
  RunTask: (input: { taskDefinition?: string; cluster?: string }) => [
    { resource: taskDefinitionArnOf(input.taskDefinition ?? ''), context: inCluster(input.cluster) },
  ],
  StopTask: (input: { task?: string; cluster?: string }) => [
    { resource: taskArnOf(input.task ?? ''), context: inCluster(input.cluster) },
  ],
  DescribeTasks: (input: { tasks?: string[]; cluster?: string }) =>
    (input.tasks ?? []).map((task) => ({ resource: taskArnOf(task), context: inCluster(input.cluster) })),
  ListTasks: (input: { cluster?: string }) => [{ resource: '*', context: inCluster(input.cluster) }],
};

export function ecsService(ecs: LocalEcs): JsonService {
  const find = (reference: string) => ecs.describe(reference) ?? ecs.describe(arns.task(reference));
  return {
    targetPrefix: 'AmazonEC2ContainerServiceV20141113',
    jsonVersion: '1.1',
    iamPrefix: 'ecs',
    access: ECS_ACCESS,
    operations: {
      RunTask: (input: RunTaskInput & { count?: number }) => {
        if ((input.count ?? 1) !== 1)
          throw new AwsError('InvalidParameterException', 'count must be 1 locally');
        return { tasks: [apiTask(ecs.runTask(input))], failures: [] };
      },
      DescribeTasks: (input: { tasks?: string[] }) => {
        const tasks = input.tasks ?? [];
        return {
          tasks: tasks.flatMap((ref) => {
            const task = find(ref);
            return task ? [apiTask(task)] : [];
          }),
          failures: tasks.filter((ref) => !find(ref)).map((arn) => ({ arn, reason: 'MISSING' })),
        };
      },
      StopTask: (input: { task: string; reason?: string }) => ({
        task: apiTask(ecs.stopTask(input.task, input.reason)),
      }),
      ListTasks: (input: { family?: string; desiredStatus?: string; startedBy?: string }) => ({
        taskArns: ecs.list(input).map((t) => t.taskArn),
      }),
    },
  };
}
