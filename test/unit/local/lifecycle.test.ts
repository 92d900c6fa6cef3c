import { describe, expect, it } from 'vitest';
import type { RolloutEvent } from '../../../functions/core/model.ts';
import { consoleLevel, lifecycleLine } from '../../../local/lifecycle.ts';

const PLAN_ID = '01M8SKTMQKCBJAZ14E06H1JAWN';

const event = (type: RolloutEvent['type'], fields: Partial<RolloutEvent> = {}): RolloutEvent => ({
  eventId: 'e',
  type,
  planId: PLAN_ID,
  taskId: `${PLAN_ID}-00000`,
  tenantId: 'acme',
  sequenceType: type.startsWith('Plan') ? 'PLAN' : 'TASK',
  sequenceId: 1,
  timestamp: '2026-12-01T10:00:10.123Z',
  status: 'RUNNING',
  ...fields,
});

describe('lifecycle lines of npm start', () => {
  it('prints plan and task starts, ends and pauses at info, each on one short line', () => {
    expect(lifecycleLine(event('PlanStarted', { detail: { totalTasks: 4 } }), 'info')).toBe(
      `10:00:10 plan ${PLAN_ID} started (4 tasks)`,
    );
    expect(lifecycleLine(event('TaskStarted'), 'info')).toBe(`10:00:10 acme started (task ${PLAN_ID}-00000)`);
    expect(lifecycleLine(event('TaskPaused'), 'info')).toBe('10:00:10 acme paused');
    expect(lifecycleLine(event('TaskRolledBack'), 'info')).toBe('10:00:10 acme rolled back');
    expect(lifecycleLine(event('PlanCompleted'), 'info')).toBe(`10:00:10 plan ${PLAN_ID} completed`);
  });

  it("names the wave of a plan's wave steps, says how to approve a waiting one, and why one failed", () => {
    const wave = { wave: { name: 'canary', index: 0 } };

    expect(lifecycleLine(event('PlanWaveBaking', { detail: wave }), 'info')).toBe(
      `10:00:10 plan ${PLAN_ID} wave canary baking`,
    );
    expect(lifecycleLine(event('PlanWaveAwaitingApproval', { detail: wave }), 'info')).toBe(
      `10:00:10 plan ${PLAN_ID} wave canary awaits approval (rollout plan approve ${PLAN_ID})`,
    );
    expect(
      lifecycleLine(
        event('PlanWaveFailed', {
          detail: wave,
          failureInfo: { type: 'ALARM', message: 'alarm a is in ALARM' },
        }),
        'error',
      ),
    ).toBe(`10:00:10 plan ${PLAN_ID} wave canary failed: alarm a is in ALARM`);
  });

  it('names the stage and the reason of a stage failure', () => {
    const failed = event('TaskStageFailed', {
      currentStage: 'db',
      failureInfo: { type: 'BROADCAST', stage: 'db', message: 'broadcast of version 2 refused' },
    });

    expect(lifecycleLine(failed, 'info')).toBe(
      '10:00:10 acme stage db failed: broadcast of version 2 refused',
    );
  });

  it('filters by level: stage progress only at debug, failures still at error, nothing when silent', () => {
    const stageDone = event('TaskStageSucceeded', { currentStage: 'app' });
    const taskFailed = event('TaskFailed', { failureInfo: { type: 'HEALTH_CHECK', message: 'no' } });

    expect(lifecycleLine(stageDone, 'info')).toBeUndefined();
    expect(lifecycleLine(stageDone, 'debug')).toBe('10:00:10 acme stage app succeeded');
    expect(lifecycleLine(event('TaskCompleted'), 'error')).toBeUndefined();
    expect(lifecycleLine(taskFailed, 'error')).toBe('10:00:10 acme failed: no');
    expect(lifecycleLine(taskFailed, 'silent')).toBeUndefined();
    expect(lifecycleLine(event('TaskHeartbeat'), 'debug')).toBeUndefined();
  });

  it('reads ROLLOUT_LOG_LEVEL case-insensitively and rejects an unknown level by name', () => {
    expect(consoleLevel(undefined)).toBe('info');
    expect(consoleLevel('WARN')).toBe('warn');
    expect(() => consoleLevel('loud')).toThrow(
      /ROLLOUT_LOG_LEVEL must be one of debug, info, warn, error, silent/,
    );
  });
});
