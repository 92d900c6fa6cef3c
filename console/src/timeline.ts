/** The event timeline: newest first, the last few hundred kept on screen. */
import type { EventView } from '../../functions/api/schemas.ts';
import { h } from './dom.ts';
import { time } from './format.ts';
import { badge, link } from './ui.ts';

const KEEP = 300;

export function timeline(label: string) {
  const list = h('ol', { class: 'timeline', 'aria-label': label, reversed: true });
  const empty = h('p', { class: 'muted' }, 'No events yet.');
  const root = h('section', { class: 'timeline-section' }, h('h2', {}, label), empty, list);
  return {
    root,
    add(events: EventView[], withTenant: boolean) {
      empty.remove();
      for (const event of events) {
        const stage = event.currentStage
          ? `${event.currentStage}${event.totalStages ? ` (${event.completedStages ?? 0}/${event.totalStages})` : ''}`
          : '';
        list.prepend(
          h(
            'li',
            { 'data-type': event.type },
            h('time', { datetime: event.timestamp }, time(event.timestamp)),
            ' ',
            h('strong', {}, event.type),
            ' ',
            withTenant && event.tenantId && event.taskId
              ? link(`/console/tasks/${encodeURIComponent(event.taskId)}`, event.tenantId)
              : null,
            ' ',
            badge(event.status),
            stage ? ` ${stage}` : '',
            event.failureInfo
              ? h('span', { class: 'failure' }, ` ${event.failureInfo.type}: ${event.failureInfo.message}`)
              : null,
          ),
        );
      }
      while (list.children.length > KEEP) list.lastElementChild?.remove();
    },
  };
}
