/** The commands of `rollout`: each turns arguments into one or two API calls and prints the result. */
import { type Client, seg } from './client.ts';
import { keyValues, type PlanInfo, planHeader, summaryTable, type TaskInfo, table } from './render.ts';
import type { Flags } from './rollout.ts';
import { type Output, printEvents, watchPlan } from './watch.ts';

export class UsageError extends Error {}

export interface Io {
  out: Output;
  readFile(file: string): Promise<string>;
}

const OPERATIONS = ['pause', 'resume', 'cancel', 'rollback', 'retry'] as const;
type Operation = (typeof OPERATIONS)[number];
const isOperation = (value: string | undefined): value is Operation =>
  (OPERATIONS as readonly string[]).includes(value ?? '');

/** Flags each command accepts besides the global ones (url, token, json, help). */
const ALLOWED: Record<string, readonly (keyof Flags)[]> = {
  'plan submit': ['dry-run', 'max-concurrency', 'idempotency-key'],
  'plan list': ['status', 'limit', 'cursor'],
  'plan retry': ['from-scratch'],
  'plan delete': ['force', 'dry-run'],
  'task retry': ['from-scratch'],
  'tenant retry': ['from-scratch'],
  events: ['follow', 'after'],
  engines: ['tenant'],
};
const GLOBAL: readonly (keyof Flags)[] = ['url', 'token', 'json', 'help'];

function checkFlags(command: string, flags: Flags) {
  const allowed = new Set([...GLOBAL, ...(ALLOWED[command] ?? [])]);
  const extra = Object.keys(flags).filter((name) => !allowed.has(name as keyof Flags));
  if (extra.length) throw new UsageError(`${command} does not take ${extra.map((f) => `--${f}`).join(', ')}`);
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
}

function positiveInteger(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`--${flag} must be a positive integer, got "${raw}"`);
  return value;
}

const print = (out: Output, json: boolean, value: unknown, human: () => string) =>
  out.write(`${json ? JSON.stringify(value, null, 2) : human()}\n`);

interface OperationResult {
  targetType: string;
  targetId: string;
  success: boolean;
  finalStatus: string;
  message: string;
}

async function operate(client: Client, base: string, op: Operation, flags: Flags, out: Output) {
  const result = await client.request<OperationResult>('POST', `${base}/${op}`, {
    body: op === 'retry' ? { fromCheckpoint: !flags['from-scratch'] } : {},
  });
  print(
    out,
    Boolean(flags.json),
    result,
    () =>
      `${op} ${result.targetType.toLowerCase()} ${result.targetId}: ${result.success ? 'ok' : 'partly refused'}, now ${result.finalStatus} (${result.message})`,
  );
  return result.success ? 0 : 1;
}

function taskDetails(task: TaskInfo & { planId: string; stages: string[] }) {
  return keyValues([
    ['task', task.taskId],
    ['plan', task.planId],
    ['tenant', task.tenantId],
    ['status', task.status],
    ['version', task.version],
    ['stages', `${task.completedStages}/${task.totalStages} (${task.stages.join(' → ')})`],
    ['current stage', task.currentStage],
    ['paused', task.paused || undefined],
    ['cancelled', task.cancelled || undefined],
    ['retries', task.retryCount],
    ['failure', task.failureInfo ? `${task.failureInfo.type}: ${task.failureInfo.message}` : undefined],
    ['created', task.timestamps.createdAt],
    ['started', task.timestamps.startedAt],
    ['ended', task.timestamps.endedAt],
    ['console', task.consoleUrl],
    ['aws console', task.awsConsoleUrl],
  ]);
}

