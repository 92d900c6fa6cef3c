/**
 * The allowed status transitions of tasks and plans, with their guards and the
 * event each one emits. The store's `transition` applies them atomically; this
 * module only decides.
 */
import { IllegalTransition } from './errors.ts';
import type {
  EventType,
  PlanEventType,
  PlanStatus,
  Task,
  TaskEventType,
  TaskStatus,
  TerminalTaskStatus,
} from './model.ts';
import { DEFAULTS } from './settings.ts';

interface Rule<S extends string, E extends EventType, Subject> {
  from: readonly S[];
  /** `undefined` keeps the current status (stage events, heartbeats, progress). */
  to?: S;
  event: E | null;
  /** Returns a reason when the transition is refused. */
  guard?: (subject: Subject) => string | undefined;
  /** The operator's word for it, in refusals (a request to pause is refused as "cannot pause"). */
  verb?: string;
}

const ACTIVE: readonly TaskStatus[] = ['CREATED', 'VALIDATED', 'PENDING', 'RUNNING', 'PAUSED'];
const STARTED: readonly TaskStatus[] = ['RUNNING', 'PAUSED'];
/** Not paused yet: a pause request is a flag the task honours at its next stage boundary. */
const PAUSABLE: readonly TaskStatus[] = ['CREATED', 'VALIDATED', 'PENDING', 'RUNNING'];

export const TASK_RULES = {
  validate: { from: ['CREATED'], to: 'VALIDATED', event: 'TaskValidated' },
  wait: { from: ['VALIDATED', 'PENDING'], to: 'PENDING', event: null },
  start: { from: ['VALIDATED', 'PENDING'], to: 'RUNNING', event: 'TaskStarted' },
  /** An operator asks for a pause; the task pauses at its next stage boundary. */
  requestPause: { from: PAUSABLE, event: null, verb: 'pause' },
  /** An operator withdraws a pause request the task has not reached yet. */
  withdrawPause: {
    from: PAUSABLE,
    event: null,
    verb: 'resume',
    guard: (task) => (task.paused ? undefined : 'it is not paused'),
  },
  pause: { from: ['RUNNING'], to: 'PAUSED', event: 'TaskPaused' },
  resume: { from: ['PAUSED'], to: 'RUNNING', event: 'TaskResumed' },
  /** A running task is cancelled at its next stage boundary; any other active task is cancelled now. */
  requestCancel: { from: ['RUNNING'], event: null, verb: 'cancel' },
  complete: { from: ['RUNNING'], to: 'COMPLETED', event: 'TaskCompleted' },
  fail: { from: ['CREATED', 'VALIDATED', 'PENDING', 'RUNNING', 'PAUSED'], to: 'FAILED', event: 'TaskFailed' },
  cancel: { from: ACTIVE, to: 'CANCELLED', event: 'TaskCancelled' },
  retry: {
    from: ['FAILED'],
    to: 'PENDING',
    event: 'TaskRetryStarted',
    guard: (task) =>
      task.retryCount >= DEFAULTS.maxRetries ? `retry limit (${DEFAULTS.maxRetries}) reached` : undefined,
  },
  /**
   * A task whose execution died resumes from its checkpoint (decisions.ts: recoveryChange). Not
   * an operator's retry: no limit, it spends none of the task's retries.
   */
  recover: { from: ['VALIDATED', 'PENDING', 'RUNNING', 'PAUSED'], to: 'PENDING', event: 'TaskRetryStarted' },
  retryCompleted: { from: ['COMPLETED', 'FAILED'], event: 'TaskRetryCompleted' },
  stageStarted: { from: ['RUNNING'], event: 'TaskStageStarted' },
  stageSucceeded: { from: ['RUNNING'], event: 'TaskStageSucceeded' },
  stageFailed: { from: ['RUNNING'], event: 'TaskStageFailed' },
  heartbeat: { from: STARTED, event: 'TaskHeartbeat' },
  rollback: {
    from: ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLBACK_FAILED'],
    to: 'ROLLING_BACK',
    event: 'TaskRollingBack',
    guard: (task) =>
      task.completedStages.length === 0 && task.currentStage === undefined
        ? 'nothing was changed'
        : undefined,
  },
  /** A rollback whose execution died resumes from the stages it restored, as a lost task does (`recover`). */
  recoverRollback: { from: ['ROLLING_BACK'], event: 'TaskRetryStarted' },
  stageRollingBack: { from: ['ROLLING_BACK'], event: 'TaskStageRollingBack' },
  stageRolledBack: { from: ['ROLLING_BACK'], event: 'TaskStageRolledBack' },
  stageRollbackFailed: { from: ['ROLLING_BACK'], event: 'TaskStageRollbackFailed' },
  rolledBack: { from: ['ROLLING_BACK'], to: 'ROLLED_BACK', event: 'TaskRolledBack' },
  rollbackFailed: { from: ['ROLLING_BACK'], to: 'ROLLBACK_FAILED', event: 'TaskRollbackFailed' },
} as const satisfies Record<string, Rule<TaskStatus, TaskEventType, TaskGuardView>>;

