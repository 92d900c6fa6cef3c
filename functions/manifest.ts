/**
 * The one list of functions. CDK builds one Lambda per entry; the local runtime
 * loads the same handler modules and invokes them in-process. Its IAM grants are
 * derived from `table`, `uses` and `trigger` (functions/grants.ts), deployed by
 * CDK and enforced locally. Nothing else declares a function.
 */

import type { ResourceEnvName } from './core/env.ts';
import { ECS_EVENT_SOURCE, ECS_TASK_STATE_CHANGE } from './core/orchestration/engines.ts';
import { PLAN_REQUESTED_DETAIL_TYPE } from './core/resources.ts';

export type TableAccess = 'RO' | 'RW';
/**
 * `sfn-history`: read executions and their histories (the console's view of a task's execution).
 * `ecs`: the engine tasks of the project's cluster (ending a task stops the engines it started that
 * serve nobody, so every function that can end one has it).
 * `alarms`: read CloudWatch alarms (a plan's waves halt on them).
 */
export type ServiceUse = 'sfn' | 'sfn-history' | 'ecs' | 'events' | 'alarms';

export type FunctionTrigger =
  /** The HTTP API (API Gateway locally: the local API server) routes to it. */
  | { kind: 'http' }
  /** The table's stream feeds it. */
  | { kind: 'stream' }
  /** A scheduled EventBridge rule runs it. */
  | { kind: 'schedule'; rateMinutes: number }
  /**
   * An EventBridge rule invokes it for events of this detail-type (and source, when given).
   * Events from AWS services (source `aws.*`) arrive on the default bus, all others on the project bus.
   */
  | {
      kind: 'event';
      detailType: string;
      source?: string;
      /** Fields the event's detail must have (EventBridge pattern syntax). */
      detail?: Record<string, string[]>;
      /** Only events about this deployment's ECS cluster (its ARN is added to the pattern's detail). */
      inProjectCluster?: boolean;
    };

export interface FunctionSpec {
  /** Short name; the deployed function is `${prefix}-${name}`; ASL refers to it as `${<Pascal>FunctionArn}`. */
  name: string;
  /** Module path from the repository root; it exports `handler`. */
  entry: string;
  description: string;
  timeoutSeconds: number;
  memoryMb: number;
  table: TableAccess;
  uses: readonly ServiceUse[];
  /** Resource variables it reads (see RESOURCE_ENV). */
  env: readonly ResourceEnvName[];
  trigger?: FunctionTrigger;
  /** Static files its bundle carries: `console`, the web console it serves below /console. */
  assets?: 'console';
}