async function planCommand(client: Client, args: string[], flags: Flags, io: Io): Promise<number> {
  const [sub, id] = args;
  const json = Boolean(flags.json);
  const out = io.out;
  checkFlags(`plan ${isOperation(sub) && sub !== 'retry' ? 'op' : sub}`, flags);
  if (sub === 'submit') {
    const file = need(id, 'plan file (rollout plan submit <file>)');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await io.readFile(file));
    } catch (error) {
      throw new UsageError(`cannot read plan file ${file}: ${(error as Error).message}`);
    }
    if (flags['dry-run']) body.dryRun = true;
    const maxConcurrency = positiveInteger(flags['max-concurrency'], 'max-concurrency');
    if (maxConcurrency !== undefined) body.maxConcurrency = maxConcurrency;
    const key = flags['idempotency-key'];
    const { status, body: result } = await client.requestWithStatus<Record<string, unknown>>(
      'POST',
      '/v1/plans',
      {
        body,
        ...(key ? { headers: { 'idempotency-key': key } } : {}),
      },
    );
    print(out, json, result, () => {
      if (result.dryRun) {
        const tasks = result.tasks as {
          tenantId: string;
          version: string;
          stages: string[];
          lockConflict?: { heldByPlanId: string };
        }[];
        return `${result.message}\n${table(
          ['TENANT', 'VERSION', 'STAGES', 'LOCKED BY PLAN'],
          tasks.map((t) => [t.tenantId, t.version, t.stages.join(' → '), t.lockConflict?.heldByPlanId ?? '']),
        )}`;
      }
      return `plan ${result.planId} ${status === 201 ? 'created' : 'already exists (same Idempotency-Key)'}: ${result.message}, status ${result.status}\nwatch it: rollout plan watch ${result.planId}`;
    });
    return 0;
  }
  if (sub === 'list') {
    const limit = positiveInteger(flags.limit, 'limit');
    const page = await client.request<{ plans: PlanInfo[]; cursor?: string }>('GET', '/v1/plans', {
      query: { status: flags.status, limit, cursor: flags.cursor },
    });
    print(out, json, page, () =>
      [
        table(
          ['PLAN', 'NAME', 'STATUS', 'DONE/FAILED/TOTAL', 'CREATED'],
          page.plans.map((p) => [
            p.planId,
            p.name,
            p.status,
            `${p.completedTasks}/${p.failedTasks}/${p.totalTasks}`,
            p.createdAt,
          ]),
        ),
        ...(page.cursor ? [`more: rollout plan list --cursor ${page.cursor}`] : []),
      ].join('\n'),
    );
    return 0;
  }
  const planId = need(id, 'plan id');
  const base = `/v1/plans/${seg(planId)}`;
  if (sub === 'show') {
    const [plan, { tasks }] = await Promise.all([
      client.request<PlanInfo>('GET', base),
      client.request<{ tasks: TaskInfo[] }>('GET', `${base}/tasks`),
    ]);
    print(
      out,
      json,
      { plan, tasks },
      () =>
        `${planHeader(plan)}\nconsole: ${plan.consoleUrl}\n${plan.awsConsoleUrl ? `aws console: ${plan.awsConsoleUrl}\n` : ''}\n${summaryTable(tasks)}`,
    );
    return 0;
  }
  if (sub === 'watch') return watchPlan(client, planId, json, out);
  if (sub === 'delete') {
    const result = await client.request<{
      dryRun: boolean;
      items: number;
      cancelled: boolean;
      status: string;
    }>('DELETE', base, {
      query: { force: flags.force ? 'true' : undefined, dryRun: flags['dry-run'] ? 'true' : undefined },
    });
    print(out, json, result, () =>
      result.dryRun
        ? `would delete plan ${planId} (${result.status}): ${result.items} item(s)${result.cancelled ? ', cancelling it first' : ''}`
        : `deleted plan ${planId}: ${result.items} item(s)${result.cancelled ? ' (cancelled first)' : ''}`,
    );
    return 0;
  }
  if (isOperation(sub)) return operate(client, base, sub, flags, out);
  throw new UsageError(`unknown plan command "${sub ?? ''}"`);
}

async function targetCommand(
  client: Client,
  kind: 'task' | 'tenant',
  args: string[],
  flags: Flags,
  io: Io,
): Promise<number> {
  const [sub, id] = args;
  checkFlags(`${kind} ${sub === 'retry' ? 'retry' : 'op'}`, flags);
  const target = need(id, kind === 'task' ? 'task id' : 'tenant id');
  const base = kind === 'task' ? `/v1/tasks/${seg(target)}` : `/v1/tenants/${seg(target)}`;
  if (sub === 'show') {
    const task = await client.request<TaskInfo & { planId: string; stages: string[] }>(
      'GET',
      kind === 'task' ? base : `${base}/task`,
    );
    print(io.out, Boolean(flags.json), task, () => taskDetails(task));
    return 0;
  }
  if (isOperation(sub)) return operate(client, base, sub, flags, io.out);
  throw new UsageError(`unknown ${kind} command "${sub ?? ''}"`);
}

export async function runCommand(
  client: Client,
  positionals: string[],
  flags: Flags,
  io: Io,
): Promise<number> {
  const [group, ...rest] = positionals;
  const json = Boolean(flags.json);
  switch (group) {
    case 'plan':
      return planCommand(client, rest, flags, io);
    case 'task':
    case 'tenant':
      return targetCommand(client, group, rest, flags, io);
    case 'events': {
      checkFlags('events', flags);
      const planId = need(rest[0], 'plan id');
      await printEvents(
        client,
        planId,
        { follow: Boolean(flags.follow), json, ...(flags.after ? { after: flags.after } : {}) },
        io.out,
      );
      return 0;
    }
    case 'engines': {
      checkFlags('engines', flags);
      const { engines } = await client.request<{ engines: Record<string, string | undefined>[] }>(
        'GET',
        '/v1/engines',
        { query: { tenantId: flags.tenant } },
      );
      print(io.out, json, { engines }, () =>
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
      return 0;
    }
    case 'health': {
      checkFlags('health', flags);
      // An unhealthy API answers 503 with the same report.
      const response = await client.raw('GET', '/v1/health', { allowStatus: [503] });
      const report = (await response.json()) as {
        status: string;
        components: Record<string, unknown>;
        version: string;
      };
      print(io.out, json, report, () =>
        [
          `${report.status} (version ${report.version})`,
          ...Object.entries(report.components).map(
            ([name, c]) => `  ${name.padEnd(12)} ${JSON.stringify(c)}`,
          ),
        ].join('\n'),
      );
      return report.status === 'unhealthy' ? 3 : 0;
    }
    default:
      throw new UsageError(`unknown command "${group}"`);
  }
}
