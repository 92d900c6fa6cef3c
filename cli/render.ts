/** Plain-text rendering for people: tables, durations, progress bars, one-line events. */
import type { z } from 'zod';
import type { eventSchema, PlanView, TaskStatusInfo } from '../functions/api/schemas.ts';
import { padEnd, padStart, paint, paintStatus, type Ui, width } from './ui.ts';

/** The API's own response shapes (type-only: the CLI ships no server code). */
export type TaskInfo = TaskStatusInfo;
export type PlanInfo = PlanView;
export type EventInfo = z.infer<typeof eventSchema>;

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : padEnd(c, widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function bar(percent: number, size = 20): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * size);
  return `[${'#'.repeat(filled)}${'.'.repeat(size - filled)}]`;
}

/** 0.4s, 12s, 3m05s, 2h04m. */
export function duration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

const since = (start: string | undefined, end: string | undefined, now: number) =>
  start ? duration((end ? Date.parse(end) : now) - Date.parse(start)) : '';

/** How long the task has run (or ran): from its start to its end, or to now while it runs. */
export const taskDuration = (task: TaskInfo, now = Date.now()) =>
  since(task.timestamps.startedAt, task.timestamps.endedAt, now);

/** How long the plan has run (or ran). */
export const planElapsed = (plan: PlanInfo, now = Date.now()) =>
  since(plan.startedAt ?? plan.createdAt, plan.endedAt, now);

export const failureText = (failure: { type: string; message: string } | undefined) =>
  failure ? `${failure.type}: ${failure.message}` : '';

/** What is about to happen to a task besides its status. */
function pending(task: TaskInfo): string {
  return [
    task.paused && task.status !== 'PAUSED' ? 'pausing' : '',
    task.cancelled && task.status === 'RUNNING' ? 'cancelling' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** One live row: tenant, status, progress, stage, time so far, then the failure reason or what is pending. */
export function taskLine(
  ui: Pick<Ui, 'color'>,
  task: TaskInfo,
  tenantWidth: number,
  now = Date.now(),
): string {
  const note = failureText(task.failureInfo) || pending(task);
  return [
    padEnd(task.tenantId, tenantWidth),
    padEnd(paintStatus(ui, task.status), 15),
    `${bar(task.progressPercent, 10)} ${padStart(`${task.completedStages}/${task.totalStages}`, 5)}`,
    padEnd(task.currentStage ?? '', 12),
    padStart(taskDuration(task, now), 6),
    note ? paint(ui, task.failureInfo ? 'red' : 'yellow', note) : '',
  ]
    .join(' ')
    .trimEnd();
}

/** The pinned first line: which plan, its status, progress and how long it has run. */
export function planHeader(ui: Pick<Ui, 'color'>, plan: PlanInfo, now = Date.now()): string {
  return `plan ${plan.planId} ${paintStatus(ui, plan.status)} ${bar(plan.progressPercent, 20)} ${plan.progressPercent}%  ${planElapsed(plan, now)}  "${plan.name}"`;
}

/** A plan's waves in order, each with its status and finished tasks; nothing for a plan without a strategy. */
export function wavesLine(ui: Pick<Ui, 'color'>, plan: PlanInfo): string[] {
  if (!plan.waves?.length) return [];
  const waves = plan.waves.map(
    (w) =>
      `${w.name === plan.currentWave ? '▸' : ''}${w.name} ${paintStatus(ui, w.status)} ${w.completed + w.failed}/${w.tenantCount}${w.failed ? ` (${w.failed} failed)` : ''}`,
  );
  const waiting = plan.waves.find((w) => w.status === 'AWAITING_APPROVAL');
  return [
    `waves: ${waves.join('  ')}`,
    ...(waiting ? [`wave ${waiting.name} waits for approval: rollout plan approve ${plan.planId}`] : []),
  ];
}

/** Tasks per status, as the API counts them: each task in exactly one status. */
export function countsLine(plan: PlanInfo): string {
  const entries = Object.entries(plan.counts).filter(([, n]) => n > 0);
  const parts = entries.map(([status, n]) => `${n} ${status.toLowerCase().replace('_', ' ')}`);
  return `${plan.totalTasks} task(s): ${parts.join(', ') || 'none yet'}`;
}

/** A task's columns after its tenant (and task id) in a summary: STATUS, VERSION, STAGES, TIME, RETRIES, FAILURE. */
export const TASK_COLUMNS = ['STATUS', 'VERSION', 'STAGES', 'TIME', 'RETRIES', 'FAILURE'] as const;

export function taskCells(ui: Pick<Ui, 'color'>, t: TaskInfo, now: number): string[] {
  return [
    paintStatus(ui, t.status),
    versionChange(t),
    `${t.completedStages}/${t.totalStages}`,
    taskDuration(t, now),
    String(t.retryCount),
    failureText(t.failureInfo),
  ];
}

export function summaryTable(ui: Pick<Ui, 'color'>, tasks: readonly TaskInfo[], now = Date.now()): string {
  return table(
    ['TENANT', 'TASK', ...TASK_COLUMNS],
    tasks.map((t) => [t.tenantId, t.taskId, ...taskCells(ui, t, now)]),
  );
}

/** `1 → 2`, or `→ 2` when the plan did not say what the tenant ran before. */
export const versionChange = (task: TaskInfo) =>
  task.fromVersion ? `${task.fromVersion} → ${task.version}` : `→ ${task.version}`;

export function eventLine(ui: Pick<Ui, 'color'>, event: EventInfo): string {
  const subject = event.sequenceType === 'PLAN' ? 'plan' : (event.tenantId ?? 'task');
  const stage = event.currentStage ? ` ${event.currentStage}` : '';
  const progress =
    event.totalStages !== undefined ? ` ${event.completedStages ?? 0}/${event.totalStages}` : '';
  const failure = event.failureInfo ? paint(ui, 'red', ` — ${failureText(event.failureInfo)}`) : '';
  return `${event.timestamp}  ${padEnd(subject, 12)} #${String(event.sequenceId).padEnd(3)} ${event.type.padEnd(22)} ${paintStatus(ui, event.status)}${stage}${progress}${failure}`;
}

export function keyValues(entries: readonly [string, unknown][]): string {
  const shown = entries.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const keyWidth = Math.max(...shown.map(([k]) => k.length));
  return shown
    .map(([k, v]) => `${k.padEnd(keyWidth)}  ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}
