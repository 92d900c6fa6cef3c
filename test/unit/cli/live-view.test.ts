import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import type { PlanInfo, TaskInfo } from '../../../cli/render.ts';
import { duration } from '../../../cli/render.ts';
import { clip } from '../../../cli/ui.ts';
import { collapse, frame, watchSummary } from '../../../cli/watch.ts';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');

function task(index: number, status: TaskInfo['status'], extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    taskId: `P-${String(index).padStart(5, '0')}`,
    planId: 'P',
    tenantId: `tenant-${index}`,
    status,
    currentStage: 'app',
    completedStages: status === 'COMPLETED' ? 2 : 0,
    totalStages: 2,
    progressPercent: status === 'COMPLETED' ? 100 : 0,
    stages: ['app', 'db'],
    completedStageNames: [],
    version: '2',
    fromVersion: '1',
    paused: false,
    cancelled: false,
    retryCount: 0,
    recoveryCount: 0,
    timestamps: {
      createdAt: '2026-12-01T09:59:00.000Z',
      startedAt: '2026-12-01T09:59:30.000Z',
      updatedAt: '2026-12-01T09:59:40.000Z',
      ...(status === 'COMPLETED' ? { endedAt: '2026-12-01T09:59:32.500Z' } : {}),
    },
    executionArn: null,
    consoleUrl: `/console/tasks/P-${String(index).padStart(5, '0')}`,
    ...extra,
  };
}

const plan = (tasks: TaskInfo[], extra: Partial<PlanInfo> = {}): PlanInfo => {
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return {
    planId: '01KBM0000000000000000000PL',
    name: '宽屏 🚀 rollout of version 2 with a name far longer than any terminal line could hold',
    status: 'RUNNING',
    maxConcurrency: 2,
    totalTasks: tasks.length,
    completedTasks: counts.COMPLETED ?? 0,
    failedTasks: counts.FAILED ?? 0,
    cancelledTasks: 0,
    rolledBackTasks: 0,
    createdAt: '2026-12-01T09:58:00.000Z',
    updatedAt: '2026-12-01T09:59:40.000Z',
    startedAt: '2026-12-01T09:58:56.000Z',
    sequenceId: 3,
    healthCheck: {
      intervalSeconds: 1,
      maxAttempts: 3,
      path: '/health',
      versionKey: 'version',
      timeoutSeconds: 2,
    },
    broadcastPath: '/config',
    counts,
    progressPercent: 50,
    executionArn: null,
    consoleUrl: '/console/plans/01KBM0000000000000000000PL',
    ...extra,
  };
};

