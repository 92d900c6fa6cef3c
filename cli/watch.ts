/** `plan watch` and `events --follow`: live views built on the events long-poll and NDJSON stream. */
import { isTerminalPlan } from '../functions/core/model.ts';
import { type Client, seg } from './client.ts';
import {
  type EventInfo,
  eventLine,
  type PlanInfo,
  planHeader,
  summaryTable,
  type TaskInfo,
  taskLine,
} from './render.ts';

export const UNSUCCESSFUL_PLAN = ['FAILED', 'CANCELLED', 'ROLLBACK_FAILED'];
/** Exit code of `plan watch` when the plan ended unsuccessfully. */
export const PLAN_UNSUCCESSFUL_EXIT = 3;

const WAIT_SECONDS = 10;

export interface Output {
  write(text: string): void;
  isTTY: boolean;
  rows?: number;
}

async function snapshot(client: Client, planId: string) {
  const [plan, { tasks }] = await Promise.all([
    client.request<PlanInfo>('GET', `/v1/plans/${seg(planId)}`),
    client.request<{ tasks: TaskInfo[] }>('GET', `/v1/plans/${seg(planId)}/tasks`),
  ]);
  return { plan, tasks };
}

/** Redraws a block of lines in place on a terminal; prints only what changed otherwise. */
function liveView(out: Output) {
  let drawn = 0;
  const seen = new Map<string, string>();
  return (plan: PlanInfo, tasks: readonly TaskInfo[]) => {
    const width = Math.max(6, ...tasks.map((t) => t.tenantId.length));
    if (out.isTTY) {
      const room = Math.max(3, (out.rows ?? 40) - 3);
      const shown = tasks.slice(0, room).map((t) => taskLine(t, width));
      if (tasks.length > room) shown.push(`… and ${tasks.length - room} more task(s)`);
      const lines = [planHeader(plan), ...shown];
      const clear = drawn ? `\x1b[${drawn}A` : '';
      out.write(`${clear}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
      drawn = lines.length;
      return;
    }
    const time = new Date().toISOString().slice(11, 19);
    const header = `plan ${plan.status} ${plan.progressPercent}%`;
    if (seen.get('') !== header) out.write(`${time} ${planHeader(plan)}\n`);
    seen.set('', header);
    for (const task of tasks) {
      const line = taskLine(task, width);
      if (seen.get(task.taskId) !== line) out.write(`${time} ${line}\n`);
      seen.set(task.taskId, line);
    }
  };
}

/** Watches until the plan ends; returns the exit code (non-zero when it ended unsuccessfully). */
export async function watchPlan(client: Client, planId: string, json: boolean, out: Output): Promise<number> {
  const draw = json ? undefined : liveView(out);
  let after: string | undefined;
  for (;;) {
    const { plan, tasks } = await snapshot(client, planId);
    draw?.(plan, tasks);
    if (isTerminalPlan(plan.status)) {
      if (json) out.write(`${JSON.stringify({ plan, tasks }, null, 2)}\n`);
      else {
        out.write(`\n${summaryTable(tasks)}\n`);
        out.write(
          `\nplan ${plan.planId} ended ${plan.status}${plan.failureInfo ? `: ${plan.failureInfo.message}` : ''}\n`,
        );
      }
      return UNSUCCESSFUL_PLAN.includes(plan.status) ? PLAN_UNSUCCESSFUL_EXIT : 0;
    }
    // Wakes as soon as anything happens to the plan (or after WAIT_SECONDS).
    const page = await client.request<{ last: string | null }>('GET', `/v1/plans/${seg(planId)}/events`, {
      query: { after: after ?? String(plan.sequenceId), waitSeconds: WAIT_SECONDS, limit: 500 },
    });
    after = page.last ?? after;
  }
}

/** Prints events: all so far, or (follow) as they happen until the plan ends. */
export async function printEvents(
  client: Client,
  planId: string,
  options: { follow: boolean; json: boolean; after?: string },
  out: Output,
): Promise<void> {
  const print = (event: EventInfo) =>
    out.write(`${options.json ? JSON.stringify(event) : eventLine(event)}\n`);
  const path = `/v1/plans/${seg(planId)}/events`;
  if (options.follow) {
    const response = await client.raw('GET', path, {
      query: { ...(options.after ? { after: options.after } : {}) },
      headers: { accept: 'application/x-ndjson' },
    });
    if ((response.headers.get('content-type') ?? '').includes('application/x-ndjson') && response.body) {
      let buffered = '';
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) print(JSON.parse(line) as EventInfo);
      }
      return;
    }
    // A server that cannot stream (API Gateway) answered with a page: long-poll instead.
    await response.body?.cancel();
  }
  let after = options.after;
  for (;;) {
    const page = await client.request<{ events: EventInfo[]; last: string | null }>('GET', path, {
      query: { after, limit: 500, ...(options.follow ? { waitSeconds: WAIT_SECONDS } : {}) },
    });
    for (const event of page.events) print(event);
    after = page.last ?? after;
    if (page.events.length) continue;
    if (!options.follow) return;
    const plan = await client.request<PlanInfo>('GET', `/v1/plans/${seg(planId)}`);
    if (isTerminalPlan(plan.status)) return;
  }
}
