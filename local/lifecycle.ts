/**
 * What `npm start` prints while plans run: one short line per plan or task
 * lifecycle event from the bus, filtered by ROLLOUT_LOG_LEVEL.
 */
import type { RolloutEvent } from '../functions/core/model.ts';

export const CONSOLE_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type ConsoleLevel = (typeof CONSOLE_LEVELS)[number];
type LineLevel = Exclude<ConsoleLevel, 'silent'>;

export const CONSOLE_LEVEL_ENV = 'ROLLOUT_LOG_LEVEL';

export function consoleLevel(raw: string | undefined): ConsoleLevel {
  if (raw === undefined || raw === '') return 'info';
  const level = raw.toLowerCase();
  if (!(CONSOLE_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`${CONSOLE_LEVEL_ENV} must be one of ${CONSOLE_LEVELS.join(', ')}, got "${raw}"`);
  }
  return level as ConsoleLevel;
}

const rank = (level: ConsoleLevel) => CONSOLE_LEVELS.indexOf(level);

/** The level of each event type worth a line; others (heartbeats, progress, creation) print nothing. */
const LINES: Partial<Record<RolloutEvent['type'], [LineLevel, string]>> = {
  PlanStarted: ['info', 'started'],
  PlanPaused: ['info', 'paused'],
  PlanResumed: ['info', 'resumed'],
  PlanCompleted: ['info', 'completed'],
  PlanFailed: ['error', 'failed'],
  PlanCancelled: ['warn', 'cancelled'],
  PlanRollingBack: ['info', 'rolling back'],
  PlanRolledBack: ['info', 'rolled back'],
  PlanRollbackFailed: ['error', 'rollback failed'],
  PlanWaveStarted: ['info', 'started'],
  PlanWaveBaking: ['info', 'baking'],
  PlanWaveAwaitingApproval: ['warn', 'awaits approval'],
  PlanWaveApproved: ['info', 'approved'],
  PlanWaveCompleted: ['info', 'completed'],
  PlanWaveFailed: ['error', 'failed'],
  TaskStarted: ['info', 'started'],
  TaskPaused: ['info', 'paused'],
  TaskResumed: ['info', 'resumed'],
  TaskCompleted: ['info', 'completed'],
  TaskFailed: ['error', 'failed'],
  TaskCancelled: ['warn', 'cancelled'],
  TaskRetryStarted: ['info', 'retry started'],
  TaskRollingBack: ['info', 'rolling back'],
  TaskRolledBack: ['info', 'rolled back'],
  TaskRollbackFailed: ['error', 'rollback failed'],
  TaskStageStarted: ['debug', 'started'],
  TaskStageSucceeded: ['debug', 'succeeded'],
  TaskStageFailed: ['warn', 'failed'],
  TaskStageRolledBack: ['debug', 'rolled back'],
  TaskStageRollbackFailed: ['warn', 'rollback failed'],
};

/** One line for the event, or nothing when its level is below `level`. */
export function lifecycleLine(event: RolloutEvent, level: ConsoleLevel): string | undefined {
  const line = LINES[event.type];
  if (!line || rank(line[0]) < rank(level)) return undefined;
  const [, what] = line;
  const time = event.timestamp.slice(11, 19);
  const reason = event.failureInfo ? `: ${event.failureInfo.message}` : '';
  if (event.sequenceType === 'PLAN') {
    const total = event.detail?.totalTasks;
    const tasks =
      event.type === 'PlanStarted' && typeof total === 'number'
        ? ` (${total} task${total === 1 ? '' : 's'})`
        : '';
    const wave = (event.detail?.wave as { name?: string } | undefined)?.name;
    const approve =
      event.type === 'PlanWaveAwaitingApproval' ? ` (rollout plan approve ${event.planId})` : '';
    return `${time} plan ${event.planId} ${wave === undefined ? '' : `wave ${wave} `}${what}${tasks}${approve}${reason}`;
  }
  const subject = event.type.startsWith('TaskStage') ? `stage ${event.currentStage ?? '?'} ` : '';
  const task = event.type === 'TaskStarted' ? ` (task ${event.taskId})` : '';
  return `${time} ${event.tenantId ?? event.taskId} ${subject}${what}${task}${reason}`;
}