describe('the live view of plan watch', () => {
  it('cuts every line, wide characters and colours included, to one column less than the terminal', () => {
    const failure = {
      type: 'BROADCAST',
      message: '配置推送失败 💥 endpoint app@http://127.0.0.1:4100/t/acme/app answered HTTP 500',
    };
    const tasks = [
      task(0, 'FAILED', { failureInfo: failure, tenantId: 'テナント-with-a-very-long-name-0' }),
      task(1, 'RUNNING'),
    ];

    for (const columns of [20, 40, 80]) {
      const lines = frame({ color: true }, plan(tasks), tasks, { columns, rows: 24 }, undefined, NOW);
      expect(lines.map((l) => stringWidth(l)).every((w) => w <= columns - 1)).toBe(true);
    }
  });

  it('pins the plan line first with its elapsed time, then running and failed tasks before the rest', () => {
    const tasks = [
      task(0, 'COMPLETED'),
      task(1, 'COMPLETED'),
      task(2, 'FAILED', { failureInfo: { type: 'HEALTH_CHECK', message: 'db reported version 1' } }),
      task(3, 'RUNNING'),
      task(4, 'PENDING'),
    ];

    const lines = frame({ color: false }, plan(tasks), tasks, { columns: 200, rows: 24 }, undefined, NOW);

    expect(lines[0]).toMatch(/^plan 01KBM0000000000000000000PL RUNNING \[#+\.+\] 50% {2}1m04s {2}"宽屏/);
    expect(lines[1]).toBe('5 task(s): 2 completed, 1 failed, 1 running, 1 pending');
    expect(lines.slice(2).map((l) => l.split(' ')[0])).toEqual([
      'tenant-3',
      'tenant-2',
      'tenant-4',
      'tenant-0',
      'tenant-1',
    ]);
    expect(lines[3]).toMatch(/FAILED .* 30s HEALTH_CHECK: db reported version 1$/);
    expect(lines[5]).toMatch(/COMPLETED .* 2\.5s$/);
  });

  it('fits the terminal height by counting the tasks it cannot show', () => {
    const tasks = [
      ...Array.from({ length: 40 }, (_, i) => task(i, 'COMPLETED')),
      task(40, 'RUNNING'),
      task(41, 'PENDING'),
    ];

    const lines = frame({ color: false }, plan(tasks), tasks, { columns: 80, rows: 10 }, 'reconnecting', NOW);

    expect(lines).toHaveLength(9);
    expect(lines[2]).toBe('reconnecting');
    expect(lines[3]).toMatch(/^tenant-40 /);
    expect(lines[4]).toMatch(/^tenant-41 /);
    expect(lines[8]).toBe('+37 more: 37 completed');
  });

  it('collapses nothing when everything fits', () => {
    const tasks = [task(0, 'COMPLETED'), task(1, 'RUNNING')];

    expect(collapse(tasks, 2)).toEqual({ shown: [tasks[1], tasks[0]] });
    expect(collapse(tasks, 1).rest).toBe('+2 more: 1 running, 1 completed');
  });

  it('ends with a summary naming failures and the verdict, listing only unfinished tasks of a large plan', () => {
    const tasks = [
      ...Array.from({ length: 25 }, (_, i) => task(i, 'COMPLETED')),
      task(25, 'FAILED', { failureInfo: { type: 'BROADCAST', message: 'boom' } }),
    ];
    const ended = plan(tasks, {
      status: 'FAILED',
      endedAt: '2026-12-01T09:59:58.000Z',
      failureInfo: { type: 'TASKS_FAILED', message: '1 task(s) failed' },
    });

    const lines = watchSummary({ color: false }, ended, tasks, NOW);

    expect(lines[0]).toMatch(/^TENANT\s+STATUS\s+VERSION\s+STAGES\s+TIME\s+RETRIES\s+FAILURE$/);
    expect(lines[1]).toMatch(/^tenant-25\s+FAILED\s+1 → 2\s+0\/2\s+30s\s+0\s+BROADCAST: boom$/);
    expect(lines[2]).toBe('+25 completed');
    expect(lines.at(-1)).toBe(
      'plan 01KBM0000000000000000000PL ended FAILED after 1m02s (26 task(s): 25 completed, 1 failed): TASKS_FAILED: 1 task(s) failed',
    );
  });
});

describe('waves in the live view', () => {
  const wave = (name: string, status: string, tenantCount: number, completed: number, failed = 0) => ({
    index: 0,
    name,
    status: status as 'PENDING',
    tenantCount,
    completed,
    failed,
    maxConcurrency: 1,
    failureThreshold: { count: 0 },
    bakeSeconds: 0,
    approval: false,
  });

  it('shows each wave with its status and finished tasks, marks the current one, and says how to approve', () => {
    const tasks = [task(0, 'COMPLETED'), task(1, 'CREATED'), task(2, 'CREATED')];
    const gated = plan(tasks, {
      waves: [wave('canary', 'COMPLETED', 1, 1), wave('rest', 'AWAITING_APPROVAL', 2, 0)],
      currentWave: 'rest',
    });

    const lines = frame({ color: false }, gated, tasks, { columns: 200, rows: 20 }, undefined, NOW);

    expect(lines[2]).toBe('waves: canary COMPLETED 1/1  ▸rest AWAITING_APPROVAL 0/2');
    expect(lines[3]).toBe('wave rest waits for approval: rollout plan approve 01KBM0000000000000000000PL');
  });

  it('adds the waves, failed ones counted, to the summary of an ended plan', () => {
    const tasks = [task(0, 'FAILED'), task(1, 'CANCELLED')];
    const halted = plan(tasks, {
      status: 'FAILED',
      endedAt: '2026-12-01T09:59:58.000Z',
      waves: [wave('canary', 'FAILED', 1, 0, 1), wave('rest', 'SKIPPED', 1, 0)],
      currentWave: 'canary',
    });

    expect(watchSummary({ color: false }, halted, tasks, NOW).at(-1)).toBe(
      'waves: ▸canary FAILED 1/1 (1 failed)  rest SKIPPED 0/1',
    );
  });
});

describe('terminal text', () => {
  it('measures durations the way people read them', () => {
    expect([400, 12_300, 185_000, 7_440_000].map(duration)).toEqual(['0.4s', '12s', '3m05s', '2h04m']);
  });

  it('clips by display width, not by characters', () => {
    expect(stringWidth(clip('🚀🚀🚀🚀🚀', 5))).toBeLessThanOrEqual(5);
    expect(clip('short', 10)).toBe('short');
  });
});
