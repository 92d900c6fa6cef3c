/** The commands of `rollout`, declared once with commander: parsing, help, suggestions and completion all read this tree. */

import { Command, InvalidArgumentError, Option } from 'commander';
import type { DryRunResult } from '../functions/api/schemas.ts';
import { PLAN_STATUSES, TASK_STATUSES } from '../functions/core/model.ts';
import { OPERATION_NAMES as OPERATIONS, type OperationName } from '../functions/core/operations.ts';
import { type Client, createClient, resolveConfig, seg } from './client.ts';
import { completionScript, SHELLS } from './completion.ts';
import {
  countsLine,
  duration,
  type EventInfo,
  failureText,
  keyValues,
  type PlanInfo,
  planHeader,
  summaryTable,
  type TaskInfo,
  table,
  taskDuration,
  versionChange,
  wavesLine,
} from './render.ts';
import { emit, FORMATS, type Format, type Output, paintStatus, type Ui, wantsColor } from './ui.ts';
import { planTasks, printEvents, type TaskFilter, watchPlan } from './watch.ts';

export interface Io {
  out: Output;
  /** Diagnostics (stderr). */
  err(text: string): void;
  readFile(file: string): Promise<string>;
  env: NodeJS.ProcessEnv;
}

/** A mistake in how the CLI was called (exit 2), found after commander parsed the line. */
export class UsageError extends Error {}

interface GlobalOptions {
  url?: string;
  token?: string;
  output?: Format;
  json?: boolean;
  color: boolean;
}

const DESCRIPTIONS: Record<OperationName, string> = {
  pause: 'pause at the next stage boundary',
  resume: 'resume after a pause',
  cancel: 'cancel at the next stage boundary',
  rollback: 'restore the previous config of every stage it changed',
  retry: 'run a failed or cancelled task again',
};

function positiveInteger(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('must be a positive integer.');
  return value;
}

const tenantOption = () => new Option('--tenant <tenantId>', 'only this tenant');
const taskStatusOption = () =>
  new Option('--status <status>', 'only tasks in this status').choices(TASK_STATUSES);

