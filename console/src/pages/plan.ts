/**
 * A plan: counts and progress, its tasks (searchable by tenant, filtered by status, paged), the live
 * event timeline, and the operator actions on the whole plan.
 */
import type { EventView, PlanView, TaskStatusInfo } from '../../../functions/api/schemas.ts';
import { TASK_STATUSES } from '../../../functions/core/model.ts';
import { api, query } from '../api.ts';
import { afterPaint, h, replace } from '../dom.ts';
import { followPlanEvents } from '../events.ts';
import { duration, time } from '../format.ts';
import { timeline } from '../timeline.ts';
import { actionBar, badge, link, progress } from '../ui.ts';
import type { PageContext } from './page.ts';

export const TASKS_PER_PAGE = 50;

interface TaskPage {
  tasks: TaskStatusInfo[];
  cursor?: string;
}

/** Tasks one page at a time: the server filters (status, tenant-id prefix) and pages; pages follow its cursor. */
class TaskPager {
  private cursors: (string | undefined)[] = [undefined];
  page = 0;
  hasNext = false;
  /** Known only when the first page is the only one. */
  total: number | undefined;
  filters = { status: '', tenant: '' };

  private readonly planId: string;
  private readonly signal: AbortSignal;

  constructor(planId: string, signal: AbortSignal) {
    this.planId = planId;
    this.signal = signal;
  }

  reset() {
    this.page = 0;
    this.cursors = [undefined];
  }

  async load(): Promise<TaskStatusInfo[]> {
    const { status, tenant } = this.filters;
    const reply = await api<TaskPage>(
      'GET',
      `/v1/plans/${encodeURIComponent(this.planId)}/tasks${query({
        limit: TASKS_PER_PAGE,
        status,
        tenant,
        cursor: this.cursors[this.page],
      })}`,
      { signal: this.signal },
    );
    this.total = reply.cursor === undefined && this.page === 0 ? reply.tasks.length : undefined;
    this.cursors[this.page + 1] = reply.cursor;
    this.hasNext = reply.cursor !== undefined;
    return reply.tasks;
  }
}

function countsList(plan: PlanView) {
  const entries = Object.entries(plan.counts).sort(([a], [b]) => a.localeCompare(b));
  return h(
    'ul',
    { class: 'counts', 'aria-label': 'Tasks per status' },
    ...entries.map(([status, count]) => h('li', {}, badge(status), ' ', h('strong', {}, String(count)))),
  );
}

