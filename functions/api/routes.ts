/**
 * The one route table of the HTTP API. The API function dispatches on it, the local
 * API server serves it, the OpenAPI document is generated from it, and CDK builds the
 * API Gateway routes (and their authorizers, from `auth`) from it. Handlers live in
 * handlers.ts, keyed by operationId, so this module stays free of I/O.
 */
import { z } from 'zod';
import { OPERATION_NAMES, OPERATIONS, type OperationName } from '../core/operations.ts';
import { planRequestSchema } from '../core/schemas.ts';
import {
  consoleParams,
  deletePlanQuery,
  dryRunResultSchema,
  engineListSchema,
  enginesQuery,
  eventPageSchema,
  eventsQuery,
  executionQuery,
  healthSchema,
  listPlansQuery,
  listTasksQuery,
  openApiDocumentSchema,
  planDeletionSchema,
  planListSchema,
  planParams,
  planViewSchema,
  taskCreationResultSchema,
  taskExecutionSchema,
  taskListSchema,
  taskOperationResultSchema,
  taskParams,
  taskStatusInfoSchema,
  tenantParams,
} from './schemas.ts';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';
/** `bearer`: `Authorization: Bearer <token>` (on AWS, the API Gateway authorizer CDK attaches). */
export type RouteAuth = 'none' | 'bearer';

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
  /** Default `application/json`; anything else is sent as text. */
  contentType?: string;
}

export interface RouteSpec<
  Id extends string = string,
  P extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
> {
  method: HttpMethod;
  /** API Gateway style: `/v1/plans/{planId}`; `{name+}` (last segment only) takes the rest of the path. */
  path: string;
  auth: RouteAuth;
  operationId: Id;
  summary: string;
  tag: 'plans' | 'tasks' | 'tenants' | 'engines' | 'system' | 'console';
  params?: P;
  query?: Q;
  body?: B;
  /** An absent body is read as `{}`. */
  bodyOptional?: boolean;
  /** Reads the `Idempotency-Key` header. */
  idempotencyKey?: boolean;
  /** Answers `Accept: application/x-ndjson` with a stream where the server can stream (locally). */
  streams?: boolean;
  /** Success responses by status code; error responses are common to all routes (see openapi.ts). */
  responses: Record<number, ResponseSpec>;
}

function route<
  const Id extends string,
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<Id, P, Q, B>): RouteSpec<Id, P, Q, B> {
  return spec;
}

/** `afterAnswer`: a plan-wide action, which a large plan's tasks get after the answer (202). */
function operationResult(what: string, afterAnswer = false): Record<number, ResponseSpec> {
  const done = { description: `what the operation did to the ${what}`, schema: taskOperationResultSchema };
  if (!afterAnswer) return { 200: done };
  return {
    200: done,
    202: {
      description:
        'a plan of 500 tasks or more: the plan moved, and execution `appliedBy` applies the action to its tasks',
      schema: taskOperationResultSchema,
    },
  };
}

/** The operator actions on one kind of target: one route each (API Gateway needs concrete paths). */
function operationRoutes<const K extends 'Plan' | 'Task' | 'Tenant', P extends z.ZodType>(
  kind: K,
  base: string,
  params: P,
  target: string,
) {
  return OPERATION_NAMES.filter((op) =>
    (OPERATIONS[op].targets as readonly string[]).includes(kind.toLowerCase()),
  ).map((op) =>
    route({
      method: 'POST',
      path: `${base}/${op}`,
      auth: 'bearer',
      operationId: `${op}${kind}` as `${OperationName}${K}`,
      summary: `${OPERATIONS[op].summary} (${target})`,
      tag: `${kind.toLowerCase()}s` as 'plans' | 'tasks' | 'tenants',
      params,
      body: OPERATIONS[op].body,
      bodyOptional: true,
      responses: operationResult(target, kind === 'Plan'),
    }),
  );
}

