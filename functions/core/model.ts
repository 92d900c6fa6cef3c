/** Statuses, event types and the shapes of the items the store keeps. */
import type { HealthCheckSettings, TenantDeployConfig } from './schemas.ts';

export const PLAN_STATUSES = [
  'CREATING',
  'CREATED',
  'RUNNING',
  'PAUSED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'ROLLING_BACK',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export const TASK_STATUSES = [
  'CREATED',
  'VALIDATED',
  'PENDING',
  'RUNNING',
  'PAUSED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'ROLLING_BACK',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses after which nothing runs until an operator acts (retry / rollback). */
export const TERMINAL_TASK_STATUSES = [
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
] as const satisfies readonly TaskStatus[];
export type TerminalTaskStatus = (typeof TERMINAL_TASK_STATUSES)[number];
export const TERMINAL_PLAN_STATUSES: readonly PlanStatus[] = [
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
  'ROLLBACK_FAILED',
];

export const isTerminalTask = (status: TaskStatus): status is TerminalTaskStatus =>
  (TERMINAL_TASK_STATUSES as readonly TaskStatus[]).includes(status);
export const isTerminalPlan = (status: PlanStatus) => TERMINAL_PLAN_STATUSES.includes(status);

export const PLAN_EVENT_TYPES = [
  'PlanStarted',
  'PlanPaused',
  'PlanResumed',
  'PlanProgress',
  'PlanCompleted',
  'PlanFailed',
  'PlanCancelled',
  'PlanRollingBack',
  'PlanRolledBack',
  'PlanRollbackFailed',
  'PlanWaveStarted',
  'PlanWaveAwaitingApproval',
  'PlanWaveApproved',
  'PlanWaveBaking',
  'PlanWaveCompleted',
  'PlanWaveFailed',
] as const;
export const TASK_EVENT_TYPES = [
  'TaskCreated',
  'TaskValidated',
  'TaskStarted',
  'TaskPaused',
  'TaskResumed',
  'TaskCompleted',
  'TaskFailed',
  'TaskCancelled',
  'TaskStageStarted',
  'TaskStageSucceeded',
  'TaskStageFailed',
  'TaskRetryStarted',
  'TaskRetryCompleted',
  'TaskRollingBack',
  'TaskRolledBack',
  'TaskRollbackFailed',
  'TaskStageRollingBack',
  'TaskStageRolledBack',
  'TaskStageRollbackFailed',
  'TaskHeartbeat',
] as const;
export type PlanEventType = (typeof PLAN_EVENT_TYPES)[number];
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];
export type EventType = PlanEventType | TaskEventType;

export const EVENT_SOURCE = 'tenant-rollout';

export type FailureType =
  | 'VALIDATION'
  | 'BROADCAST'
  | 'HEALTH_CHECK'
  | 'PROVISION'
  | 'LOCK'
  | 'TIMEOUT'
  | 'FAILURE_THRESHOLD'
  | 'CANCELLED'
  | 'ROLLBACK'
  | 'EXECUTION_LOST'
  | 'TASKS_FAILED'
  | 'WAVE_FAILED'
  | 'BAKE_REGRESSION'
  | 'ALARM'
  | 'WAVE_HALTED'
  | 'INTERNAL';

export interface FailureInfo {
  type: FailureType;
  message: string;
  stage?: string;
  /** The wave that failed (or, for WAVE_HALTED, the wave that halted the plan). */
  wave?: string;
}

export interface RolloutEvent {
  eventId: string;
  type: EventType;
  planId: string;
  taskId?: string;
  tenantId?: string;
  sequenceType: 'PLAN' | 'TASK';
  sequenceId: number;
  timestamp: string;
  status: string;
  currentStage?: string;
  completedStages?: number;
  totalStages?: number;
  failureInfo?: FailureInfo;
  /** Event-specific details (fromCheckpoint, success, progress counts, ...). */
  detail?: Record<string, unknown>;
}

/** Outcome counts shown with a plan (see decisions.ts planCounters); never stored on the plan item. */
export interface PlanCounters {
  completedTasks: number;
  failedTasks: number;
  cancelledTasks: number;
  rolledBackTasks: number;
}

