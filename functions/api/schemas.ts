/**
 * Request and response shapes of the HTTP API. The route table points at these; the
 * handlers return values of these types; the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import {
  ENGINE_STATES,
  PLAN_EVENT_TYPES,
  PLAN_STATUSES,
  TASK_EVENT_TYPES,
  TASK_STATUSES,
} from '../core/model.ts';
import { WAVE_STATUSES } from '../core/waves.ts';

const planStatus = z.enum(PLAN_STATUSES);
const taskStatus = z.enum(TASK_STATUSES);

/** Ids are looked up, never trusted: an id of the wrong shape is simply not found. */
const id = z.string().min(1, 'must not be empty').max(128, 'at most 128 characters');

// ---- path parameters ----------------------------------------------------------------------------
export const planParams = z.strictObject({ planId: id });
export const taskParams = z.strictObject({ taskId: id });
export const tenantParams = z.strictObject({ tenantId: id });

// ---- query strings (every value arrives as a string) -----------------------------------------------
const booleanFlag = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((value) => value === 'true');
const integerIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `at least ${min}`).max(max, `at most ${max}`));

export const listPlansQuery = z.strictObject({
  status: planStatus.optional(),
  limit: integerIn(1, 100).optional(),
  cursor: z.string().max(2048, 'at most 2048 characters').optional(),
});

export const deletePlanQuery = z.strictObject({
  force: booleanFlag.optional(),
  dryRun: booleanFlag.optional(),
});

/** `after` is an eventId (a ULID) or a number meaning the plan's sequenceId. */
export const eventsQuery = z.strictObject({
  after: z
    .string()
    .regex(/^(\d{1,10}|[0-9A-HJKMNP-TV-Z]{26})$/, 'must be a plan sequenceId (a number) or an eventId')
    .optional(),
  waitSeconds: integerIn(0, 20).optional(),
  limit: integerIn(1, 500).optional(),
});

export const enginesQuery = z.strictObject({ tenantId: id.optional() });

export const executionQuery = z.strictObject({
  nextToken: z.string().min(1, 'must not be empty').max(4096, 'at most 4096 characters').optional(),
});

/** `{path+}` of the console routes: the page or asset below /console. */
export const consoleParams = z.strictObject({
  path: z.string().max(512, 'at most 512 characters'),
});

/** A page of a plan's tasks in request order, optionally one status or tenants whose id starts with `tenant`. */
export const listTasksQuery = z.strictObject({
  limit: integerIn(1, 1000).optional(),
  cursor: z.string().max(2048, 'at most 2048 characters').optional(),
  status: taskStatus.optional(),
  tenant: id.optional(),
});

// ---- request bodies --------------------------------------------------------------------------------
export const idempotencyKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'at most 128 characters')
  .regex(/^[\x21-\x7e]+$/, 'only printable ASCII without spaces');

// ---- responses --------------------------------------------------------------------------------------
export const errorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
});

export const failureInfoSchema = z.object({
  type: z.string(),
  message: z.string(),
  stage: z.string().optional(),
  wave: z.string().optional(),
});

export const taskCreationResultSchema = z.object({
  planId: z.string(),
  taskIds: z.array(z.string()),
  validatedCount: z.number().int(),
  status: planStatus,
  message: z.string(),
  failureInfo: failureInfoSchema.optional(),
});
export type TaskCreationResult = z.infer<typeof taskCreationResultSchema>;

export const lockConflictSchema = z.object({
  tenantId: z.string(),
  heldByTaskId: z.string(),
  heldByPlanId: z.string(),
  leaseExpiresAt: z.string(),
});

