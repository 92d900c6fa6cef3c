/** `plan watch` and `events --follow`: live views on the events long-poll and NDJSON stream that survive a server restart. */
import { isTerminalPlan, type TaskStatus } from '../functions/core/model.ts';
import { type Client, seg, Unreachable, withReconnect } from './client.ts';
import {
  countsLine,
  type EventInfo,
  eventLine,
  failureText,
  type PlanInfo,
  planElapsed,
  planHeader,
  TASK_COLUMNS,
  type TaskInfo,
  table,
  taskCells,
  taskLine,
  wavesLine,
} from './render.ts';
import { clip, emit, emitRecord, paint, paintStatus, type Ui } from './ui.ts';

export const UNSUCCESSFUL_PLAN = ['FAILED', 'CANCELLED', 'ROLLBACK_FAILED'];
/** Exit code of `plan watch` and `events --follow` when the plan ended unsuccessfully. */
export const PLAN_UNSUCCESSFUL_EXIT = 3;
export const verdict = (plan: PlanInfo) =>
  UNSUCCESSFUL_PLAN.includes(plan.status) ? PLAN_UNSUCCESSFUL_EXIT : 0;

const WAIT_SECONDS = 10;
const TICK_MS = 1_000;
/** The summary lists every task up to this many; beyond it, completed tasks are only counted. */
const SUMMARY_ALL_UP_TO = 20;

export interface TaskFilter {
  tenant?: string;
  status?: string;
}

export const matches = (filter: TaskFilter) => (task: { tenantId?: string; status: string }) =>
  (!filter.tenant || task.tenantId === filter.tenant) && (!filter.status || task.status === filter.status);

/** The API's largest page of tasks. */
const TASKS_PER_PAGE = 1000;

/**
 * A plan's tasks matching the filter, read page by page; the server filters by status and tenant-id
 * prefix, the exact tenant match is checked here. Stops after `atMost` matches.
 */
export async function planTasks(client: Client, planId: string, filter: TaskFilter = {}, atMost = Infinity) {
  const found: TaskInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request<{ tasks: TaskInfo[]; cursor?: string }>(
      'GET',
      `/v1/plans/${seg(planId)}/tasks`,
      { query: { limit: TASKS_PER_PAGE, status: filter.status, tenant: filter.tenant, cursor } },
    );
    found.push(...page.tasks.filter(matches(filter)));
    cursor = page.cursor;
  } while (cursor && found.length < atMost);
  return found.slice(0, atMost);
}

async function snapshot(client: Client, planId: string, filter: TaskFilter) {
  const [plan, tasks] = await Promise.all([
    client.request<PlanInfo>('GET', `/v1/plans/${seg(planId)}`),
    planTasks(client, planId, filter),
  ]);
  return { plan, tasks };
}

/** Which tasks a person wants to see first when not all fit: moving, then stuck, then waiting, then done. */
const ATTENTION: Record<TaskStatus, number> = {
  RUNNING: 0,
  ROLLING_BACK: 0,
  FAILED: 1,
  ROLLBACK_FAILED: 1,
  PAUSED: 1,
  PENDING: 2,
  VALIDATED: 2,
  CREATED: 2,
  CANCELLED: 3,
  ROLLED_BACK: 3,
  COMPLETED: 4,
};

/** The tasks that fit in `room` lines, most interesting first, and one line counting the rest. */
export function collapse(tasks: readonly TaskInfo[], room: number): { shown: TaskInfo[]; rest?: string } {
  const ordered = [...tasks].sort((a, b) => ATTENTION[a.status] - ATTENTION[b.status]);
  if (ordered.length <= room) return { shown: ordered };
  const shown = ordered.slice(0, Math.max(0, room - 1));
  const hidden = new Map<string, number>();
  for (const task of ordered.slice(shown.length)) {
    hidden.set(task.status, (hidden.get(task.status) ?? 0) + 1);
  }
  const parts = [...hidden].map(([status, n]) => `${n} ${status.toLowerCase().replace('_', ' ')}`);
  return { shown, rest: `+${ordered.length - shown.length} more: ${parts.join(', ')}` };
}

const tenantWidth = (tasks: readonly TaskInfo[]) =>
  Math.min(24, Math.max(6, ...tasks.map((t) => t.tenantId.length)));

/**
 * The live screen: every line cut to the terminal's width (so nothing wraps and the
 * redraw moves up exactly the rows it drew), the plan line pinned on top, and as many
 * task rows as the terminal's height leaves room for.
 */
