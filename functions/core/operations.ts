/**
 * The five operator actions, declared once: the API builds a route per action
 * and target from this, validates bodies with it, and the CLI offers the same
 * names. orchestration/operations.ts carries them out.
 */
import { z } from 'zod';

/** What an action can be aimed at: one task, every applicable task of a plan, or a tenant's active (else latest) task. */
export const OPERATION_TARGETS = ['plan', 'task', 'tenant'] as const;
export type OperationTarget = (typeof OPERATION_TARGETS)[number];

const noOptions = z.strictObject({});

export const OPERATIONS = {
  pause: { summary: 'Pause at the next stage boundary', targets: OPERATION_TARGETS, body: noOptions },
  resume: { summary: 'Resume a paused (or pausing) target', targets: OPERATION_TARGETS, body: noOptions },
  cancel: {
    summary: 'Cancel (running tasks stop at the next stage boundary)',
    targets: OPERATION_TARGETS,
    body: noOptions,
  },
  rollback: {
    summary: 'Roll back changed stages to the previous good config',
    targets: OPERATION_TARGETS,
    body: noOptions,
  },
  retry: {
    summary: 'Retry failed tasks (body {fromCheckpoint}, default true)',
    targets: OPERATION_TARGETS,
    body: z.strictObject({
      /** true (default): resume after the last completed stage; false: start over. */
      fromCheckpoint: z.boolean().optional(),
    }),
  },
} as const satisfies Record<
  string,
  { summary: string; targets: readonly OperationTarget[]; body: z.ZodType<object> }
>;

export type OperationName = keyof typeof OPERATIONS;
export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[];
export const isOperationName = (value: string | undefined): value is OperationName =>
  value !== undefined && Object.hasOwn(OPERATIONS, value);

/** The options every action accepts (only retry has any). */
export type OperationOptions = { fromCheckpoint?: boolean };
