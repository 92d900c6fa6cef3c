/**
 * Engines as ECS reports them. `runTask.waitForTaskToken` keeps waiting when the
 * container dies, so a STOPPED engine task whose hand-off is still awaited fails
 * that wait itself, and the registry follows what ECS saw.
 */
import { SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { type EngineSpec, engineForFamily } from '../../../engines/catalog.ts';
import type { Deps } from '../deps.ts';
import type { EngineRecord } from '../model.ts';

/** The error the provision step fails with when the engine exits before its hand-off. */
export const ENGINE_EXITED = 'EngineExited';
export const ECS_TASK_STATE_CHANGE = 'ECS Task State Change';
export const ECS_EVENT_SOURCE = 'aws.ecs';

/** The fields of an `ECS Task State Change` detail this module reads. */
export interface EcsTaskDetail {
  taskArn?: string;
  taskDefinitionArn?: string;
  lastStatus?: string;
  stopCode?: string;
  stoppedReason?: string;
  overrides?: {
    containerOverrides?: { name?: string; environment?: { name?: string; value?: string }[] }[];
  };
  containers?: { name?: string; exitCode?: number; reason?: string }[];
}

export interface StoppedEngine {
  spec: EngineSpec;
  engineId: string;
  tenantId: string;
  service: string;
  taskToken: string;
  taskArn?: string;
  exitCode?: number;
  stoppedReason: string;
  /** StopTask ended it (drain, rollback, timeout), not the engine itself. */
  stoppedByUser: boolean;
}

/** `arn:...:task-definition/family:revision` → family. */
const familyOf = (taskDefinitionArn: string) =>
  (taskDefinitionArn.split('task-definition/')[1] ?? taskDefinitionArn).split(':')[0];

/** A stopped task of a catalog family that was launched by the provision step; undefined for anything else. */
export function stoppedEngine(detail: EcsTaskDetail): StoppedEngine | undefined {
  if (detail.lastStatus !== 'STOPPED' || !detail.taskDefinitionArn) return undefined;
  const family = familyOf(detail.taskDefinitionArn);
  const spec = family ? engineForFamily(family) : undefined;
  if (!spec) return undefined;
  const env = new Map(
    (detail.overrides?.containerOverrides ?? []).flatMap((o) =>
      (o.environment ?? []).map((e) => [e.name, e.value] as const),
    ),
  );
  const taskToken = env.get('TASK_TOKEN');
  const engineId = env.get('ENGINE_ID');
  const tenantId = env.get('TENANT_ID');
  const service = env.get('SERVICE_NAME') ?? spec.service;
  if (!taskToken || !engineId || !tenantId) return undefined;
  const container = detail.containers?.find((c) => c.name === spec.containerName) ?? detail.containers?.[0];
  return {
    spec,
    engineId,
    tenantId,
    service,
    taskToken,
    ...(detail.taskArn ? { taskArn: detail.taskArn } : {}),
    ...(container?.exitCode !== undefined ? { exitCode: container.exitCode } : {}),
    stoppedReason: container?.reason ?? detail.stoppedReason ?? 'no reason given',
    stoppedByUser: detail.stopCode === 'UserInitiated',
  };
}

export function exitCause(engine: StoppedEngine): string {
  const code = engine.exitCode === undefined ? 'without an exit code' : `with code ${engine.exitCode}`;
  return `engine ${engine.engineId} for ${engine.service} exited ${code} before hand-off: ${engine.stoppedReason}`;
}

/** The token was already used (the engine handed off) or its state is over: nobody waits any more. */
const TOKEN_GONE = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

export type EngineStoppedOutcome =
  | { action: 'IGNORED' }
  | { action: 'HAND_OFF_FAILED' | 'RECORDED'; engineId: string; state?: EngineRecord['state'] };

export async function engineStopped(deps: Deps, detail: EcsTaskDetail): Promise<EngineStoppedOutcome> {
  const engine = stoppedEngine(detail);
  if (!engine) return { action: 'IGNORED' };
  const key = { tenantId: engine.tenantId, service: engine.service, engineId: engine.engineId };
  const record = (await deps.store.listEngines(engine.tenantId)).find(
    (e) => e.engineId === engine.engineId && e.service === engine.service,
  );
  const arn = engine.taskArn ? { taskArn: engine.taskArn } : {};

  if (!record || record.state === 'provisioning') {
    let waiting = true;
    try {
      await deps.sfn.send(
        new SendTaskFailureCommand({
          taskToken: engine.taskToken,
          error: ENGINE_EXITED,
          cause: exitCause(engine),
        }),
      );
    } catch (error) {
      if (!TOKEN_GONE.has((error as Error).name)) throw error;
      waiting = false;
    }
    if (record) await deps.store.updateEngine(key, 'failed', arn, ['provisioning']);
    return {
      action: waiting ? 'HAND_OFF_FAILED' : 'RECORDED',
      engineId: engine.engineId,
      ...(record ? { state: 'failed' as const } : {}),
    };
  }
  if (record.state === 'ready' || record.state === 'draining') {
    // A retiring engine is done either way; a serving one that died on its own has failed.
    const state = record.state === 'draining' || engine.stoppedByUser ? 'stopped' : 'failed';
    await deps.store.updateEngine(key, state, arn, [record.state]);
    return { action: 'RECORDED', engineId: engine.engineId, state };
  }
  // Already failed or stopped by whoever stopped it; an engine that never handed off only now shows its ARN.
  if (!record.taskArn && engine.taskArn)
    await deps.store.updateEngine(key, record.state, arn, [record.state]);
  return { action: 'RECORDED', engineId: engine.engineId, state: record.state };
}

/** Thrown when an engine's hand-off arrives for an engine ECS already saw stop. */
export class EngineExited extends Error {
  constructor(message: string) {
    super(message);
    this.name = ENGINE_EXITED;
  }
}
