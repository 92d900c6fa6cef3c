/** The DynamoDB store: one table, key design from DESIGN.md, every status change through a transition. */

import { type StoreContext, type StoreOptions, storeContext } from './context.ts';
import { eventStore } from './events.ts';
import { lockStore } from './locks.ts';
import { planStore } from './plans.ts';
import { taskStore } from './tasks.ts';
import { tenantStore } from './tenants.ts';

export function createStore(options: StoreOptions | StoreContext) {
  const ctx = 'doc' in options ? options : storeContext(options);
  return {
    ctx,
    ...planStore(ctx),
    ...taskStore(ctx),
    ...eventStore(ctx),
    ...lockStore(ctx),
    ...tenantStore(ctx),
  };
}

export type Store = ReturnType<typeof createStore>;
export { InvalidCursor } from './context.ts';
export type { AcquireResult, LockOwner } from './locks.ts';
export type { PlanTransition } from './plans.ts';
export type { TaskFields, TaskStep, TaskTransition } from './tasks.ts';
