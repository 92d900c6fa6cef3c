/**
 * A task: its facts, its stages (steps, health answers per endpoint, durations, rollbacks), its
 * events, the operator actions, and the task machine's graph with what the execution did in each state.
 */
import type {
  EventView,
  HistoryEvent,
  TaskExecution,
  TaskStatusInfo,
} from '../../../functions/api/schemas.ts';
import { ApiError, api, query } from '../api.ts';
import { byId, h, replace } from '../dom.ts';
import { followPlanEvents } from '../events.ts';
import { duration, time } from '../format.ts';
import type { Asl } from '../graph.ts';
import { executionGraph, stateDetails } from '../graph-view.ts';
import { stateRuns } from '../history.ts';
import { type StageView, stageViews } from '../stages.ts';
import { timeline } from '../timeline.ts';
import { actionBar, badge, link, progress } from '../ui.ts';
import type { PageContext } from './page.ts';

interface Engine {
  service: string;
  taskId?: string;
}

function taskActions(task: TaskStatusInfo, refresh: () => void) {
  const base = `/v1/tasks/${encodeURIComponent(task.taskId)}`;
  return actionBar(
    `tenant ${task.tenantId}`,
    [
      {
        label: 'Pause',
        path: `${base}/pause`,
        explain: `The task of ${task.tenantId} stops at its next stage boundary (the stage running now finishes first) and waits until you resume it.`,
      },
      {
        label: 'Resume',
        path: `${base}/resume`,
        explain: `The task of ${task.tenantId} continues from the stage where it stopped.`,
      },
      {
        label: 'Cancel',
        path: `${base}/cancel`,
        explain: `The task of ${task.tenantId} stops at its next stage boundary and ends CANCELLED. Stages already switched keep the new config (roll back to undo them).`,
      },
      {
        label: 'Retry from checkpoint',
        path: `${base}/retry`,
        body: { fromCheckpoint: true },
        explain: `The failed task of ${task.tenantId} runs again, skipping the ${task.completedStages} stage(s) it completed (retry ${task.retryCount + 1} of at most 3).`,
      },
      {
        label: 'Retry from scratch',
        path: `${base}/retry`,
        body: { fromCheckpoint: false },
        explain: `The failed task of ${task.tenantId} runs again from its first stage (retry ${task.retryCount + 1} of at most 3).`,
      },
      {
        label: 'Roll back',
        path: `${base}/rollback`,
        explain: `Each stage this task changed for ${task.tenantId} gets its previous good config again, in reverse order; the task is ROLLED_BACK only once every endpoint reports the previous version.`,
      },
    ],
    refresh,
  );
}

function facts(task: TaskStatusInfo) {
  const t = task.timestamps;
  const row = (term: string, ...value: (Node | string)[]) => [h('dt', {}, term), h('dd', {}, ...value)];
  return h(
    'dl',
    { class: 'facts' },
    ...row(
      'Status',
      badge(task.status),
      task.paused ? ' (pause requested)' : '',
      task.cancelled ? ' (cancel requested)' : '',
    ),
    ...row('Plan', link(`/console/plans/${encodeURIComponent(task.planId)}`, task.planId)),
    ...row('Version', task.version),
    ...row(
      'Progress',
      progress(task.progressPercent, 'task progress'),
      ` ${task.completedStages}/${task.totalStages} stages`,
    ),
    ...row('Current stage', task.currentStage ?? '—'),
    ...row('Retries', `${task.retryCount} of at most 3`),
    ...(task.recoveryCount
      ? row('Recovered', `${task.recoveryCount} time(s) after its execution was lost`)
      : []),
    ...row('Created', time(t.createdAt)),
    ...(t.startedAt ? row('Started', time(t.startedAt)) : []),
    ...(t.endedAt ? row('Ended', time(t.endedAt), ` (took ${duration(t.startedAt, t.endedAt)})`) : []),
    ...(t.lastHeartbeatAt ? row('Last heartbeat', time(t.lastHeartbeatAt)) : []),
    ...(task.failureInfo
      ? row(
          'Failure',
          h(
            'span',
            { class: 'failure' },
            `${task.failureInfo.type}${task.failureInfo.stage ? ` in ${task.failureInfo.stage}` : ''}: ${task.failureInfo.message}`,
          ),
        )
      : []),
    ...(task.awsConsoleUrl
      ? row(
          'Step Functions',
          h('a', { href: task.awsConsoleUrl, rel: 'noreferrer' }, 'execution in the AWS console'),
        )
      : []),
  );
}

const STEP_SYMBOL = { done: '✓', failed: '✗', running: '▶', 'not reached': '○', unknown: '?' } as const;