export const dryRunResultSchema = z.object({
  dryRun: z.literal(true),
  message: z.string(),
  settings: z.object({
    name: z.string(),
    maxConcurrency: z.number().int(),
    healthCheck: z.object({
      intervalSeconds: z.number(),
      maxAttempts: z.number().int(),
      path: z.string(),
      versionKey: z.string(),
      timeoutSeconds: z.number(),
    }),
    broadcastPath: z.string(),
  }),
  tasks: z.array(
    z.object({
      index: z.number().int(),
      tenantId: z.string(),
      version: z.string(),
      stages: z.array(z.string()),
      /** The wave it is in, when the plan has a strategy. */
      wave: z.string().optional(),
      /** Per service: what the new config changes against the tenant's current config. */
      changes: z.array(
        z.object({
          service: z.string(),
          currentVersion: z.string().optional(),
          changes: z.array(
            z.object({ field: z.string(), from: z.unknown().optional(), to: z.unknown().optional() }),
          ),
        }),
      ),
      lockConflict: lockConflictSchema.optional(),
    }),
  ),
  /** Each wave in the order it would run, with its resolved settings and its tenants. */
  waves: z
    .array(
      z.object({
        index: z.number().int(),
        name: z.string(),
        tenantCount: z.number().int(),
        maxConcurrency: z.number().int(),
        failureThreshold: z.union([z.object({ count: z.number() }), z.object({ percent: z.number() })]),
        bakeSeconds: z.number(),
        approval: z.boolean(),
        tenants: z.array(z.string()),
      }),
    )
    .optional(),
  strategy: z.object({ onFailure: z.enum(['HALT', 'ROLLBACK']), alarms: z.array(z.string()) }).optional(),
  lockConflicts: z.array(lockConflictSchema),
  /** Endpoints whose health check did not answer when probed once, without sending a config. */
  unreachableEndpoints: z.array(
    z.object({ tenantId: z.string(), endpoint: z.string(), url: z.string(), error: z.string() }),
  ),
});
export type DryRunResult = z.infer<typeof dryRunResultSchema>;

export const taskOperationResultSchema = z.object({
  targetType: z.enum(['TASK', 'PLAN']),
  targetId: z.string(),
  success: z.boolean(),
  finalStatus: z.string(),
  failureInfo: failureInfoSchema.optional(),
  message: z.string(),
  /** A large plan's action (202): the execution that applies it to the plan's tasks after the answer. */
  appliedBy: z.string().optional(),
});

export const taskStatusInfoSchema = z.object({
  taskId: z.string(),
  planId: z.string(),
  tenantId: z.string(),
  /** Its wave's position in the plan's strategy (see the plan's `waves`). */
  wave: z.number().int().optional(),
  status: taskStatus,
  currentStage: z.string().nullable(),
  completedStages: z.number().int(),
  totalStages: z.number().int(),
  progressPercent: z.number().int(),
  stages: z.array(z.string()),
  completedStageNames: z.array(z.string()),
  version: z.string(),
  /** The version the tenant ran before, when the plan named it (`sourceTenantDeployConfig`). */
  fromVersion: z.string().optional(),
  paused: z.boolean(),
  cancelled: z.boolean(),
  retryCount: z.number().int(),
  /** Times a lost execution was recovered from the checkpoint (these spend no retry). */
  recoveryCount: z.number().int(),
  timestamps: z.object({
    createdAt: z.string(),
    startedAt: z.string().optional(),
    updatedAt: z.string(),
    endedAt: z.string().optional(),
    lastHeartbeatAt: z.string().optional(),
  }),
  failureInfo: failureInfoSchema.optional(),
  executionArn: z.string().nullable(),
  /** This task's page in the web console (served by this API at /console). */
  consoleUrl: z.string(),
  /** The Step Functions console page of its execution, when it runs on AWS Step Functions. */
  awsConsoleUrl: z.string().optional(),
});
export type TaskStatusInfo = z.infer<typeof taskStatusInfoSchema>;
export const taskListSchema = z.object({
  tasks: z.array(taskStatusInfoSchema),
  /** Pass back as `cursor` for the next page; absent on the last page. */
  cursor: z.string().optional(),
});

const planCountersShape = {
  totalTasks: z.number().int(),
  completedTasks: z.number().int(),
  failedTasks: z.number().int(),
  cancelledTasks: z.number().int(),
  rolledBackTasks: z.number().int(),
};

export const planSummarySchema = z.object({
  planId: z.string(),
  name: z.string(),
  status: planStatus,
  maxConcurrency: z.number().int(),
  ...planCountersShape,
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  failureInfo: failureInfoSchema.optional(),
});
export const planListSchema = z.object({
  plans: z.array(planSummarySchema),
  /** Pass back as `cursor` for the next page; absent on the last page. */
  cursor: z.string().optional(),
});

export const waveViewSchema = z.object({
  index: z.number().int(),
  name: z.string(),
  status: z.enum(WAVE_STATUSES),
  tenantCount: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  maxConcurrency: z.number().int(),
  failureThreshold: z.union([z.object({ count: z.number() }), z.object({ percent: z.number() })]),
  bakeSeconds: z.number(),
  approval: z.boolean(),
  approvedAt: z.string().optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  failureInfo: failureInfoSchema.optional(),
});
export type WaveView = z.infer<typeof waveViewSchema>;