export function buildProgram(io: Io, version: string, setExit: (code: number) => void): Command {
  const program = new Command('rollout');
  let cached: Client | undefined;
  const context = (command: Command): { client: () => Client; ui: Ui } => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    const format: Format = globals.json ? 'json' : (globals.output ?? 'table');
    const ui: Ui = { format, color: wantsColor(globals.color, io.out.isTTY, io.env), out: io.out };
    const client = () => {
      cached ??= createClient(resolveConfig({ url: globals.url, token: globals.token }, io.env));
      return cached;
    };
    return { client, ui };
  };

  // Before any subcommand exists: subcommands copy these settings when they are created.
  program
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out.write(text), writeErr: (text) => io.err(text) })
    .description('Roll deploy configurations out to many tenants, and watch and steer the rollouts.')
    .version(version, '-V, --version', 'print the version')
    .option('--url <url>', 'API URL (default: $ROLLOUT_URL, else http://127.0.0.1:$ROLLOUT_PORT, port 3000)')
    .option(
      '--token <token>',
      'API token (default: $ROLLOUT_TOKEN, else $ROLLOUT_HOME/token or ./.rollout/token)',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default(undefined))
    .addOption(new Option('--json', 'same as --output json').conflicts('output'))
    .option('--no-color', 'no colours (also when NO_COLOR is set or output is not a terminal)')
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok; 1 API or network error; 2 usage error; 3 the plan ended FAILED,
CANCELLED or ROLLBACK_FAILED (plan watch, events --follow) or the API is unhealthy (health).`,
    );

  // ---- plan ----------------------------------------------------------------------------------------
  const plan = program.command('plan').description('submit, list, show, watch and steer plans');

  plan
    .command('submit')
    .description('submit a plan file (JSON, the body of POST /v1/plans)')
    .argument('<file>', 'plan file')
    .option('--dry-run', 'validate, preview tasks and stages, and probe every endpoint; start nothing')
    .option('--max-concurrency <n>', 'tenants at a time', positiveInteger)
    .option('--idempotency-key <key>', 'submitting again with the same key returns the first plan')
    .action(async (file: string, options, command: Command) => {
      const { client, ui } = context(command);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await io.readFile(file));
      } catch (error) {
        throw new UsageError(`cannot read plan file ${file}: ${(error as Error).message}`);
      }
      if (options.dryRun) body.dryRun = true;
      if (options.maxConcurrency !== undefined) body.maxConcurrency = options.maxConcurrency;
      const key: string | undefined = options.idempotencyKey;
      const { status, body: result } = await client().requestWithStatus<Record<string, unknown>>(
        'POST',
        '/v1/plans',
        { body, ...(key ? { headers: { 'idempotency-key': key } } : {}) },
      );
      emit(ui, result, () => (result.dryRun ? dryRunText(result) : submittedText(result, status)));
      const unreachable = (result.unreachableEndpoints as unknown[] | undefined)?.length ?? 0;
      setExit(unreachable ? 1 : 0);
    });

  plan
    .command('list')
    .description('list plans, newest first')
    .addOption(new Option('--status <status>', 'only plans in this status').choices(PLAN_STATUSES))
    .addOption(new Option('--tenant <tenantId>', 'only plans with a task for this tenant'))
    .option('--limit <n>', 'plans per page (1-100)', positiveInteger)
    .option('--cursor <cursor>', 'continue after the previous page')
    .action(async (options, command: Command) => {
      const { client, ui } = context(command);
      const page = await client().request<{ plans: PlanInfo[]; cursor?: string }>('GET', '/v1/plans', {
        query: { status: options.status, limit: options.limit, cursor: options.cursor },
      });
      if (options.tenant) {
        const has = await Promise.all(
          page.plans.map(
            async (p) => (await planTasks(client(), p.planId, { tenant: options.tenant }, 1)).length > 0,
          ),
        );
        page.plans = page.plans.filter((_, i) => has[i]);
      }
      emit(ui, page, () =>
        [
          table(
            ['PLAN', 'NAME', 'STATUS', 'DONE/FAILED/TOTAL', 'CREATED'],
            page.plans.map((p) => [
              p.planId,
              p.name,
              paintStatus(ui, p.status),
              `${p.completedTasks}/${p.failedTasks}/${p.totalTasks}`,
              p.createdAt,
            ]),
          ),
          ...(page.cursor ? [`more: rollout plan list --cursor ${page.cursor}`] : []),
        ].join('\n'),
      );
    });

  plan
    .command('show')
    .description("a plan's status, counts and tasks")
    .argument('<planId>')
    .addOption(tenantOption())
    .addOption(taskStatusOption())
    .action(async (planId: string, options: TaskFilter, command: Command) => {
      const { client, ui } = context(command);
      const [found, tasks] = await Promise.all([
        client().request<PlanInfo>('GET', `/v1/plans/${seg(planId)}`),
        planTasks(client(), planId, options),
      ]);
      emit(ui, { plan: found, tasks }, () =>
        [
          planHeader(ui, found),
          countsLine(found),
          ...wavesLine(ui, found),
          ...(found.failureInfo ? [`failure: ${failureText(found.failureInfo)}`] : []),
          `console: ${found.consoleUrl}`,
          ...(found.awsConsoleUrl ? [`aws console: ${found.awsConsoleUrl}`] : []),
          '',
          summaryTable(ui, tasks),
        ].join('\n'),
      );
    });

  plan
    .command('watch')
    .description('follow a plan live until it ends, then print a summary')
    .argument('<planId>')
    .addOption(tenantOption())
    .addOption(taskStatusOption())
    .addHelpText(
      'after',
      `
