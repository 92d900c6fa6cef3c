/** Plain-text rendering for people: tables, progress bars, one-line events. */
import type { z } from 'zod';
import type { eventSchema, PlanView, TaskStatusInfo } from '../functions/api/schemas.ts';

/** The API's own response shapes (type-only: the CLI ships no server code). */
export type TaskInfo = TaskStatusInfo;
export type PlanInfo = PlanView;
export type EventInfo = z.infer<typeof eventSchema>;

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function bar(percent: number, width = 20): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function taskLine(task: TaskInfo, tenantWidth = 12): string {
  const flags = [
    task.paused && task.status !== 'PAUSED' ? 'pausing' : '',
    task.cancelled && task.status === 'RUNNING' ? 'cancelling' : '',
  ]
    .filter(Boolean)
    .join(',');
  const stage = task.currentStage ? ` ${task.currentStage}` : '';
  return `${task.tenantId.padEnd(tenantWidth)} ${task.status.padEnd(15)} ${bar(task.progressPercent)} ${String(task.progressPercent).padStart(3)}%  ${task.completedStages}/${task.totalStages}${stage}${flags ? ` (${flags})` : ''}`;
}

export function planHeader(plan: PlanInfo): string {
  return `plan ${plan.planId} "${plan.name}" ${plan.status} ${bar(plan.progressPercent, 30)} ${plan.progressPercent}%  (${plan.completedTasks} completed, ${plan.failedTasks} failed, ${plan.cancelledTasks} cancelled, ${plan.rolledBackTasks} rolled back of ${plan.totalTasks})`;
}

export function summaryTable(tasks: readonly TaskInfo[]): string {
  return table(
    ['TENANT', 'TASK', 'STATUS', 'STAGES', 'RETRIES', 'FAILURE'],
    tasks.map((t) => [
      t.tenantId,
      t.taskId,
      t.status,
      `${t.completedStages}/${t.totalStages}`,
      String(t.retryCount),
      t.failureInfo ? `${t.failureInfo.type}: ${t.failureInfo.message}` : '',
    ]),
  );
}

export function eventLine(event: EventInfo): string {
  const subject = event.sequenceType === 'PLAN' ? 'plan' : (event.tenantId ?? 'task');
  const stage = event.currentStage ? ` ${event.currentStage}` : '';
  const progress =
    event.totalStages !== undefined ? ` ${event.completedStages ?? 0}/${event.totalStages}` : '';
  const failure = event.failureInfo ? ` — ${event.failureInfo.message}` : '';
  return `${event.timestamp}  ${subject.padEnd(12)} #${String(event.sequenceId).padEnd(3)} ${event.type.padEnd(22)} ${event.status}${stage}${progress}${failure}`;
}

export function keyValues(entries: readonly [string, unknown][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k.padEnd(width)}  ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join('\n');
}
