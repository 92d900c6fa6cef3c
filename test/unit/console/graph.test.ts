import { describe, expect, it } from 'vitest';
import { type Asl, layout, transitions } from '../../../console/src/graph.ts';
import { stateRuns } from '../../../console/src/history.ts';
import { stageViews } from '../../../console/src/stages.ts';
import taskMachine from '../../../statemachines/task.asl.json' with { type: 'json' };

const task = taskMachine as unknown as Asl;

describe('the graph of an ASL definition', () => {
  it('has one node per state of the task machine and an edge per distinct transition, catches included', () => {
    const graph = layout(task);

    expect(graph.nodes.map((n) => n.name).sort()).toEqual(Object.keys(task.States).sort());
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ from: 'Run stage', to: 'Record task failure', kind: 'catch' }),
    );
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ from: 'What next?', to: 'Run stage', kind: 'choice' }),
    );
  });

  it('puts the start state on top, every forward transition downwards, and draws loops as back edges', () => {
    const graph = layout(task);
    const at = new Map(graph.nodes.map((n) => [n.name, n]));

    expect(at.get('Run stage')!.layer).toBe(0);
    for (const edge of graph.edges) {
      const down = at.get(edge.to)!.layer > at.get(edge.from)!.layer;
      expect(edge.back, `${edge.from} → ${edge.to}`).toBe(!down);
    }
    expect(graph.edges.find((e) => e.from === 'What next?' && e.to === 'Run stage')?.back).toBe(true);
  });

  it('never places two states of a layer on top of each other, and fits them in the drawing', () => {
    const graph = layout(task);
    const spots = graph.nodes.map((n) => `${n.x},${n.y}`);

    expect(new Set(spots).size).toBe(spots.length);
    for (const n of graph.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.x).toBeLessThan(graph.width);
      expect(n.y).toBeLessThan(graph.height);
    }
  });

  it('ignores a transition to a state the definition does not have, and repeats no pair', () => {
    const asl: Asl = {
      StartAt: 'A',
      States: {
        A: { Type: 'Choice', Choices: [{ Next: 'B' }, { Next: 'B' }], Default: 'Missing' },
        B: { Type: 'Succeed' },
      },
    };

    expect(transitions(asl)).toEqual([{ from: 'A', to: 'B', kind: 'choice' }]);
  });
});

const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
let id = 0;
const ev = (type: string, n: number, extra: Record<string, unknown> = {}) => ({
  id: ++id,
  type,
  timestamp: at(n),
  ...extra,
});
const entered = (name: string, n: number, input = '{}') =>
  ev('TaskStateEntered', n, { stateEnteredEventDetails: { name, input } });
const exited = (name: string, n: number, output = '{}') =>
  ev('TaskStateExited', n, { stateExitedEventDetails: { name, output } });

describe('what the history says about each state', () => {
  it('marks visited states with their input and output, the running one as current, the others as not entered', () => {
    const runs = stateRuns(
      ['Run stage', 'What next?', 'Complete task', 'Task failed'],
      [entered('Run stage', 0, '{"a":1}'), exited('Run stage', 1, '{"b":2}'), entered('Complete task', 2)],
      'RUNNING',
    );

    expect(runs.get('Run stage')).toMatchObject({
      mark: 'visited',
      visits: [{ input: '{"a":1}', output: '{"b":2}', enteredAt: at(0), exitedAt: at(1) }],
    });
    expect(runs.get('Complete task')!.mark).toBe('current');
    expect(runs.get('Task failed')!.mark).toBe('not-visited');
  });

  it('marks the state a caught failure left as failed, and a retried attempt that then succeeded as visited', () => {
    const runs = stateRuns(
      ['Run stage', 'Start new engine', 'Record task failure'],
      [
        entered('Run stage', 0),
        ev('TaskFailed', 1, { taskFailedEventDetails: { error: 'TenantLocked', cause: 'held' } }),
        ev('TaskScheduled', 2),
        exited('Run stage', 3),
        entered('Start new engine', 4),
        ev('TaskFailed', 5, { taskFailedEventDetails: { error: 'EngineExited', cause: 'exit 1' } }),
        entered('Record task failure', 6),
        exited('Record task failure', 7),
      ],
      'FAILED',
    );

    expect(runs.get('Run stage')!.mark).toBe('visited');
    expect(runs.get('Run stage')!.visits[0]!.retries).toEqual([
      { error: 'TenantLocked', cause: 'held', at: at(2) },
    ]);
    expect(runs.get('Start new engine')).toMatchObject({
      mark: 'failed',
      visits: [{ error: { error: 'EngineExited', cause: 'exit 1' } }],
    });
  });

  it('marks the state an uncaught failure ended the execution in as failed', () => {
    const runs = stateRuns(
      ['Task failed'],
      [ev('FailStateEntered', 0, { stateEnteredEventDetails: { name: 'Task failed' } })],
      'FAILED',
    );

    expect(runs.get('Task failed')!.mark).toBe('failed');
  });
});

describe("a task's stages from its events", () => {
  const stageEvent = (type: string, stage: string, n: number, extra: Record<string, unknown> = {}) => ({
    type,
    currentStage: stage,
    timestamp: at(n),
    ...extra,
  });

  it('gives each stage its attempts, health answers, failed step and rollbacks', () => {
    const answers = [{ endpoint: 'app', url: 'http://x/health', ok: true, status: 200, version: '2' }];
    const views = stageViews(
      ['app', 'db'],
      ['app'],
      [
        stageEvent('TaskStageStarted', 'app', 0),
        stageEvent('TaskStageSucceeded', 'app', 2, { detail: { rounds: 3, answers } }),
        stageEvent('TaskStageStarted', 'db', 3),
        stageEvent('TaskStageFailed', 'db', 4, { failureInfo: { type: 'BROADCAST', message: '503' } }),
        stageEvent('TaskStageRollingBack', 'app', 5),
        stageEvent('TaskStageRolledBack', 'app', 7, { detail: { version: '1', rounds: 1 } }),
      ],
      new Set(),
    );

    expect(views[0]).toMatchObject({
      status: 'rolled back',
      attempts: [{ outcome: 'succeeded', rounds: 3, answers, startedAt: at(0), endedAt: at(2) }],
      rollbacks: [{ outcome: 'rolled back', version: '1', rounds: 1 }],
    });
    expect(views[1]!.status).toBe('failed');
    expect(views[1]!.steps).toEqual([
      { name: 'config-update', state: 'done' },
      { name: 'broadcast', state: 'failed' },
      { name: 'health-check', state: 'not reached' },
    ]);
  });

  it('lists the provision step only for a stage this task started an engine for', () => {
    const [withEngine, without] = stageViews(['media-engine', 'app'], [], [], new Set(['media-engine']));

    expect(withEngine!.steps.map((s) => s.name)).toEqual([
      'provision',
      'config-update',
      'broadcast',
      'health-check',
    ]);
    expect(without!.steps.map((s) => s.state)).toEqual(['not reached', 'not reached', 'not reached']);
  });
});