On a terminal the view is redrawn in place, cut to the terminal's width and height:
the plan line stays on top, running and failed tasks come first, the rest is counted.
Piped, it prints one timestamped line per change. It reconnects when the API restarts.
Exit code: 0 when the plan ended COMPLETED or ROLLED_BACK, 3 when it ended FAILED,
CANCELLED or ROLLBACK_FAILED, 1 when the API stayed unreachable for 5 minutes.`,
    )
    .action(async (planId: string, options: TaskFilter, command: Command) => {
      const { client, ui } = context(command);
      setExit(await watchPlan(client(), planId, ui, options, (line) => io.err(line)));
    });

  plan
    .command('approve')
    .description('let the wave that waits for approval start')
    .argument('<planId>')
    .action(async (planId: string, _options, command: Command) => {
      const { client, ui } = context(command);
      const result = await client().request<OperationResult>('POST', `/v1/plans/${seg(planId)}/approve`);
      emit(ui, result, () => `approve plan ${result.targetId}: ${result.message}`);
    });

  plan
    .command('delete')
    .description('delete a finished plan and everything it stored')
    .argument('<planId>')
    .option('--force', 'cancel a live plan first')
    .option('--dry-run', 'only say what would be deleted')
    .action(async (planId: string, options, command: Command) => {
      const { client, ui } = context(command);
      const result = await client().request<{
        dryRun: boolean;
        items: number;
        cancelled: boolean;
        status: string;
      }>('DELETE', `/v1/plans/${seg(planId)}`, {
        query: { force: options.force ? 'true' : undefined, dryRun: options.dryRun ? 'true' : undefined },
      });
      emit(ui, result, () =>
        result.dryRun
          ? `would delete plan ${planId} (${result.status}): ${result.items} item(s)${result.cancelled ? ', cancelling it first' : ''}`
          : `deleted plan ${planId}: ${result.items} item(s)${result.cancelled ? ' (cancelled first)' : ''}`,
      );
    });

  // ---- the five operations, on a plan, a task or a tenant's task -------------------------------------
  const targets = [
    { group: plan, kind: 'plan', base: (id: string) => `/v1/plans/${seg(id)}`, of: 'every task of the plan' },
    {
      group: program.command('task').description('show and steer one task'),
      kind: 'task',
      base: (id: string) => `/v1/tasks/${seg(id)}`,
      of: 'the task',
    },
    {
      group: program.command('tenant').description("show and steer a tenant's active (else latest) task"),
      kind: 'tenant',
      base: (id: string) => `/v1/tenants/${seg(id)}`,
      of: "the tenant's task",
    },
  ];
  for (const target of targets) {
    if (target.kind !== 'plan') {
      target.group
        .command('show')
        .description(`${target.of}: versions, stages with their durations, retries, failure, console link`)
        .argument(`<${target.kind}Id>`)
        .action(async (id: string, _options, command: Command) => {
          const { client, ui } = context(command);
          const path = target.kind === 'task' ? target.base(id) : `${target.base(id)}/task`;
          const task = await client().request<TaskInfo>('GET', path);
          const stages = await stageTimes(client(), task);
          emit(ui, { ...task, stageTimes: stages }, () => taskDetails(ui, task, stages));
        });
    }
    for (const op of OPERATIONS) {
      const command = target.group
        .command(op)
        .description(`${DESCRIPTIONS[op]} (${target.of})`)
        .argument(`<${target.kind}Id>`);
      if (op === 'retry')
        command.option('--from-scratch', 'run every stage again, not only those after the checkpoint');
      command.action(async (id: string, options: { fromScratch?: boolean }, self: Command) => {
        const { client, ui } = context(self);
        const result = await client().request<OperationResult>('POST', `${target.base(id)}/${op}`, {
          body: op === 'retry' ? { fromCheckpoint: !options.fromScratch } : {},
        });
        emit(
          ui,
          result,
          () =>
            `${op} ${result.targetType.toLowerCase()} ${result.targetId}: ${result.success ? 'ok' : 'partly refused'}, now ${paintStatus(ui, result.finalStatus)} (${result.message})`,
        );
        setExit(result.success ? 0 : 1);
      });
    }
  }

  // ---- events, engines, health, completion ------------------------------------------------------------
  program
    .command('events')
    .description("a plan's events, oldest first")
    .argument('<planId>')
    .option('-f, --follow', 'keep printing events until the plan ends; exit with its verdict')
    .option('--after <id>', 'only events after this eventId or plan sequence number')
    .addOption(tenantOption())
    .addOption(
      new Option('--status <status>', 'only events whose status is this').choices([
        ...new Set([...PLAN_STATUSES, ...TASK_STATUSES]),
      ]),
    )
    .action(async (planId: string, options, command: Command) => {
      const { client, ui } = context(command);
      const filter: TaskFilter = { tenant: options.tenant, status: options.status };
      setExit(
        await printEvents(
          client(),
          planId,
          { follow: Boolean(options.follow), after: options.after, filter },
          ui,
          (line) => io.err(`${line}\n`),
        ),
      );
    });

  program
    .command('engines')
    .description('the engine registry')
    .addOption(tenantOption())
    .action(async (options, command: Command) => {
      const { client, ui } = context(command);
      const { engines } = await client().request<{ engines: Record<string, string | undefined>[] }>(
        'GET',
        '/v1/engines',
        { query: { tenantId: options.tenant } },
      );
      emit(ui, { engines }, () =>
        table(
          ['TENANT', 'SERVICE', 'ENGINE', 'STATE', 'VERSION', 'ENDPOINT'],
          engines.map((e) => [
            e.tenantId ?? '',
            e.service ?? '',
            e.engineId ?? '',
            e.state ?? '',
            e.version ?? '',
            e.endpoint ?? '',
          ]),
        ),
      );
    });

  program
    .command('health')
    .description("the API's health: store, orchestrator, event bus, stale tasks (exit 3 when unhealthy)")
    .action(async (_options, command: Command) => {
      const { client, ui } = context(command);
      // An unhealthy API answers 503 with the same report.
      const response = await client().raw('GET', '/v1/health', { allowStatus: [503] });
      const report = JSON.parse(await client().readBody(response)) as {
        status: string;
        components: Record<string, unknown>;
        version: string;
      };
      emit(ui, report, () =>
        [
          `${paintStatus(ui, report.status)} (version ${report.version})`,
          ...Object.entries(report.components).map(
            ([name, c]) => `  ${name.padEnd(12)} ${JSON.stringify(c)}`,
          ),
        ].join('\n'),
      );
      setExit(report.status === 'unhealthy' ? 3 : 0);
    });

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(program.createArgument('<shell>', 'bash or zsh').choices(SHELLS))
    .addHelpText(
      'after',
      `
  bash:  source <(rollout completion bash)        (or add that line to ~/.bashrc)
  zsh:   source <(rollout completion zsh)         (or add that line to ~/.zshrc)`,
    )
    .action((shell: (typeof SHELLS)[number]) => {
      io.out.write(completionScript(program, shell));
    });

  return program;
}

interface OperationResult {
  targetType: string;
  targetId: string;
  success: boolean;
  finalStatus: string;
  message: string;
}

function submittedText(result: Record<string, unknown>, status: number): string {
  return `plan ${result.planId} ${status === 201 ? 'created' : 'already exists (same Idempotency-Key)'}: ${result.message}, status ${result.status}\nwatch it: rollout plan watch ${result.planId}`;
}

/** Per service, what the new config changes: `app 1 → 2`, other changed fields in brackets, `db new`. */
function changesText(changes: DryRunResult['tasks'][number]['changes']): string {
  return changes
    .map((c) => {
      if (c.currentVersion === undefined) return `${c.service} new`;
      if (!c.changes.length) return `${c.service} unchanged`;
      const version = c.changes.find((change) => change.field === 'deployUnitVersion');
      const others = c.changes.filter((change) => change !== version).map((change) => change.field);
      return [
        c.service,
        ...(version ? [`${String(version.from ?? '')} → ${String(version.to ?? '')}`] : []),
        ...(others.length ? [`(${others.join(', ')})`] : []),
      ].join(' ');
    })
    .join('; ');
}

function dryRunText(raw: Record<string, unknown>): string {
  const result = raw as unknown as DryRunResult;
  const tasks = result.tasks;
  const waves = result.waves ?? [];
  const unreachable = (result.unreachableEndpoints ?? []) as {
    tenantId: string;
    endpoint: string;
    error: string;
  }[];
  return [
    String(result.message),
    ...(waves.length
      ? [
          table(
            ['WAVE', 'TENANTS', 'CONCURRENCY', 'BAKE', 'APPROVAL', 'FAILURE THRESHOLD'],
            waves.map((w) => [
              w.name,
              String(w.tenantCount),
              String(w.maxConcurrency),
              w.bakeSeconds ? `${w.bakeSeconds}s` : '',
              w.approval ? 'required' : '',
              'count' in w.failureThreshold
                ? String(w.failureThreshold.count)
                : `${w.failureThreshold.percent}%`,
            ]),
          ),
          '',
        ]
      : []),
    table(
      ['TENANT', ...(waves.length ? ['WAVE'] : []), 'VERSION', 'STAGES', 'CHANGES', 'LOCKED BY PLAN'],
      tasks.map((t) => [
        t.tenantId,
        ...(waves.length ? [t.wave ?? ''] : []),
        t.version,
        t.stages.join(' → '),
        changesText(t.changes),
        t.lockConflict?.heldByPlanId ?? '',
      ]),
    ),
    ...(unreachable.length
      ? [
          '',
          'endpoints that do not answer their health check:',
          table(
            ['TENANT', 'ENDPOINT', 'PROBLEM'],
            unreachable.map((u) => [u.tenantId, u.endpoint, u.error]),
          ),
        ]
      : []),
  ].join('\n');
}

export interface StageTime {
  stage: string;
  outcome: 'running' | 'succeeded' | 'failed' | 'rolling back' | 'rolled back' | 'rollback failed';
  startedAt: string;
  endedAt?: string;
}

const STAGE_EVENTS: Partial<Record<EventInfo['type'], { starts: boolean; outcome: StageTime['outcome'] }>> = {
  TaskStageStarted: { starts: true, outcome: 'running' },
  TaskStageSucceeded: { starts: false, outcome: 'succeeded' },
  TaskStageFailed: { starts: false, outcome: 'failed' },
  TaskStageRollingBack: { starts: true, outcome: 'rolling back' },
  TaskStageRolledBack: { starts: false, outcome: 'rolled back' },
  TaskStageRollbackFailed: { starts: false, outcome: 'rollback failed' },
};

/** Pages of the plan's event log read for one task's stage times; beyond them the stages show no times. */
const STAGE_EVENT_PAGES = 20;

/** Each stage's runs (forward, and back when rolled back) from the task's events. */
async function stageTimes(client: Client, task: TaskInfo): Promise<StageTime[]> {
  const times: StageTime[] = [];
  let after: string | undefined;
  for (let page = 0; page < STAGE_EVENT_PAGES; page++) {
    const { events, last } = await client.request<{ events: EventInfo[]; last: string | null }>(
      'GET',
      `/v1/plans/${seg(task.planId)}/events`,
      { query: { after, limit: 500 } },
    );
    for (const event of events) {
      const kind = STAGE_EVENTS[event.type];
      if (event.taskId !== task.taskId || !kind || !event.currentStage) continue;
      if (kind.starts)
        times.push({ stage: event.currentStage, outcome: kind.outcome, startedAt: event.timestamp });
      else {
        const open = times.findLast((t) => t.stage === event.currentStage && !t.endedAt);
        if (open) Object.assign(open, { outcome: kind.outcome, endedAt: event.timestamp });
      }
    }
    if (!events.length || !last) break;
    after = last;
  }
  return times;
}

function taskDetails(ui: Pick<Ui, 'color'>, task: TaskInfo, stages: readonly StageTime[]): string {
  const now = Date.now();
  const stageLines = stages.map(
    (s) =>
      `${s.stage} ${s.outcome} ${duration((s.endedAt ? Date.parse(s.endedAt) : now) - Date.parse(s.startedAt))}`,
  );
  return keyValues([
    ['task', task.taskId],
    ['plan', task.planId],
    ['tenant', task.tenantId],
    ['status', paintStatus(ui, task.status)],
    ['version', versionChange(task)],
    ['stages', `${task.completedStages}/${task.totalStages} (${task.stages.join(' → ')})`],
    ['current stage', task.currentStage],
    ['stage runs', stageLines.join(', ')],
    ['duration', taskDuration(task, now)],
    ['paused', task.paused || undefined],
    ['cancelled', task.cancelled || undefined],
    ['retries', task.retryCount],
    ['recoveries', task.recoveryCount || undefined],
    ['failure', failureText(task.failureInfo)],
    ['created', task.timestamps.createdAt],
    ['started', task.timestamps.startedAt],
    ['ended', task.timestamps.endedAt],
    ['console', task.consoleUrl],
    ['aws console', task.awsConsoleUrl],
  ]);
}
