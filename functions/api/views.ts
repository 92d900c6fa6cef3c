/** How plans and tasks are shown to callers (pure). */
import { planCounters } from '../core/decisions.ts';
import type { PlanWithCounts, Task } from '../core/model.ts';
import type { WaveCounts } from '../core/store/plans.ts';
import type { PlanStrategy } from '../core/waves.ts';
import type { PlanView, TaskStatusInfo, WaveView } from './schemas.ts';

/** Where links in a response point. */
export interface Links {
  /** The origin this API is served from (so is its web console, at /console); '' for relative links. */
  apiBase: string;
  /** Executions run on AWS Step Functions, so the AWS console can show them. */
  awsConsole: boolean;
}

/** The Step Functions console page of an execution, in the region named by its ARN. */
export function stepFunctionsConsoleUrl(executionArn: string | undefined): string | null {
  if (!executionArn) return null;
  const region = /^arn:aws[\w-]*:states:([a-z0-9-]+):/.exec(executionArn)?.[1];
  if (!region) return null;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** A page of this project's web console. */
export function consolePageUrl(links: Links, kind: 'plans' | 'tasks', id: string): string {
  return `${links.apiBase}/console/${kind}/${encodeURIComponent(id)}`;
}

function consoleLinks(links: Links, kind: 'plans' | 'tasks', id: string, executionArn: string | undefined) {
  const aws = links.awsConsole ? stepFunctionsConsoleUrl(executionArn) : null;
  return { consoleUrl: consolePageUrl(links, kind, id), ...(aws ? { awsConsoleUrl: aws } : {}) };
}

const percent = (done: number, total: number) => (total ? Math.round((done / total) * 100) : 0);

export function taskStatusInfo(task: Task, links: Links): TaskStatusInfo {
  return {
    taskId: task.taskId,
    planId: task.planId,
    tenantId: task.tenantId,
    ...(task.wave === undefined ? {} : { wave: task.wave }),
    status: task.status,
    currentStage: task.currentStage ?? null,
    completedStages: task.completedStages.length,
    totalStages: task.stages.length,
    progressPercent: percent(task.completedStages.length, task.stages.length),
    stages: task.stages,
    completedStageNames: task.completedStages,
    version: String(task.config.deployUnitVersion),
    ...(task.config.sourceTenantDeployConfig
      ? { fromVersion: String(task.config.sourceTenantDeployConfig.deployUnitVersion) }
      : {}),
    paused: task.paused,
    cancelled: task.cancelled,
    retryCount: task.retryCount,
    recoveryCount: task.recoveryCount ?? 0,
    timestamps: {
      createdAt: task.createdAt,
      ...(task.startedAt ? { startedAt: task.startedAt } : {}),
      updatedAt: task.updatedAt,
      ...(task.endedAt ? { endedAt: task.endedAt } : {}),
      ...(task.lastHeartbeatAt ? { lastHeartbeatAt: task.lastHeartbeatAt } : {}),
    },
    ...(task.failureInfo ? { failureInfo: task.failureInfo } : {}),
    executionArn: task.executionArn ?? null,
    ...consoleLinks(links, 'tasks', task.taskId, task.executionArn),
  };
}

export function planSummary(plan: PlanWithCounts) {
  return {
    planId: plan.planId,
    name: plan.name,
    status: plan.status,
    maxConcurrency: plan.maxConcurrency,
    totalTasks: plan.totalTasks,
    completedTasks: plan.completedTasks,
    failedTasks: plan.failedTasks,
    cancelledTasks: plan.cancelledTasks,
    rolledBackTasks: plan.rolledBackTasks,
    createdAt: plan.createdAt,
    updatedAt: plan.updatedAt,
    ...(plan.startedAt ? { startedAt: plan.startedAt } : {}),
    ...(plan.endedAt ? { endedAt: plan.endedAt } : {}),
    ...(plan.failureInfo ? { failureInfo: plan.failureInfo } : {}),
  };
}

/** The plan with its counts, all from the plan item and its counter items (never a read of every task). */
/** A plan's waves as the API shows them: settings, state and their tasks' outcome counts. */
export function waveViews(strategy: PlanStrategy, counts: WaveCounts): WaveView[] {
  return strategy.waves.map((wave) => {
    const outcome = planCounters(counts[wave.index] ?? {});
    return {
      index: wave.index,
      name: wave.name,
      status: wave.status,
      tenantCount: wave.tenantCount,
      completed: outcome.completedTasks,
      failed: outcome.failedTasks,
      maxConcurrency: wave.maxConcurrency,
      failureThreshold: wave.failureThreshold,
      bakeSeconds: wave.bakeSeconds,
      approval: wave.approval,
      ...(wave.approvedAt ? { approvedAt: wave.approvedAt } : {}),
      ...(wave.startedAt ? { startedAt: wave.startedAt } : {}),
      ...(wave.endedAt ? { endedAt: wave.endedAt } : {}),
      ...(wave.failureInfo ? { failureInfo: wave.failureInfo } : {}),
    };
  });
}

export function planView(
  plan: PlanWithCounts,
  links: Links,
  waves?: { strategy: PlanStrategy; counts: WaveCounts },
): PlanView {
  return {
    ...planSummary(plan),
    sequenceId: plan.seq,
    ...(plan.failureThreshold ? { failureThreshold: plan.failureThreshold } : {}),
    healthCheck: plan.healthCheck,
    broadcastPath: plan.broadcastPath,
    ...(plan.idempotencyKey ? { idempotencyKey: plan.idempotencyKey } : {}),
    counts: plan.counts,
    progressPercent: percent(plan.stagesDone, plan.totalStages),
    executionArn: plan.executionArn ?? null,
    ...consoleLinks(links, 'plans', plan.planId, plan.executionArn),
    ...(waves
      ? {
          waves: waveViews(waves.strategy, waves.counts),
          currentWave: waves.strategy.waves[plan.currentWave ?? 0]?.name ?? null,
          onFailure: waves.strategy.onFailure,
          alarms: waves.strategy.alarms,
        }
      : {}),
  };
}
