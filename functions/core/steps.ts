/**
 * What the state machines hand each step function (the `Payload` of its
 * `lambda:invoke` state), as zod schemas; the step handlers validate with them
 * and the flows take the inferred types.
 */
import { z } from 'zod';
import { OPERATION_NAMES, type OperationName } from './operations.ts';

/**
 * The `{Error, Cause}` a Step Functions Catch puts at its ResultPath.
 * https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-representation
 */
export const stateErrorSchema = z.object({ Error: z.string().optional(), Cause: z.string().optional() });
export type StateError = z.infer<typeof stateErrorSchema>;

const id = z.string().min(1);
const taskPosition = { planId: id, index: z.number().int().min(0) };

/** What an engine sends back with its task token once it listens and is healthy. */
export const engineHandOffSchema = z.object({
  engineId: id,
  endpoint: z.string().url(),
  version: z.string().optional(),
  tenantId: z.string().optional(),
  service: z.string().optional(),
  taskArn: z.string().optional(),
});
export type EngineHandOff = z.infer<typeof engineHandOffSchema>;

export const STEP_INPUTS = {
  startPlan: z.object({ planId: id, executionArn: id }),
  finishPlan: z.object({ planId: id, error: stateErrorSchema.optional() }),
  takeLock: z.object({ ...taskPosition, executionArn: id, purpose: z.literal('ROLLBACK').optional() }),
  runStage: z.object({
    ...taskPosition,
    executionArn: id,
    /** The task machine's state: no `step` on the execution's first stage (the lock is taken first), `engine` once one handed off. */
    state: z.object({
      engine: engineHandOffSchema.nullable().optional(),
      step: z.object({ action: z.string() }).optional(),
    }),
  }),
  parkTask: z.object({ ...taskPosition, token: id }),
  completeTask: z.object(taskPosition),
  failTask: z.object({ ...taskPosition, executionArn: id, error: stateErrorSchema.optional() }),
  rollbackStage: z.object({ taskId: id }),
  finishRollback: z.object({ ...taskPosition, error: stateErrorSchema.optional() }),
  /** The waves machine's steps: open a wave, park its approval gate, judge it, bake it, halt the plan. */
  wave: z.discriminatedUnion('action', [
    z.object({ action: z.literal('open'), planId: id, wave: z.number().int().min(0) }),
    z.object({ action: z.literal('park'), planId: id, wave: z.number().int().min(0), token: id }),
    z.object({ action: z.literal('judge'), planId: id, wave: z.number().int().min(0) }),
    z.object({ action: z.literal('bake'), planId: id, wave: z.number().int().min(0) }),
    z.object({ action: z.literal('halt'), planId: id, wave: z.number().int().min(0) }),
  ]),
  /** The plan-operation machine's state: the action, where it is in the plan's tasks, what it did so far. */
  operatePlan: z.object({
    planId: id,
    operation: z.enum(OPERATION_NAMES as [OperationName, ...OperationName[]]),
    fromCheckpoint: z.boolean().optional(),
    cursor: z.string().optional(),
    applied: z.number().int().optional(),
    refused: z.number().int().optional(),
  }),
};

type Inputs = typeof STEP_INPUTS;
export type StepInput<K extends keyof Inputs> = z.infer<Inputs[K]>;