export type TaskOperation = keyof typeof TASK_RULES;

/** The operations that move a task into a terminal status (orchestration/end-task.ts runs them). */
export type EndingOperation = {
  [Op in TaskOperation]: (typeof TASK_RULES)[Op] extends { to: infer To }
    ? To extends TerminalTaskStatus
      ? Op
      : never
    : never;
}[TaskOperation];
export type TaskGuardView = Pick<Task, 'retryCount' | 'completedStages' | 'currentStage' | 'paused'>;

const LIVE_PLAN: readonly PlanStatus[] = ['RUNNING', 'PAUSED'];

export const PLAN_RULES = {
  /** A plan created asynchronously has every task written. */
  created: { from: ['CREATING'], to: 'CREATED', event: null },
  start: { from: ['CREATED'], to: 'RUNNING', event: 'PlanStarted' },
  pause: { from: ['RUNNING'], to: 'PAUSED', event: 'PlanPaused' },
  resume: { from: ['PAUSED'], to: 'RUNNING', event: 'PlanResumed' },
  progress: {
    from: [
      'RUNNING',
      'PAUSED',
      'ROLLING_BACK',
      'FAILED',
      'CANCELLED',
      'COMPLETED',
      'ROLLED_BACK',
      'ROLLBACK_FAILED',
    ],
    event: 'PlanProgress',
  },
  complete: { from: ['RUNNING', 'PAUSED'], to: 'COMPLETED', event: 'PlanCompleted' },
  fail: { from: ['CREATING', 'CREATED', 'RUNNING', 'PAUSED'], to: 'FAILED', event: 'PlanFailed' },
  cancel: { from: ['CREATED', 'RUNNING', 'PAUSED'], to: 'CANCELLED', event: 'PlanCancelled' },
  /** Retrying failed tasks reopens a finished plan. */
  reopen: {
    from: ['FAILED', 'CANCELLED', 'COMPLETED', 'ROLLBACK_FAILED'],
    to: 'RUNNING',
    event: 'PlanStarted',
  },
  rollback: {
    from: ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLBACK_FAILED'],
    to: 'ROLLING_BACK',
    event: 'PlanRollingBack',
  },
  rolledBack: { from: ['ROLLING_BACK'], to: 'ROLLED_BACK', event: 'PlanRolledBack' },
  rollbackFailed: { from: ['ROLLING_BACK'], to: 'ROLLBACK_FAILED', event: 'PlanRollbackFailed' },
  /** A wave's steps (DESIGN.md "Waves"): events on the plan's sequence, the plan's status unchanged. */
  waveAwaitingApproval: { from: LIVE_PLAN, event: 'PlanWaveAwaitingApproval' },
  waveApproved: { from: LIVE_PLAN, event: 'PlanWaveApproved', verb: 'approve' },
  waveStarted: { from: LIVE_PLAN, event: 'PlanWaveStarted' },
  waveBaking: { from: LIVE_PLAN, event: 'PlanWaveBaking' },
  waveCompleted: { from: LIVE_PLAN, event: 'PlanWaveCompleted' },
  waveFailed: { from: LIVE_PLAN, event: 'PlanWaveFailed' },
} as const satisfies Record<string, Rule<PlanStatus, PlanEventType, unknown>>;

export type PlanOperation = keyof typeof PLAN_RULES;

export interface Decision<S extends string, E extends EventType> {
  from: S;
  to: S;
  event: E | null;
}

export function decideTask(
  taskId: string,
  operation: TaskOperation,
  task: TaskGuardView & { status: TaskStatus },
): Decision<TaskStatus, TaskEventType> {
  const rule: Rule<TaskStatus, TaskEventType, TaskGuardView> = TASK_RULES[operation];
  const verb = rule.verb ?? operation;
  if (!rule.from.includes(task.status)) throw new IllegalTransition('TASK', taskId, task.status, verb);
  const refusal = rule.guard?.(task);
  if (refusal) throw new IllegalTransition('TASK', taskId, task.status, verb, refusal);
  return { from: task.status, to: rule.to ?? task.status, event: rule.event };
}

export function decidePlan(
  planId: string,
  operation: PlanOperation,
  plan: { status: PlanStatus },
): Decision<PlanStatus, PlanEventType> {
  const rule: Rule<PlanStatus, PlanEventType, unknown> = PLAN_RULES[operation];
  if (!rule.from.includes(plan.status))
    throw new IllegalTransition('PLAN', planId, plan.status, rule.verb ?? operation);
  return { from: plan.status, to: rule.to ?? plan.status, event: rule.event };
}

/** Why the table refuses `operation` on the task (`undefined`: it allows it). */
export function taskRefusal(
  operation: TaskOperation,
  task: TaskGuardView & { status: TaskStatus },
): string | undefined {
  const rule: Rule<TaskStatus, TaskEventType, TaskGuardView> = TASK_RULES[operation];
  if (!rule.from.includes(task.status)) return `it is ${task.status}`;
  return rule.guard?.(task);
}

export const canTask = (operation: TaskOperation, task: TaskGuardView & { status: TaskStatus }) =>
  taskRefusal(operation, task) === undefined;
