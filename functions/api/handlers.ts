/**
 * One handler per operationId of the route table: each takes the validated input,
 * makes one domain call and shapes the result. Typed errors travel up to dispatch.
 */
import type { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import type { Deps } from '../core/deps.ts';
import { Conflict, NotFound } from '../core/errors.ts';
import { OPERATION_NAMES, type OperationName } from '../core/operations.ts';
import { operatePlan, TASK_OPERATIONS, type TaskOperationResult } from '../core/orchestration/operations.ts';
import { submitPlan } from '../core/orchestration/plan-flow.ts';
import {
  followEvents,
  previewPlan,
  removePlan,
  tenantTask,
  waitForEvents,
} from '../core/orchestration/queries.ts';
import { approvePlan } from '../core/orchestration/wave-flow.ts';
import { consoleAsset } from './console-assets.ts';
import { IdempotencyKeyReused } from './errors.ts';
import { taskExecution } from './execution.ts';
import { evaluateHealth, healthStatusCode } from './health.ts';
import { openApiDocument } from './openapi.ts';
import { probeSystem } from './probes.ts';
import type { OperationId, RouteOf } from './routes.ts';
import type { TaskCreationResult } from './schemas.ts';
import { type Links, planSummary, planView, taskStatusInfo } from './views.ts';

type Parsed<S> = [S] extends [z.ZodType] ? z.output<S> : undefined;

export interface HandlerContext<R extends { params?: unknown; query?: unknown; body?: unknown }> {
  deps: Deps;
  params: Parsed<NonNullable<R['params']>>;
  query: Parsed<NonNullable<R['query']>>;
  body: Parsed<NonNullable<R['body']>>;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** The server can stream a response (the local server; not API Gateway). */
  streaming: boolean;
  signal: AbortSignal;
}

export type Reply =
  | { status: number; body: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType: string; headers?: Record<string, string> }
  | { status: number; stream: AsyncIterable<unknown>; contentType: string };

type Handlers = { [Id in OperationId]: (ctx: HandlerContext<RouteOf<Id>>) => Promise<Reply> };

const ok = (body: unknown, status = 200): Reply => ({ status, body });

/**
 * Links point where the caller reached this API (API Gateway sets x-forwarded-proto); the AWS console
 * link only when executions run on AWS Step Functions, not on an endpoint given by AWS_ENDPOINT_URL_*.
 */
function linksFor(headers: Record<string, string | undefined>): Links {
  const host = headers.host;
  const proto = headers['x-forwarded-proto']?.split(',')[0]?.trim() || 'http';
  return {
    apiBase: host ? `${proto}://${host}` : '',
    awsConsole: !process.env.AWS_ENDPOINT_URL_SFN && !process.env.AWS_ENDPOINT_URL,
  };
}

const asset = async (path: string): Promise<Reply> => ({ status: 200, ...(await consoleAsset(path)) });
const NDJSON = 'application/x-ndjson';

const wantsStream = (ctx: { headers: Record<string, string | undefined>; streaming: boolean }) =>
  ctx.streaming && (ctx.headers.accept ?? '').includes(NDJSON);

const retryOptions = (body: { fromCheckpoint?: boolean } | Record<string, never>) =>
  'fromCheckpoint' in body && body.fromCheckpoint !== undefined
    ? { fromCheckpoint: body.fromCheckpoint }
    : {};

const onTask = (op: OperationName) => (deps: Deps, taskId: string, body: object) =>
  TASK_OPERATIONS[op](deps, taskId, retryOptions(body));

async function createPlan(deps: Deps, body: unknown, idempotencyKey: string | undefined) {
  try {
    const { plan, created, startError } = await submitPlan(deps, body, idempotencyKey);
    const tasks = plan.taskIds;
    const result: TaskCreationResult = {
      planId: plan.planId,
      taskIds: plan.taskIds,
      validatedCount: tasks.length,
      status: plan.status,
      message: !created
        ? `plan ${plan.planId} already exists for this Idempotency-Key`
        : startError
          ? `plan created with ${tasks.length} task(s); its start failed (${startError}), the supervisor will start it`
          : `plan created with ${tasks.length} task(s)`,
      ...(plan.failureInfo ? { failureInfo: plan.failureInfo } : {}),
    };
    return ok(result, !created ? 200 : plan.status === 'CREATING' ? 202 : 201);
  } catch (error) {
    // The store reports a key reused with another body as a Conflict that names the first plan.
    if (error instanceof Conflict && (error.details as { planId?: string } | undefined)?.planId) {
      throw new IdempotencyKeyReused(error.message, error.details);
    }
    throw error;
  }
}

function operationHandlers<K extends 'Plan' | 'Task' | 'Tenant'>(
  kind: K,
  run: (deps: Deps, id: string, op: OperationName, body: object) => Promise<TaskOperationResult>,
) {
  return Object.fromEntries(
    OPERATION_NAMES.map((op) => [
      `${op}${kind}`,
      async (ctx: { deps: Deps; params: Record<string, string>; body: object }) => {
        const result = await run(ctx.deps, Object.values(ctx.params)[0]!, op, ctx.body);
        return ok(result, result.appliedBy ? 202 : 200);
      },
    ]),
  ) as unknown as Pick<Handlers, `${OperationName}${K}`>;
}

export const HANDLERS: Handlers = {
  getHealth: async ({ deps }) => {
    const report = evaluateHealth(await probeSystem(deps, packageJson.version));
    return ok(report, healthStatusCode(report));
  },
  getOpenApi: async () => ok(openApiDocument()),
  createPlan: async ({ deps, body, headers }) => {
    if (body.dryRun) return ok(await previewPlan(deps, body));
    return createPlan(deps, body, headers['idempotency-key']);
  },
  listPlans: async ({ deps, query }) => {
    const page = await deps.store.listPlans(query);
    const plans = await Promise.all(page.plans.map((plan) => deps.store.withCounts(plan)));
    return ok({ plans: plans.map(planSummary), ...(page.cursor ? { cursor: page.cursor } : {}) });
  },
  getPlan: async ({ deps, params, headers }) => {
    const plan = await deps.store.getPlanWithCounts(params.planId);
    if (!plan) throw new NotFound('plan', params.planId);
    const [strategy, counts] = plan.waveCount
      ? await Promise.all([deps.store.getStrategy(plan.planId), deps.store.waveCounts(plan)])
      : [];
    const waves = strategy && counts ? { strategy, counts } : undefined;
    return ok(planView(plan, linksFor(headers), waves));
  },
  deletePlan: async ({ deps, params, query }) => ok(await removePlan(deps, params.planId, query)),
  listPlanTasks: async ({ deps, params, query, headers }) => {
    // Both reads at once: the console's plan page waits on this one for its first rows.
    const [, page] = await Promise.all([
      deps.store.requirePlan(params.planId),
      deps.store.listTaskPage(params.planId, { ...query, limit: query.limit ?? 100 }),
    ]);
    const links = linksFor(headers);
    return ok({
      tasks: page.tasks.map((t) => taskStatusInfo(t, links)),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    });
  },
  listPlanEvents: async (ctx) => {
    const { deps, params, query, signal } = ctx;
    if (wantsStream(ctx)) {
      await deps.store.requirePlan(params.planId);
      return {
        status: 200,
        contentType: NDJSON,
        stream: followEvents(deps, params.planId, { ...(query.after ? { after: query.after } : {}), signal }),
      };
    }
    return ok(await waitForEvents(deps, params.planId, { ...query, signal }));
  },
  ...operationHandlers('Plan', (deps, planId, op, body) => operatePlan(deps, planId, op, retryOptions(body))),
  approvePlan: async ({ deps, params }) => ok(await approvePlan(deps, params.planId)),
  getTask: async ({ deps, params, headers }) =>
    ok(taskStatusInfo(await deps.store.requireTask(params.taskId), linksFor(headers))),
  getTaskExecution: async ({ deps, params, query }) =>
    ok(await taskExecution(deps, params.taskId, query.nextToken)),
  ...operationHandlers('Task', (deps, taskId, op, body) => onTask(op)(deps, taskId, body)),
  getTenantTask: async ({ deps, params, headers }) =>
    ok(taskStatusInfo(await tenantTask(deps, params.tenantId), linksFor(headers))),
  ...operationHandlers('Tenant', async (deps, tenantId, op, body) =>
    onTask(op)(deps, (await tenantTask(deps, tenantId)).taskId, body),
  ),
  listEngines: async ({ deps, query }) => ok({ engines: await deps.store.listEngines(query.tenantId) }),
  getConsole: () => asset(''),
  getConsoleAsset: ({ params }) => asset(params.path),
};