export function frame(
  ui: Pick<Ui, 'color'>,
  plan: PlanInfo,
  tasks: readonly TaskInfo[],
  size: { columns: number; rows: number },
  notice?: string,
  now = Date.now(),
): string[] {
  const top = [
    planHeader(ui, plan, now),
    countsLine(plan),
    ...wavesLine(ui, plan),
    ...(notice ? [paint(ui, 'yellow', notice)] : []),
  ];
  // One row stays free so the block never scrolls its own top line away.
  const room = Math.max(1, size.rows - top.length - 1);
  const { shown, rest } = collapse(tasks, room);
  const rows = shown.map((t) => taskLine(ui, t, tenantWidth(shown), now));
  // A line exactly as wide as the terminal leaves some terminals waiting to wrap; stay one short.
  return [...top, ...rows, ...(rest ? [rest] : [])].map((line) => clip(line, Math.max(10, size.columns - 1)));
}

/** Redraws a block of lines in place: up to its first row, each line cleared and rewritten, the rest erased. */
function screen(ui: Ui) {
  let drawn = 0;
  return (lines: readonly string[]) => {
    const up = drawn ? `\x1b[${drawn}F` : '';
    ui.out.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}\x1b[J`);
    drawn = lines.length;
  };
}

/** For pipes and logs: one timestamped line whenever the plan or a task changes. */
function changeLog(ui: Ui) {
  const seen = new Map<string, string>();
  const stamp = () => new Date().toISOString().slice(11, 19);
  const once = (key: string, state: string, line: () => string) => {
    if (seen.get(key) === state) return;
    seen.set(key, state);
    ui.out.write(`${stamp()} ${line()}\n`);
  };
  return (plan: PlanInfo, tasks: readonly TaskInfo[]) => {
    once(
      '',
      `${plan.status} ${plan.progressPercent} ${countsLine(plan)} ${wavesLine(ui, plan).join(' ')}`,
      () => [`${planHeader(ui, plan)}  ${countsLine(plan)}`, ...wavesLine(ui, plan)].join('\n         '),
    );
    const width = tenantWidth(tasks);
    for (const task of tasks) {
      const state = `${task.status} ${task.completedStages} ${task.currentStage} ${failureText(task.failureInfo)} ${task.paused} ${task.cancelled}`;
      once(task.taskId, state, () => taskLine(ui, task, width));
    }
  };
}

export function watchSummary(
  ui: Pick<Ui, 'color'>,
  plan: PlanInfo,
  tasks: readonly TaskInfo[],
  now = Date.now(),
): string[] {
  const listed = tasks.length <= SUMMARY_ALL_UP_TO ? tasks : tasks.filter((t) => t.status !== 'COMPLETED');
  const rows = table(
    ['TENANT', ...TASK_COLUMNS],
    listed.map((t) => [t.tenantId, ...taskCells(ui, t, now)]),
  ).split('\n');
  const completedHidden = tasks.length - listed.length;
  const reason = plan.failureInfo ? `: ${failureText(plan.failureInfo)}` : '';
  return [
    ...(listed.length ? rows : []),
    ...(completedHidden ? [`+${completedHidden} completed`] : []),
    '',
    `plan ${plan.planId} ended ${paintStatus(ui, plan.status)} after ${planElapsed(plan, now)} (${countsLine(plan)})${reason}`,
    ...wavesLine(ui, plan),
  ];
}

const retryNotice = (client: Client) => (info: { attempt: number; delayMs: number }) =>
  `connection to ${client.config.url} lost; reconnecting (attempt ${info.attempt}, next in ${(info.delayMs / 1000).toFixed(1)}s)`;

/** Watches until the plan ends; returns the exit code (non-zero when it ended unsuccessfully). */
export async function watchPlan(
  client: Client,
  planId: string,
  ui: Ui,
  filter: TaskFilter,
  warn: (line: string) => void,
): Promise<number> {
  const live = ui.format === 'table';
  const tty = live && ui.out.isTTY;
  const draw = screen(ui);
  const log = changeLog(ui);
  let latest: { plan: PlanInfo; tasks: TaskInfo[] } | undefined;
  let notice: string | undefined;
  const size = () => ({ columns: ui.out.columns() ?? 80, rows: ui.out.rows() ?? 24 });
  const render = () => {
    if (tty && latest) draw(frame(ui, latest.plan, latest.tasks, size(), notice));
  };
  const describe = retryNotice(client);
  // Piped, the change log carries the notice; machine output keeps it on stderr.
  const say = (line: string) => (live ? ui.out.write(`${line}\n`) : warn(`${line}\n`));
  const onRetry = (info: { attempt: number; delayMs: number; error: Unreachable }) => {
    notice = describe(info);
    if (tty) render();
    else if (info.attempt === 1) say(notice);
  };
  const reconnect = <T>(call: () => Promise<T>) =>
    withReconnect(call, onRetry).then((value) => {
      if (notice && !tty) say(`reconnected to ${client.config.url}`);
      notice = undefined;
      return value;
    });

  const ticker = tty ? setInterval(render, TICK_MS) : undefined;
  try {
    let after: string | undefined;
    for (;;) {
      latest = await reconnect(() => snapshot(client, planId, filter));
      if (tty) render();
      else if (live) log(latest.plan, latest.tasks);
      if (isTerminalPlan(latest.plan.status)) break;
      // Wakes as soon as anything happens to the plan (or after WAIT_SECONDS).
      const from = after ?? String(latest.plan.sequenceId);
      const page = await reconnect(() =>
        client.request<{ last: string | null }>('GET', `/v1/plans/${seg(planId)}/events`, {
          query: { after: from, waitSeconds: WAIT_SECONDS, limit: 500 },
        }),
      );
      after = page.last ?? after;
    }
  } finally {
    clearInterval(ticker);
  }
  const { plan, tasks } = latest;
  if (!live) emit(ui, { plan, tasks }, () => '');
  else {
    const columns = tty ? size().columns : Number.POSITIVE_INFINITY;
    const lines = ['', ...watchSummary(ui, plan, tasks)];
    ui.out.write(`${lines.map((l) => (tty ? clip(l, columns) : l)).join('\n')}\n`);
  }
  return verdict(plan);
}

/**
 * Prints a plan's events: all so far, or (follow) as they happen until the plan ends,
 * picking up after the last one printed when the connection breaks. Returns the exit
 * code: with follow, the plan's verdict.
 */
export async function printEvents(
  client: Client,
  planId: string,
  options: { follow: boolean; after?: string; filter: TaskFilter },
  ui: Ui,
  warn: (line: string) => void,
): Promise<number> {
  const wanted = matches(options.filter);
  let after = options.after;
  const print = (event: EventInfo) => {
    after = event.eventId;
    if (wanted(event)) emitRecord(ui, event, () => eventLine(ui, event));
  };
  const path = `/v1/plans/${seg(planId)}/events`;
  const describe = retryNotice(client);
  let lost = false;
  const onRetry = (info: { attempt: number; delayMs: number }) => {
    if (info.attempt === 1) warn(describe(info));
    lost = true;
  };
  const reconnect = <T>(call: () => Promise<T>) =>
    withReconnect(call, onRetry).then((value) => {
      if (lost) warn(`reconnected to ${client.config.url}`);
      lost = false;
      return value;
    });

  if (!options.follow) {
    for (;;) {
      const page = await client.request<{ events: EventInfo[]; last: string | null }>('GET', path, {
        query: { after, limit: 500 },
      });
      for (const event of page.events) print(event);
      if (!page.events.length) return 0;
    }
  }
  for (;;) {
    const streamed = await reconnect(() => stream(client, path, after, print));
    if (!streamed) {
      // A server that cannot stream (API Gateway) answered with a page: long-poll instead.
      const page = await reconnect(() =>
        client.request<{ events: EventInfo[]; last: string | null }>('GET', path, {
          query: { after, limit: 500, waitSeconds: WAIT_SECONDS },
        }),
      );
      for (const event of page.events) print(event);
      if (page.events.length) continue;
    }
    const plan = await reconnect(() => client.request<PlanInfo>('GET', `/v1/plans/${seg(planId)}`));
    if (isTerminalPlan(plan.status)) {
      // Events written just before the plan closed may not have been streamed yet.
      for (;;) {
        const page = await reconnect(() =>
          client.request<{ events: EventInfo[]; last: string | null }>('GET', path, {
            query: { after, limit: 500 },
          }),
        );
        for (const event of page.events) print(event);
        if (!page.events.length) return verdict(plan);
      }
    }
  }
}

/** Reads the NDJSON stream to its end; false when the server answered with a page instead of a stream. */
async function stream(
  client: Client,
  path: string,
  after: string | undefined,
  print: (event: EventInfo) => void,
): Promise<boolean> {
  const response = await client.raw('GET', path, {
    query: { ...(after ? { after } : {}) },
    headers: { accept: 'application/x-ndjson' },
  });
  if (!(response.headers.get('content-type') ?? '').includes('application/x-ndjson') || !response.body) {
    await response.body?.cancel();
    return false;
  }
  let buffered = '';
  try {
    for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) print(JSON.parse(line) as EventInfo);
    }
  } catch (error) {
    throw new Unreachable(`the event stream from ${client.config.url} broke (${(error as Error).message})`);
  }
  return true;
}
