import { describe, expect, it } from 'vitest';
import {
  createdSortKey,
  currentConfigSk,
  ENGINE_SK_PREFIX,
  EVENT_SK_PREFIX,
  engineSk,
  eventSk,
  goodConfigSk,
  IDEMPOTENCY_SK,
  idempotencyPk,
  LOCK_SK,
  lockKey,
  lockPk,
  PLAN_SK,
  PLANS_INDEX_PK,
  planKey,
  planPk,
  TASK_SK_PREFIX,
  taskSk,
  tenantPk,
} from '../../../functions/core/keys.ts';
import { PARTITION_KEY, SORT_KEY } from '../../../functions/core/table.ts';

/** Key formats as written in DESIGN.md's DynamoDB table. */
describe('table keys', () => {
  it('plan item: PLAN#{planId} / PLAN, listed under PLANS by creation time', () => {
    expect(planPk('01J0PLAN')).toBe('PLAN#01J0PLAN');
    expect(PLAN_SK).toBe('PLAN');
    expect(PLANS_INDEX_PK).toBe('PLANS');
    expect(createdSortKey('2025-01-02T03:04:05.000Z', '01J0PLAN')).toBe('2025-01-02T03:04:05.000Z#01J0PLAN');
  });

  it('task and event items live under their plan', () => {
    expect(taskSk('task-1')).toBe('TASK#task-1');
    expect(eventSk('01J0EVENT')).toBe('EVENT#01J0EVENT');
  });

  it('item keys use the table definition attribute names', () => {
    expect(planKey('01J0PLAN')).toEqual({ [PARTITION_KEY]: 'PLAN#01J0PLAN', [SORT_KEY]: 'PLAN' });
    expect(lockKey('acme')).toEqual({ [PARTITION_KEY]: 'LOCK#TENANT#acme', [SORT_KEY]: 'LOCK' });
  });

  it('sort-key prefixes are the prefixes the builders use, so begins_with queries find them', () => {
    expect(taskSk('x').startsWith(TASK_SK_PREFIX)).toBe(true);
    expect(eventSk('x').startsWith(EVENT_SK_PREFIX)).toBe(true);
    expect(engineSk('app', 'e1').startsWith(ENGINE_SK_PREFIX)).toBe(true);
    expect([TASK_SK_PREFIX, EVENT_SK_PREFIX, ENGINE_SK_PREFIX]).toEqual(['TASK#', 'EVENT#', 'ENGINE#']);
  });

  it('tenant lock: LOCK#TENANT#{tenantId} / LOCK', () => {
    expect(lockPk('acme')).toBe('LOCK#TENANT#acme');
    expect(LOCK_SK).toBe('LOCK');
  });

  it('tenant config and engine registry live under TENANT#{tenantId}', () => {
    expect(tenantPk('acme')).toBe('TENANT#acme');
    expect(currentConfigSk('media')).toBe('CONFIG#media#CURRENT');
    expect(goodConfigSk('media')).toBe('CONFIG#media#GOOD');
    expect(engineSk('media', 'eng-7')).toBe('ENGINE#media#eng-7');
  });

  it('idempotency key: IDEMPOTENCY#{key} / IDEMPOTENCY', () => {
    expect(idempotencyPk('abc-123')).toBe('IDEMPOTENCY#abc-123');
    expect(IDEMPOTENCY_SK).toBe('IDEMPOTENCY');
  });

  it('a lock and a tenant item for the same tenant never share a partition', () => {
    expect(lockPk('acme')).not.toBe(tenantPk('acme'));
  });
});