export const planViewSchema = planSummarySchema.extend({
  /** The plan's own event sequence so far (pass as `after` to read only newer events). */
  sequenceId: z.number().int(),
  failureThreshold: z.union([z.object({ count: z.number() }), z.object({ percent: z.number() })]).optional(),
  healthCheck: dryRunResultSchema.shape.settings.shape.healthCheck,
  broadcastPath: z.string(),
  idempotencyKey: z.string().optional(),
  /** Tasks per status (statuses with no task are left out). */
  counts: z.record(z.string(), z.number().int()),
  /** Completed stages over all stages of all tasks. */
  progressPercent: z.number().int(),
  executionArn: z.string().nullable(),
  /** This plan's page in the web console (served by this API at /console). */
  consoleUrl: z.string(),
  /** The Step Functions console page of its execution, when it runs on AWS Step Functions. */
  awsConsoleUrl: z.string().optional(),
  /** With a strategy: each wave in order, the wave the plan is at, and how a failed wave is handled. */
  waves: z.array(waveViewSchema).optional(),
  currentWave: z.string().nullable().optional(),
  onFailure: z.enum(['HALT', 'ROLLBACK']).optional(),
  alarms: z.array(z.string()).optional(),
});
export type PlanView = z.infer<typeof planViewSchema>;
export type PlanSummary = z.infer<typeof planSummarySchema>;

export const planDeletionSchema = z.object({
  planId: z.string(),
  dryRun: z.boolean(),
  /** The status the plan had when the request arrived. */
  status: planStatus,
  /** Whether the plan was (or would be) cancelled first. */
  cancelled: z.boolean(),
  taskIds: z.array(z.string()),
  /** Items removed (or, for a dry run, that would be removed). */
  items: z.number().int(),
});

export const eventSchema = z.object({
  eventId: z.string(),
  type: z.enum([...PLAN_EVENT_TYPES, ...TASK_EVENT_TYPES]),
  planId: z.string(),
  taskId: z.string().optional(),
  tenantId: z.string().optional(),
  sequenceType: z.enum(['PLAN', 'TASK']),
  sequenceId: z.number().int(),
  timestamp: z.string(),
  status: z.string(),
  currentStage: z.string().optional(),
  completedStages: z.number().int().optional(),
  totalStages: z.number().int().optional(),
  failureInfo: failureInfoSchema.optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type EventView = z.infer<typeof eventSchema>;
export const eventPageSchema = z.object({
  events: z.array(eventSchema),
  /** Pass back as `after` for the next page (null before any event exists). */
  last: z.string().nullable(),
});

export const engineSchema = z.object({
  tenantId: z.string(),
  service: z.string(),
  engineId: z.string(),
  state: z.enum(ENGINE_STATES),
  version: z.string().optional(),
  endpoint: z.string().optional(),
  taskArn: z.string().optional(),
  taskId: z.string().optional(),
  drainAfter: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const engineListSchema = z.object({ engines: z.array(engineSchema) });

const componentSchema = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});
export const healthSchema = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  components: z.object({
    store: componentSchema,
    orchestrator: componentSchema,
    eventBus: componentSchema,
    staleTasks: z.object({
      status: z.enum(['ok', 'stale', 'unknown']),
      count: z.number().int(),
      tenants: z.array(z.string()),
    }),
  }),
  version: z.string(),
});
export type HealthReport = z.infer<typeof healthSchema>;

/** The OpenAPI document itself is free-form JSON. */
export const openApiDocumentSchema = z.record(z.string(), z.unknown());

/** One event of GetExecutionHistory, as Step Functions returns it (timestamp as ISO-8601). */
export const historyEventSchema = z.looseObject({
  id: z.number().int(),
  previousEventId: z.number().int().optional(),
  type: z.string(),
  timestamp: z.string(),
});

export const taskExecutionSchema = z.object({
  taskId: z.string(),
  executionArn: z.string(),
  stateMachineArn: z.string(),
  name: z.string(),
  status: z.string(),
  startDate: z.string(),
  stopDate: z.string().optional(),
  error: z.string().optional(),
  cause: z.string().optional(),
  /** The state machine's definition (ASL, parsed). */
  definition: z.record(z.string(), z.unknown()),
  /** One page of the execution's history, oldest first. */
  events: z.array(historyEventSchema),
  /** Pass back as `nextToken` for the next page; absent on the last page. */
  nextToken: z.string().optional(),
});
export type TaskExecution = z.infer<typeof taskExecutionSchema>;
export type HistoryEvent = z.infer<typeof historyEventSchema>;