function stageSection(stage: StageView) {
  const last = stage.attempts.at(-1);
  return h(
    'li',
    { class: 'stage', 'data-stage': stage.name },
    h(
      'h3',
      {},
      stage.name,
      ' ',
      h('span', { class: `stage-status ${stage.status.replace(' ', '-')}` }, stage.status),
    ),
    h(
      'ol',
      { class: 'steps', 'aria-label': `Steps of ${stage.name}` },
      ...stage.steps.map((step) =>
        h(
          'li',
          { class: `step ${step.state.replace(' ', '-')}` },
          h('span', { 'aria-hidden': 'true' }, STEP_SYMBOL[step.state]),
          ` ${step.name}: ${step.state}`,
        ),
      ),
    ),
    stage.attempts.length
      ? h(
          'ul',
          { class: 'attempts' },
          ...stage.attempts.map((a, i) =>
            h(
              'li',
              {},
              `Attempt ${i + 1}: ${a.outcome}`,
              a.startedAt ? `, started ${time(a.startedAt)}` : '',
              a.endedAt && a.startedAt ? `, took ${duration(a.startedAt, a.endedAt)}` : '',
              a.rounds !== undefined ? `, ${a.rounds} health round(s)` : '',
              a.failure
                ? h('span', { class: 'failure' }, ` — ${a.failure.type}: ${a.failure.message}`)
                : null,
            ),
          ),
        )
      : null,
    last?.answers.length
      ? h(
          'table',
          { class: 'answers' },
          h('caption', {}, `Health check of ${stage.name}: each endpoint's answer in the last round`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Endpoint', 'URL', 'Result', 'HTTP', 'Version', 'Error'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...last.answers.map((a) =>
              h(
                'tr',
                {},
                h('td', {}, a.endpoint),
                h('td', { class: 'url' }, a.url),
                h('td', {}, a.ok ? '✓ healthy' : '✗ unhealthy'),
                h('td', {}, a.status !== undefined ? String(a.status) : '—'),
                h('td', {}, a.version ?? '—'),
                h('td', { class: 'failure' }, a.error ?? ''),
              ),
            ),
          ),
        )
      : null,
    stage.rollbacks.length
      ? h(
          'ul',
          { class: 'rollbacks' },
          ...stage.rollbacks.map((r, i) =>
            h(
              'li',
              {},
              `Rollback ${i + 1}: ${r.outcome}`,
              r.version ? ` to version ${r.version}` : '',
              `, started ${time(r.startedAt)}`,
              r.endedAt ? `, took ${duration(r.startedAt, r.endedAt)}` : '',
              r.rounds !== undefined ? `, ${r.rounds} health round(s)` : '',
              r.failure
                ? h('span', { class: 'failure' }, ` — ${r.failure.type}: ${r.failure.message}`)
                : null,
            ),
          ),
        )
      : null,
  );
}

/** The execution with its whole history, or why there is none to show (the API's 404 message). */
async function loadExecution(taskId: string, signal: AbortSignal): Promise<TaskExecution | string> {
  const path = `/v1/tasks/${encodeURIComponent(taskId)}/execution`;
  try {
    const first = await api<TaskExecution>('GET', path, { signal });
    const events: HistoryEvent[] = [...first.events];
    let next = first.nextToken;
    while (next) {
      const page = await api<TaskExecution>('GET', path + query({ nextToken: next }), { signal });
      events.push(...page.events);
      next = page.nextToken;
    }
    return { ...first, events };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return error.message;
    throw error;
  }
}