export const ROUTES = [
  route({
    method: 'GET',
    path: '/v1/health',
    auth: 'none',
    operationId: 'getHealth',
    summary: 'Health of the store, orchestrator and event bus, and stale tasks (503 when unhealthy)',
    tag: 'system',
    responses: {
      200: { description: 'healthy or degraded', schema: healthSchema },
      503: { description: 'unhealthy', schema: healthSchema },
    },
  }),
  route({
    method: 'GET',
    path: '/openapi.json',
    auth: 'none',
    operationId: 'getOpenApi',
    summary: 'This API as an OpenAPI 3.1 document',
    tag: 'system',
    responses: { 200: { description: 'the OpenAPI document', schema: openApiDocumentSchema } },
  }),
  route({
    method: 'POST',
    path: '/v1/plans',
    auth: 'bearer',
    operationId: 'createPlan',
    summary: 'Submit a plan (dryRun: validate and preview, nothing stored)',
    tag: 'plans',
    body: planRequestSchema,
    idempotencyKey: true,
    responses: {
      201: { description: 'plan created and started', schema: taskCreationResultSchema },
      202: {
        description: 'a large plan accepted: CREATING until every task is written, then it starts',
        schema: taskCreationResultSchema,
      },
      200: {
        description: 'a repeated Idempotency-Key (the first plan), or a dry run',
        schema: taskCreationResultSchema.or(dryRunResultSchema),
      },
    },
  }),
  route({
    method: 'GET',
    path: '/v1/plans',
    auth: 'bearer',
    operationId: 'listPlans',
    summary: 'Plans, newest first',
    tag: 'plans',
    query: listPlansQuery,
    responses: { 200: { description: 'one page of plans', schema: planListSchema } },
  }),
  route({
    method: 'GET',
    path: '/v1/plans/{planId}',
    auth: 'bearer',
    operationId: 'getPlan',
    summary: 'A plan with task counts and progress',
    tag: 'plans',
    params: planParams,
    responses: { 200: { description: 'the plan', schema: planViewSchema } },
  }),
  route({
    method: 'DELETE',
    path: '/v1/plans/{planId}',
    auth: 'bearer',
    operationId: 'deletePlan',
    summary: 'Delete a finished plan (force=true cancels a live one first; dryRun=true only lists)',
    tag: 'plans',
    params: planParams,
    query: deletePlanQuery,
    responses: { 200: { description: 'what was (or would be) deleted', schema: planDeletionSchema } },
  }),
  route({
    method: 'GET',
    path: '/v1/plans/{planId}/tasks',
    auth: 'bearer',
    operationId: 'listPlanTasks',
    summary: "The plan's tasks in request order, a page at a time (?limit=&cursor=&status=&tenant=)",
    tag: 'plans',
    params: planParams,
    query: listTasksQuery,
    responses: { 200: { description: 'one page of TaskStatusInfo', schema: taskListSchema } },
  }),
  route({
    method: 'GET',
    path: '/v1/plans/{planId}/events',
    auth: 'bearer',
    operationId: 'listPlanEvents',
    summary: 'Events after `after`, long-polling up to waitSeconds (NDJSON stream locally)',
    tag: 'plans',
    params: planParams,
    query: eventsQuery,
    streams: true,
    responses: { 200: { description: 'one page of events', schema: eventPageSchema } },
  }),
  ...operationRoutes('Plan', '/v1/plans/{planId}', planParams, 'every applicable task of the plan'),
  route({
    method: 'POST',
    path: '/v1/plans/{planId}/approve',
    auth: 'bearer',
    operationId: 'approvePlan',
    summary: 'Lets the wave that waits for approval start (409 when no wave waits)',
    tag: 'plans',
    params: planParams,
    // No options, as the other operations: a body, if sent, must be `{}`, so a malformed one is a 4xx.
    body: z.strictObject({}),
    bodyOptional: true,
    responses: operationResult('plan'),
  }),
  route({
    method: 'GET',
    path: '/v1/tasks/{taskId}',
    auth: 'bearer',
    operationId: 'getTask',
    summary: 'One task',
    tag: 'tasks',
    params: taskParams,
    responses: { 200: { description: 'the task', schema: taskStatusInfoSchema } },
  }),
  route({
    method: 'GET',
    path: '/v1/tasks/{taskId}/execution',
    auth: 'bearer',
    operationId: 'getTaskExecution',
    summary: "The task's current execution: its state machine definition and one page of its history",
    tag: 'tasks',
    params: taskParams,
    query: executionQuery,
    responses: { 200: { description: 'the execution', schema: taskExecutionSchema } },
  }),
  ...operationRoutes('Task', '/v1/tasks/{taskId}', taskParams, 'the task'),
  route({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/task',
    auth: 'bearer',
    operationId: 'getTenantTask',
    summary: "The tenant's active task, else its latest",
    tag: 'tenants',
    params: tenantParams,
    responses: { 200: { description: 'the task', schema: taskStatusInfoSchema } },
  }),
  ...operationRoutes(
    'Tenant',
    '/v1/tenants/{tenantId}',
    tenantParams,
    "the tenant's active (else latest) task",
  ),
  route({
    method: 'GET',
    path: '/v1/engines',
    auth: 'bearer',
    operationId: 'listEngines',
    summary: 'The engine registry (of one tenant with tenantId)',
    tag: 'engines',
    query: enginesQuery,
    responses: { 200: { description: 'registered engines', schema: engineListSchema } },
  }),
  // The web console's static files are open; its pages call the API with the token the user gives them.
  route({
    method: 'GET',
    path: '/console',
    auth: 'none',
    operationId: 'getConsole',
    summary: 'The web console (its plans page)',
    tag: 'console',
    responses: { 200: { description: 'the page', schema: z.string(), contentType: 'text/html' } },
  }),
  route({
    method: 'GET',
    path: '/console/{path+}',
    auth: 'none',
    operationId: 'getConsoleAsset',
    summary: 'A page of the web console (plans/{planId}, tasks/{taskId}) or one of its assets',
    tag: 'console',
    params: consoleParams,
    responses: {
      200: { description: 'the page or asset', schema: z.string(), contentType: 'text/html' },
    },
  }),
] as const;

export type Route = (typeof ROUTES)[number];
export type OperationId = Route['operationId'];
/** The route (or, for generated operation routes, the route family) that declares `Id`. */
export type RouteOf<Id extends OperationId> = Route extends infer R
  ? R extends { operationId: infer O }
    ? Id extends O
      ? R
      : never
    : never
  : never;

/**
 * The largest request body the API takes, in bytes. Behind API Gateway the body travels inside the api
 * function's Lambda event, which must fit Lambda's 6 MB synchronous payload
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) even when API Gateway
 * base64-encodes a body that is not text (4/3 of its size: 4 MiB → 5.33 MiB); over it the invocation
 * fails and API Gateway answers 500 before the function runs (local/api-gateway.ts). The edge function in
 * front of the API (functions/edge/body-limit.js) refuses a larger Content-Length with 413 before the
 * body reaches API Gateway; dispatch refuses it too, for callers that reach the function another way.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
