/**
 * A task's stages as its events tell them (pure): each attempt with its duration, health answers per
 * endpoint and outcome, each rollback, and which steps of the last attempt ran.
 */
export interface StageEvent {
  type: string;
  timestamp: string;
  taskId?: string;
  currentStage?: string;
  failureInfo?: { type: string; message: string; stage?: string };
  detail?: Record<string, unknown>;
}

export interface EndpointAnswer {
  endpoint: string;
  url: string;
  ok: boolean;
  status?: number;
  version?: string;
  error?: string;
}

export interface Attempt {
  startedAt?: string;
  endedAt?: string;
  outcome: 'running' | 'succeeded' | 'failed';
  rounds?: number;
  answers: EndpointAnswer[];
  failure?: { type: string; message: string };
}

export interface Rollback {
  startedAt: string;
  endedAt?: string;
  outcome: 'running' | 'rolled back' | 'failed';
  version?: string;
  rounds?: number;
  failure?: { type: string; message: string };
}

export type StepState = 'done' | 'failed' | 'running' | 'not reached' | 'unknown';

export interface StageView {
  name: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'rolling back' | 'rolled back' | 'rollback failed';
  attempts: Attempt[];
  rollbacks: Rollback[];
  steps: { name: string; state: StepState }[];
}

/** The step a failure of each type stopped at (FailureType of functions/core/model.ts). */
const FAILED_STEP: Record<string, string> = {
  PROVISION: 'provision',
  BROADCAST: 'broadcast',
  HEALTH_CHECK: 'health-check',
};

function steps(
  withEngine: boolean,
  completed: boolean,
  last: Attempt | undefined,
): { name: string; state: StepState }[] {
  const names = [...(withEngine ? ['provision'] : []), 'config-update', 'broadcast', 'health-check'];
  // A completed stage whose events are no longer kept (TTL) still ran every step.
  if (!last) return names.map((name) => ({ name, state: completed ? 'done' : 'not reached' }));
  if (last.outcome === 'succeeded') return names.map((name) => ({ name, state: 'done' }));
  if (last.outcome === 'running') return names.map((name) => ({ name, state: 'running' }));
  const failedAt = FAILED_STEP[last.failure?.type ?? ''];
  if (!failedAt) return names.map((name) => ({ name, state: 'unknown' }));
  const index = names.indexOf(failedAt);
  return names.map((name, i) => ({
    name,
    state: i < index ? 'done' : i === index ? 'failed' : 'not reached',
  }));
}

const answersOf = (detail: Record<string, unknown> | undefined) =>
  Array.isArray(detail?.answers) ? (detail.answers as EndpointAnswer[]) : [];
const numberOf = (value: unknown) => (typeof value === 'number' ? value : undefined);

export function stageViews(
  stages: readonly string[],
  completed: readonly string[],
  events: readonly StageEvent[],
  /** Stages for which this task started an engine. */
  engineStages: ReadonlySet<string>,
): StageView[] {
  return stages.map((name) => {
    const attempts: Attempt[] = [];
    const rollbacks: Rollback[] = [];
    for (const event of events) {
      if (event.currentStage !== name) continue;
      const open = attempts.at(-1);
      const rollback = rollbacks.at(-1);
      switch (event.type) {
        case 'TaskStageStarted':
          attempts.push({ startedAt: event.timestamp, outcome: 'running', answers: [] });
          break;
        case 'TaskStageSucceeded':
        case 'TaskStageFailed': {
          // A stage that started before a restart may end without its start in this history.
          let attempt = open?.outcome === 'running' ? open : undefined;
          if (!attempt) {
            attempt = { outcome: 'running', answers: [] };
            attempts.push(attempt);
          }
          attempt.endedAt = event.timestamp;
          attempt.outcome = event.type === 'TaskStageSucceeded' ? 'succeeded' : 'failed';
          attempt.answers = answersOf(event.detail);
          attempt.rounds = numberOf(event.detail?.rounds);
          if (event.failureInfo) attempt.failure = event.failureInfo;
          break;
        }
        case 'TaskStageRollingBack':
          rollbacks.push({ startedAt: event.timestamp, outcome: 'running' });
          break;
        case 'TaskStageRolledBack':
        case 'TaskStageRollbackFailed':
          if (rollback?.outcome === 'running') {
            rollback.endedAt = event.timestamp;
            rollback.outcome = event.type === 'TaskStageRolledBack' ? 'rolled back' : 'failed';
            rollback.version = typeof event.detail?.version === 'string' ? event.detail.version : undefined;
            rollback.rounds = numberOf(event.detail?.rounds);
            if (event.failureInfo) rollback.failure = event.failureInfo;
          }
          break;
      }
    }
    const last = attempts.at(-1);
    const lastRollback = rollbacks.at(-1);
    const rolledBackAfter = lastRollback && (!last?.startedAt || lastRollback.startedAt >= last.startedAt);
    let status: StageView['status'] = 'pending';
    if (rolledBackAfter) {
      status =
        lastRollback.outcome === 'running'
          ? 'rolling back'
          : lastRollback.outcome === 'failed'
            ? 'rollback failed'
            : 'rolled back';
    } else if (last?.outcome === 'running') status = 'running';
    else if (last?.outcome === 'failed') status = 'failed';
    else if (completed.includes(name)) status = 'completed';
    return {
      name,
      status,
      attempts,
      rollbacks,
      steps: steps(engineStages.has(name), completed.includes(name), last),
    };
  });
}