/** The plan's waves in order: status, tenants, finished and failed tasks, bake and approval. */
function wavesTable(plan: PlanView) {
  if (!plan.waves?.length) return null;
  return h(
    'section',
    { 'aria-labelledby': 'waves-title' },
    h('h2', { id: 'waves-title' }, 'Waves'),
    h(
      'table',
      { class: 'waves' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Wave', 'Status', 'Tenants', 'Finished', 'Failed', 'Bake', 'Approval'].map((c) =>
            h('th', {}, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...plan.waves.map((wave) =>
          h(
            'tr',
            wave.name === plan.currentWave ? { 'aria-current': 'step' } : {},
            h('td', {}, wave.name),
            h('td', {}, badge(wave.status)),
            h('td', {}, String(wave.tenantCount)),
            h('td', {}, String(wave.completed + wave.failed)),
            h('td', {}, String(wave.failed)),
            h('td', {}, wave.bakeSeconds ? `${wave.bakeSeconds}s` : '—'),
            h('td', {}, wave.approval ? (wave.approvedAt ? 'approved' : 'required') : '—'),
          ),
        ),
      ),
    ),
  );
}

function planActions(plan: PlanView, refresh: () => void) {
  const base = `/v1/plans/${encodeURIComponent(plan.planId)}`;
  const name = `plan "${plan.name}"`;
  const waiting = plan.waves?.find((wave) => wave.status === 'AWAITING_APPROVAL');
  return actionBar(
    name,
    [
      ...(waiting
        ? [
            {
              label: `Approve wave ${waiting.name}`,
              path: `${base}/approve`,
              explain: `Wave ${waiting.name} starts: its ${waiting.tenantCount} tenant(s) get the new config, at most ${waiting.maxConcurrency} at once.`,
            },
          ]
        : []),
      {
        label: 'Pause',
        path: `${base}/pause`,
        explain: `Every task of this plan that has not finished stops at its next stage boundary (a stage that is running finishes first). Tasks not started yet wait until you resume.`,
      },
      {
        label: 'Resume',
        path: `${base}/resume`,
        explain: 'Every paused task of this plan continues from the stage where it stopped.',
      },
      {
        label: 'Cancel',
        path: `${base}/cancel`,
        explain:
          'Tasks not started yet never start; running tasks stop at their next stage boundary. Stages already switched keep the new config (roll back to undo them).',
      },
      {
        label: 'Retry from checkpoint',
        path: `${base}/retry`,
        body: { fromCheckpoint: true },
        explain:
          'Every FAILED task of this plan (with fewer than 3 retries) runs again, skipping the stages it already completed.',
      },
      {
        label: 'Retry from scratch',
        path: `${base}/retry`,
        body: { fromCheckpoint: false },
        explain:
          'Every FAILED task of this plan (with fewer than 3 retries) runs again from its first stage.',
      },
      {
        label: 'Roll back',
        path: `${base}/rollback`,
        explain:
          'Every task of this plan that changed something re-sends the previous good config of each changed stage, in reverse order, and is declared rolled back only once every endpoint reports the previous version.',
      },
    ],
    refresh,
  );
}

export async function planPage({ main, signal, params, fail }: PageContext) {
  const planId = params.planId!;
  const readPlan = () => api<PlanView>('GET', `/v1/plans/${encodeURIComponent(planId)}`, { signal });
  const pager = new TaskPager(planId, signal);
  // The first reads leave before the page is built: the rows wait on the API, not on the DOM too.
  const firstTasks = pager.load();
  const firstPlan = readPlan();
  const header = h('div', { class: 'summary' });
  const actions = h('div');
  const search = h('input', {
    id: 'tenant-search',
    type: 'search',
    name: 'tenant',
    autocomplete: 'off',
    placeholder: 'tenant id starts with…',
  });
  const statusSelect = h(
    'select',
    { id: 'task-status', name: 'status' },
    h('option', { value: '' }, 'any status'),
    ...TASK_STATUSES.map((s) => h('option', { value: s }, s)),
  );
  const tableWrap = h('div', { class: 'table-wrap' });
  const pagerNav = h('nav', { class: 'pager', 'aria-label': 'Task pages' });
  const events = timeline('Events');
  replace(
    main,
    h('p', { class: 'crumbs' }, link('/console', 'Plans'), ' / ', planId),
    header,
    actions,
    h(
      'section',
      { 'aria-labelledby': 'tasks-title' },
      h('h2', { id: 'tasks-title' }, 'Tasks'),
      h(
        'form',
        { class: 'filters', role: 'search', onsubmit: (e: Event) => e.preventDefault() },
        h('label', { for: 'tenant-search' }, 'Tenant'),
        search,
        h('label', { for: 'task-status' }, 'Status'),
        statusSelect,
      ),
      tableWrap,
      pagerNav,
    ),
    events.root,
  );

  const renderTasks = async (reading = pager.load()) => {
    const tasks = await reading;
    const first = pager.page * TASKS_PER_PAGE;
    replace(
      tableWrap,
      tasks.length
        ? h(
            'table',
            { class: 'tasks' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Tenant', 'Status', 'Current stage', 'Progress', 'Retries', 'Duration', 'Failure'].map(
                  (c) => h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...tasks.map((t) =>
                h(
                  'tr',
                  { 'data-tenant': t.tenantId },
                  h('td', {}, link(`/console/tasks/${encodeURIComponent(t.taskId)}`, t.tenantId)),
                  h(
                    'td',
                    {},
                    badge(t.status),
                    t.paused ? ' (pause requested)' : '',
                    t.cancelled ? ' (cancel requested)' : '',
                  ),
                  h('td', {}, t.currentStage ?? '—'),
                  h(
                    'td',
                    {},
                    progress(t.progressPercent, `progress of ${t.tenantId}`),
                    ` ${t.completedStages}/${t.totalStages}`,
                  ),
                  h('td', {}, String(t.retryCount)),
                  h(
                    'td',
                    {},
                    duration(t.timestamps.startedAt, t.timestamps.endedAt ?? t.timestamps.updatedAt),
                  ),
                  h(
                    'td',
                    { class: 'failure' },
                    t.failureInfo ? `${t.failureInfo.type}: ${t.failureInfo.message}` : '',
                  ),
                ),
              ),
            ),
          )
        : h('p', {}, 'No task matches.'),
    );
    const shown =
      pager.total !== undefined
        ? `Tasks ${tasks.length ? first + 1 : 0}–${first + tasks.length} of ${pager.total}`
        : `Page ${pager.page + 1}`;
    replace(
      pagerNav,
      h(
        'button',
        {
          type: 'button',
          disabled: pager.page === 0,
          onclick: () => {
            pager.page -= 1;
            void renderTasks().catch(fail);
          },
        },
        'Previous',
      ),
      h('span', { class: 'shown', 'aria-live': 'polite' }, shown),
      h(
        'button',
        {
          type: 'button',
          disabled: !pager.hasNext,
          onclick: () => {
            pager.page += 1;
            void renderTasks().catch(fail);
          },
        },
        'Next',
      ),
    );
  };

  const renderPlan = async (reading = readPlan()) => {
    const plan = await reading;
    document.title = `${plan.name} · tenant-rollout`;
    replace(
      header,
      h('h1', {}, plan.name),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', {}, badge(plan.status)),
        h('dt', {}, 'Progress'),
        h('dd', {}, progress(plan.progressPercent, 'plan progress'), ` stages done over all tasks`),
        h('dt', {}, 'Tasks'),
        h(
          'dd',
          {},
          `${plan.totalTasks} (${plan.completedTasks} completed, ${plan.failedTasks} failed, ${plan.cancelledTasks} cancelled, ${plan.rolledBackTasks} rolled back)`,
        ),
        h('dt', {}, 'Max concurrency'),
        h('dd', {}, String(plan.maxConcurrency)),
        h('dt', {}, 'Created'),
        h('dd', {}, time(plan.createdAt)),
        plan.startedAt ? h('dt', {}, 'Duration') : null,
        plan.startedAt
          ? h('dd', {}, duration(plan.startedAt, plan.endedAt ?? new Date().toISOString()))
          : null,
        plan.failureInfo ? h('dt', {}, 'Failure') : null,
        plan.failureInfo
          ? h('dd', { class: 'failure' }, `${plan.failureInfo.type}: ${plan.failureInfo.message}`)
          : null,
        plan.awsConsoleUrl ? h('dt', {}, 'Step Functions') : null,
        plan.awsConsoleUrl
          ? h(
              'dd',
              {},
              h('a', { href: plan.awsConsoleUrl, rel: 'noreferrer' }, 'execution in the AWS console'),
            )
          : null,
      ),
      countsList(plan),
      wavesTable(plan),
    );
    replace(actions, planActions(plan, refresh));
  };

  // A busy plan sends events in bursts: one re-read of the plan and the visible page per burst.
  const REFRESH_AFTER_MS = 1000;
  let pending: ReturnType<typeof setTimeout> | undefined;
  const refreshNow = () => Promise.all([renderPlan(), renderTasks()]);
  function refresh() {
    clearTimeout(pending);
    pending = setTimeout(() => {
      refreshNow().catch((error: Error) => {
        if (!signal.aborted) fail(error);
      });
    }, REFRESH_AFTER_MS);
  }
  signal.addEventListener('abort', () => clearTimeout(pending));

  let typing: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      pager.filters.tenant = search.value.trim();
      pager.reset();
      void renderTasks().catch(fail);
    }, 200);
  });
  statusSelect.addEventListener('change', () => {
    pager.filters.status = statusSelect.value;
    pager.reset();
    void renderTasks().catch(fail);
  });

  await Promise.all([renderPlan(firstPlan), renderTasks(firstTasks)]);
  // The timeline reads every event so far (thousands on a large plan) and renders each page it gets:
  // it starts once the rows are on screen, so it never holds them back.
  await afterPaint();
  if (signal.aborted) return;
  void followPlanEvents(
    planId,
    signal,
    (batch: EventView[], live) => {
      events.add(batch, true);
      if (live) refresh();
    },
    refresh,
    fail,
  );
}