export async function taskPage({ main, signal, params, fail }: PageContext) {
  const taskId = params.taskId!;
  const crumbs = h('p', { class: 'crumbs' });
  const header = h('div', { class: 'summary' });
  const actions = h('div');
  const stagesList = h('ol', { class: 'stages' });
  const graphWrap = h('div', { class: 'graph-wrap' });
  const executionFacts = h('p');
  const stateTable = h('div', { class: 'table-wrap' });
  const details = h('div', { class: 'state-details', id: 'state-details' });
  const events = timeline('Task events');
  replace(
    main,
    crumbs,
    header,
    actions,
    h(
      'section',
      { 'aria-labelledby': 'stages-title' },
      h('h2', { id: 'stages-title' }, 'Stages'),
      stagesList,
    ),
    h(
      'section',
      { 'aria-labelledby': 'execution-title' },
      h('h2', { id: 'execution-title' }, 'Execution'),
      executionFacts,
      graphWrap,
      stateTable,
      details,
    ),
    events.root,
  );

  const taskEvents: EventView[] = [];
  let task: TaskStatusInfo | undefined;
  let selected: string | undefined;
  let engineStages = new Set<string>();

  const renderStages = () => {
    if (!task) return;
    replace(
      stagesList,
      ...stageViews(task.stages, task.completedStageNames, taskEvents, engineStages).map(stageSection),
    );
  };

  const renderTask = async () => {
    task = await api<TaskStatusInfo>('GET', `/v1/tasks/${encodeURIComponent(taskId)}`, { signal });
    const engines = await api<{ engines: Engine[] }>(
      'GET',
      `/v1/engines${query({ tenantId: task.tenantId })}`,
      { signal },
    );
    engineStages = new Set(engines.engines.filter((e) => e.taskId === taskId).map((e) => e.service));
    document.title = `${task.tenantId} · tenant-rollout`;
    replace(
      crumbs,
      link('/console', 'Plans'),
      ' / ',
      link(`/console/plans/${encodeURIComponent(task.planId)}`, task.planId),
      ' / ',
      task.tenantId,
    );
    replace(
      header,
      h('h1', {}, `Tenant ${task.tenantId}`, h('span', { class: 'id' }, ` task ${task.taskId}`)),
      facts(task),
    );
    replace(actions, taskActions(task, refresh));
    renderStages();
  };

  const renderExecution = async () => {
    // Asking for an execution a task does not have yet would only log a 404 in the browser console.
    const execution = task?.executionArn
      ? await loadExecution(taskId, signal)
      : 'the task has not started an execution yet';
    if (typeof execution === 'string') {
      replace(executionFacts, `No execution to show: ${execution}.`);
      graphWrap.replaceChildren();
      stateTable.replaceChildren();
      return;
    }
    const asl = execution.definition as unknown as Asl;
    const runs = stateRuns(Object.keys(asl.States ?? {}), execution.events as never, execution.status);
    const machine = execution.stateMachineArn.split(':').at(-1);
    replace(
      executionFacts,
      `State machine ${machine}, execution ${execution.name}: `,
      badge(execution.status),
      ` started ${time(execution.startDate)}`,
      execution.stopDate ? `, took ${duration(execution.startDate, execution.stopDate)}` : '',
      execution.error
        ? h('span', { class: 'failure' }, ` — ${execution.error}: ${execution.cause ?? ''}`)
        : '',
    );
    const select = (name: string) => {
      selected = name;
      stateDetails(details, runs.get(name), name);
      byId('state-title')?.focus();
    };
    // A refresh (each live event) draws the graph again: keep the keyboard on the state it was on.
    const focused = graphWrap.contains(document.activeElement)
      ? document.activeElement?.getAttribute('data-state')
      : undefined;
    replace(graphWrap, executionGraph(asl, runs, select));
    if (focused) graphWrap.querySelector<SVGElement>(`g.state[data-state="${CSS.escape(focused)}"]`)?.focus();
    replace(
      stateTable,
      h(
        'table',
        { class: 'states' },
        h('caption', {}, 'States of the execution'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['State', 'Type', 'Mark', 'Visits', 'Last visit took'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          ...Object.entries(asl.States).map(([name, state]) => {
            const run = runs.get(name);
            const last = run?.visits.at(-1);
            return h(
              'tr',
              { 'data-state': name },
              h(
                'td',
                {},
                h('button', { type: 'button', class: 'linkish', onclick: () => select(name) }, name),
              ),
              h('td', {}, state.Type),
              h('td', {}, run?.mark ?? 'not-visited'),
              h('td', {}, String(run?.visits.length ?? 0)),
              h('td', {}, last?.exitedAt ? duration(last.enteredAt, last.exitedAt) : ''),
            );
          }),
        ),
      ),
    );
    if (selected) stateDetails(details, runs.get(selected), selected);
  };

  let pending: ReturnType<typeof setTimeout> | undefined;
  const refreshNow = async () => {
    await renderTask();
    await renderExecution();
  };
  function refresh() {
    clearTimeout(pending);
    pending = setTimeout(() => {
      refreshNow().catch((error: Error) => {
        if (!signal.aborted) fail(error);
      });
    }, 250);
  }
  signal.addEventListener('abort', () => clearTimeout(pending));

  await refreshNow();
  void followPlanEvents(
    task!.planId,
    signal,
    (batch, live) => {
      const mine = batch.filter((e) => e.taskId === taskId);
      if (!mine.length) return;
      taskEvents.push(...mine);
      events.add(mine, false);
      renderStages();
      if (live) refresh();
    },
    refresh,
    fail,
  );
}
