/** The plans page: newest first, filtered by status, one page at a time, refreshed every few seconds. */
import type { PlanSummary } from '../../../functions/api/schemas.ts';
import { PLAN_STATUSES } from '../../../functions/core/model.ts';
import { api, query } from '../api.ts';
import { h, replace } from '../dom.ts';
import { time } from '../format.ts';
import { badge, link, progress } from '../ui.ts';
import type { PageContext } from './page.ts';

const PAGE_SIZE = 25;
const REFRESH_MS = 5000;

const finished = (p: PlanSummary) => p.completedTasks + p.failedTasks + p.cancelledTasks + p.rolledBackTasks;
const percentDone = (p: PlanSummary) => (p.totalTasks ? Math.round((finished(p) / p.totalTasks) * 100) : 0);

export async function plansPage({ main, signal, navigate, fail }: PageContext) {
  const params = new URLSearchParams(location.search);
  const status = params.get('status') ?? '';
  const cursor = params.get('cursor') ?? undefined;

  const select = h(
    'select',
    { id: 'status-filter', name: 'status' },
    h('option', { value: '' }, 'any status'),
    ...PLAN_STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)),
  );
  select.addEventListener('change', () => navigate(`/console${query({ status: select.value })}`));
  const table = h('div', { class: 'table-wrap' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Plan pages' });
  replace(
    main,
    h('h1', {}, 'Plans'),
    h('div', { class: 'filters' }, h('label', { for: 'status-filter' }, 'Status'), select),
    table,
    pager,
  );

  const render = (plans: PlanSummary[], next: string | undefined) => {
    replace(
      table,
      plans.length
        ? h(
            'table',
            { class: 'plans' },
            h('caption', {}, status ? `Plans with status ${status}, newest first` : 'Plans, newest first'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Plan', 'Status', 'Progress', 'Tasks', 'Failed', 'Created'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...plans.map((p) =>
                h(
                  'tr',
                  { 'data-plan': p.planId },
                  h(
                    'td',
                    {},
                    link(`/console/plans/${encodeURIComponent(p.planId)}`, p.name),
                    h('div', { class: 'id' }, p.planId),
                  ),
                  h('td', {}, badge(p.status)),
                  h('td', {}, progress(percentDone(p), `progress of ${p.name}`)),
                  h('td', {}, `${finished(p)} / ${p.totalTasks}`),
                  h('td', {}, String(p.failedTasks)),
                  h('td', {}, time(p.createdAt)),
                ),
              ),
            ),
          )
        : h(
            'p',
            {},
            status
              ? `No plan has status ${status}.`
              : 'No plans yet. Submit one with: rollout plan submit plan.json',
          ),
    );
    replace(
      pager,
      cursor ? link(`/console${query({ status })}`, 'First page') : null,
      next ? link(`/console${query({ status, cursor: next })}`, 'Next page') : null,
    );
  };

  while (!signal.aborted) {
    try {
      const page = await api<{ plans: PlanSummary[]; cursor?: string }>(
        'GET',
        `/v1/plans${query({ status, cursor, limit: PAGE_SIZE })}`,
        { signal },
      );
      render(page.plans, page.cursor);
    } catch (error) {
      if (signal.aborted) return;
      fail(error as Error);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
  }
}