const STEP = { timeoutSeconds: 30, memoryMb: 256, table: 'RW' } as const;
const TABLE_ONLY = ['TABLE_NAME'] as const;

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: 'api',
    entry: 'functions/api.ts',
    description: 'The HTTP API (every route of the route table)',
    timeoutSeconds: 29,
    memoryMb: 512,
    table: 'RW',
    // events: the health route probes the bus (DescribeEventBus); sfn-history: GET /v1/tasks/{taskId}/execution;
    // ecs: cancelling a task stops the engines it started that serve nobody.
    uses: ['sfn', 'sfn-history', 'events', 'ecs'],
    env: [
      'TABLE_NAME',
      'PLAN_STATE_MACHINE_ARN',
      'WAVES_STATE_MACHINE_ARN',
      'TASK_STATE_MACHINE_ARN',
      'ROLLBACK_STATE_MACHINE_ARN',
      'PLAN_OPERATION_STATE_MACHINE_ARN',
      'EVENT_BUS_NAME',
      'ECS_CLUSTER_ARN',
    ],
    trigger: { kind: 'http' },
    assets: 'console',
  },
  {
    name: 'plan-requested',
    entry: 'functions/plan-requested.ts',
    description: 'Starts a plan from a "Rollout Plan Requested" event, exactly like POST /v1/plans',
    ...STEP,
    uses: ['sfn'],
    env: ['TABLE_NAME', 'PLAN_STATE_MACHINE_ARN', 'WAVES_STATE_MACHINE_ARN'],
    trigger: { kind: 'event', detailType: PLAN_REQUESTED_DETAIL_TYPE },
  },
  {
    name: 'start-plan',
    entry: 'functions/start-plan.ts',
    description:
      'Plan machine: writes the tasks of a plan created asynchronously, marks it RUNNING, lists its tenants',
    ...STEP,
    // Writing 10,000 staged tasks (about 20,000 items) takes longer than a step's usual 30 s.
    timeoutSeconds: 300,
    uses: [],
    env: TABLE_ONLY,
  },
  {
    name: 'finish-plan',
    entry: 'functions/finish-plan.ts',
    description: 'Plan machine: completes or fails the plan from its task counters',
    ...STEP,
    uses: [],
    env: TABLE_ONLY,
  },
  {
    name: 'wave',
    entry: 'functions/wave.ts',
    description: 'Waves machine: opens, gates, judges and bakes a wave; halts the plan at a failed one',
    ...STEP,
    // A bake polls for a minute per invocation; a halt cancels up to 10,000 tasks of later waves.
    timeoutSeconds: 900,
    // sfn: the approval gate lets itself go on when approved first; ecs: a task it cancels may stop
    // engines; alarms: a wave fails when one of the plan's alarms is in ALARM.
    uses: ['sfn', 'ecs', 'alarms'],
    env: ['TABLE_NAME', 'ECS_CLUSTER_ARN'],
  },
  {
    name: 'take-lock',
    entry: 'functions/take-lock.ts',
    description: 'Rollback machine: takes the tenant lock for the rollback',
    ...STEP,
    uses: [],
    env: TABLE_ONLY,
  },
  {
    name: 'run-stage',
    entry: 'functions/run-stage.ts',
    description:
      'Task machine: takes the tenant lock, then one stage (config-update, broadcast, health-check, checkpoint) at a time',
    ...STEP,
    timeoutSeconds: 900,
    // sfn: the lock step asks whether the execution recorded on the task still runs. ecs: a stage provisioned
    // again stops the engine of the earlier attempt; a cancel stops unserving engines.
    uses: ['sfn', 'events', 'ecs'],
    env: ['TABLE_NAME', 'EVENT_BUS_NAME', 'ECS_CLUSTER_ARN'],
  },
  {
    name: 'park-task',
    entry: 'functions/park-task.ts',
    description: 'Task machine: parks a paused task on its task token',
    ...STEP,
    uses: ['sfn'],
    env: TABLE_ONLY,
  },
  {
    name: 'complete-task',
    entry: 'functions/complete-task.ts',
    description: 'Task machine: records known-good config, schedules drains, releases the lock',
    ...STEP,
    uses: [],
    env: TABLE_ONLY,
  },
  {
    name: 'fail-task',
    entry: 'functions/fail-task.ts',
    description:
      'Task machine: records the failure, stops an engine that never handed off, releases the lock',
    ...STEP,
    // sfn: it asks whether the task's execution still runs (DescribeExecution).
    uses: ['ecs', 'sfn'],
    env: ['TABLE_NAME', 'ECS_CLUSTER_ARN'],
  },
  {
    name: 'engine-stopped',
    entry: 'functions/engine-stopped.ts',
    description:
      'ECS task state change: fails the provision step of an engine that exited before hand-off, updates the registry',
    ...STEP,
    uses: ['sfn'],
    env: TABLE_ONLY,
    // AWS sends every task state change of the account; only stopped tasks of our cluster matter.
    trigger: {
      kind: 'event',
      source: ECS_EVENT_SOURCE,
      detailType: ECS_TASK_STATE_CHANGE,
      detail: { lastStatus: ['STOPPED'] },
      inProjectCluster: true,
    },
  },
  {
    name: 'rollback-stage',
    entry: 'functions/rollback-stage.ts',
    description:
      'Rollback machine: re-sends the previous good config of one stage and confirms it by health check',
    ...STEP,
    timeoutSeconds: 900,
    uses: ['events', 'ecs'],
    env: ['TABLE_NAME', 'EVENT_BUS_NAME', 'ECS_CLUSTER_ARN'],
  },
  {
    name: 'finish-rollback',
    entry: 'functions/finish-rollback.ts',
    description:
      'Rollback machine: marks the task ROLLED_BACK or ROLLBACK_FAILED, stops engines that serve nobody, releases the lock',
    ...STEP,
    uses: ['ecs'],
    env: ['TABLE_NAME', 'ECS_CLUSTER_ARN'],
  },
  {
    name: 'operate-plan',
    entry: 'functions/operate-plan.ts',
    description: "Plan-operation machine: applies an operator's action to one page of a large plan's tasks",
    ...STEP,
    timeoutSeconds: 120,
    // The task actions: resume wakes a parked task (sfn), retry and rollback start executions, and
    // a task it cancels may stop engines (ecs).
    uses: ['sfn', 'ecs'],
    env: ['TABLE_NAME', 'TASK_STATE_MACHINE_ARN', 'ROLLBACK_STATE_MACHINE_ARN', 'ECS_CLUSTER_ARN'],
  },
  {
    name: 'supervisor',
    entry: 'functions/supervisor.ts',
    description: 'Heartbeats, lock lease renewal, recovery of lost executions, engine drains',
    ...STEP,
    timeoutSeconds: 120,
    uses: ['sfn', 'ecs'],
    env: [
      'TABLE_NAME',
      'PLAN_STATE_MACHINE_ARN',
      'WAVES_STATE_MACHINE_ARN',
      'TASK_STATE_MACHINE_ARN',
      'ROLLBACK_STATE_MACHINE_ARN',
      'ECS_CLUSTER_ARN',
    ],
    trigger: { kind: 'schedule', rateMinutes: 1 },
  },
  {
    name: 'publisher',
    entry: 'functions/publisher.ts',
    description: 'Publishes event items from the table stream to the EventBridge bus',
    timeoutSeconds: 60,
    memoryMb: 256,
    table: 'RO',
    uses: ['events'],
    env: ['TABLE_NAME', 'EVENT_BUS_NAME'],
    trigger: { kind: 'stream' },
  },
];