/** The plan item: constant size, whatever the number of tasks (tasks are found from {planId, index}). */
export interface Plan {
  totalTasks: number;
  /** Stages over all tasks, for progress. */
  totalStages: number;
  planId: string;
  name: string;
  status: PlanStatus;
  maxConcurrency: number;
  failureThreshold?: FailureThreshold;
  healthCheck: HealthCheckSettings;
  broadcastPath: string;
  provisionTimeoutSeconds: number;
  idempotencyKey?: string;
  seq: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  executionArn?: string;
  /** Which start of the plan machine this is (a recovered plan gets a new execution). */
  attempt: number;
  /** Set once the plan machine has started every task; the last task to finish then closes the plan. */
  mapFinished?: boolean;
  /** Finished tasks at the last PlanProgress event. */
  reportedProgress?: number;
  failureInfo?: FailureInfo;
  /** How many waves the plan's strategy has (their state lives in the plan's STRATEGY item). */
  waveCount?: number;
  /** The wave the plan is at (0-based). */
  currentWave?: number;
}

/** A plan with the counts its counter items hold (summed on read). */
export interface PlanWithCounts extends Plan, PlanCounters {
  /** Tasks per status (statuses no task has are left out). */
  counts: Partial<Record<TaskStatus, number>>;
  /** Completed stages over all tasks. */
  stagesDone: number;
}

/** Count of failed tasks, or a percentage of all tasks, that may fail before the plan stops starting tasks. */
export type FailureThreshold = { count: number } | { percent: number };

export interface Task {
  taskId: string;
  planId: string;
  tenantId: string;
  /** Position in the plan request; tasks start in this order. */
  index: number;
  /** The wave it belongs to (0-based), when the plan has a strategy. */
  wave?: number;
  status: TaskStatus;
  config: TenantDeployConfig;
  stages: string[];
  completedStages: string[];
  currentStage?: string;
  paused: boolean;
  cancelled: boolean;
  /** Operator retries (at most DEFAULTS.maxRetries). */
  retryCount: number;
  /** Recoveries of a lost execution; unlimited, and they spend no retry. */
  recoveryCount?: number;
  /** When the last recovery happened (the next one backs off from here). */
  recoveredAt?: string;
  seq: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  lastHeartbeatAt?: string;
  executionArn?: string;
  /** When an operator action or a recovery recorded `executionArn`, just before starting it. */
  handedOverAt?: string;
  /** Set while the task is parked waiting for resume. */
  pauseToken?: string;
  /** The execution that emitted TaskStageStarted for `currentStage` (so a re-entry does not emit it twice). */
  stageStartedBy?: string;
  /** When `currentStage` started (its duration is measured from here). */
  stageStartedAt?: string;
  /** Fencing token of the tenant lock this task holds. */
  fencingToken?: number;
  /** Stages whose previous config was restored by the current rollback. */
  rolledBackStages?: string[];
  rollbackCount?: number;
  failureInfo?: FailureInfo;
}

export interface TenantLock {
  tenantId: string;
  ownerTaskId: string;
  ownerPlanId: string;
  /** Epoch milliseconds. */
  leaseExpiresAt: number;
  fencingToken: number;
}

export interface TenantServiceConfig {
  tenantId: string;
  service: string;
  version?: string;
  config: TenantDeployConfig;
  /** The config that was current before this one (the rollback snapshot). */
  previous?: TenantDeployConfig;
  taskId: string;
  updatedAt: string;
}

export const ENGINE_STATES = ['provisioning', 'ready', 'draining', 'stopped', 'failed'] as const;
export type EngineState = (typeof ENGINE_STATES)[number];

export interface EngineRecord {
  tenantId: string;
  service: string;
  engineId: string;
  state: EngineState;
  version?: string;
  endpoint?: string;
  /** The ECS task ARN (locally: the child process' task ARN from the local ECS endpoint). */
  taskArn?: string;
  /** The rollout task that started it. */
  taskId?: string;
  /** When a replaced engine may be stopped. */
  drainAfter?: string;
  createdAt: string;
  updatedAt: string;
}
