/**
 * The execution drawn as SVG: one box per state with its name as text, arrows for transitions, and
 * each state's mark as a word and a border style (solid visited, thick current, double failed,
 * dashed never entered), with colour only as a third cue. Boxes are focusable buttons that show the
 * state's visits (input, output, error) below the drawing.
 */
import { h, replace, s } from './dom.ts';
import { duration, prettyJson, time } from './format.ts';
import { type Asl, layout, NODE } from './graph.ts';
import type { StateMark, StateRun } from './history.ts';

const MARK_TEXT: Record<StateMark, string> = {
  'not-visited': 'not entered',
  visited: '✓ visited',
  current: '▶ current',
  failed: '✗ failed',
};

function markerDefs() {
  return s(
    'defs',
    {},
    s(
      'marker',
      {
        id: 'arrow',
        viewBox: '0 0 10 10',
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: 'auto-start-reverse',
      },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
    ),
  );
}

function truncate(text: string, max: number) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function executionGraph(asl: Asl, runs: Map<string, StateRun>, onSelect: (name: string) => void) {
  const graph = layout(asl);
  const at = new Map(graph.nodes.map((n) => [n.name, n]));
  const svg = s('svg', {
    class: 'graph',
    viewBox: `0 0 ${graph.width} ${graph.height}`,
    width: graph.width,
    height: graph.height,
    role: 'group',
    'aria-label': 'State machine of this execution',
  });
  svg.append(s('title', {}, 'State machine of this execution'), markerDefs());

  const right = graph.width - NODE.margin;
  graph.edges.forEach((edge, i) => {
    const a = at.get(edge.from)!;
    const b = at.get(edge.to)!;
    let d: string;
    if (edge.back) {
      // Up the right-hand lane, one track per edge so loops stay apart.
      const lane = right - (i % 3) * 8;
      const ay = a.y + NODE.height / 2;
      const by = b.y + NODE.height / 2;
      d = `M${a.x + NODE.width},${ay} C${lane},${ay} ${lane},${by} ${b.x + NODE.width},${by}`;
    } else {
      const ax = a.x + NODE.width / 2;
      const ay = a.y + NODE.height;
      const bx = b.x + NODE.width / 2;
      const by = b.y;
      const mid = (ay + by) / 2;
      d = `M${ax},${ay} C${ax},${mid} ${bx},${mid} ${bx},${by}`;
    }
    const traversed =
      (runs.get(edge.from)?.visits.length ?? 0) > 0 && (runs.get(edge.to)?.visits.length ?? 0) > 0;
    svg.append(
      s(
        'path',
        { d, class: `edge ${edge.kind}${traversed ? ' traversed' : ''}`, 'marker-end': 'url(#arrow)' },
        s('title', {}, `${edge.from} → ${edge.to}${edge.kind === 'catch' ? ' (on error)' : ''}`),
      ),
    );
  });

  for (const node of graph.nodes) {
    const run = runs.get(node.name);
    const mark = run?.mark ?? 'not-visited';
    const visits = run?.visits.length ?? 0;
    const label = `${node.name} (${node.type}): ${MARK_TEXT[mark]}${visits ? `, entered ${visits} time${visits > 1 ? 's' : ''}` : ''}`;
    const group = s(
      'g',
      {
        class: `state ${mark}`,
        tabindex: 0,
        role: 'button',
        'aria-label': label,
        'data-state': node.name,
        'data-mark': mark,
        transform: `translate(${node.x},${node.y})`,
      },
      s('title', {}, label),
      s('rect', { width: NODE.width, height: NODE.height, rx: node.type === 'Choice' ? 18 : 6 }),
      mark === 'failed'
        ? s('rect', { class: 'inner', x: 3, y: 3, width: NODE.width - 6, height: NODE.height - 6, rx: 4 })
        : null,
      s('text', { x: NODE.width / 2, y: 19, class: 'name' }, truncate(node.name, 24)),
      s(
        'text',
        { x: NODE.width / 2, y: 36, class: 'mark' },
        `${MARK_TEXT[mark]}${visits > 1 ? ` ×${visits}` : ''}`,
      ),
    );
    const select = () => onSelect(node.name);
    group.addEventListener('click', select);
    group.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select();
      }
    });
    svg.append(group);
  }
  return svg;
}

/** The visits of one state: when, how long, input, output and error of each. */
export function stateDetails(target: HTMLElement, run: StateRun | undefined, name: string) {
  const visits = run?.visits ?? [];
  replace(
    target,
    h('h3', { id: 'state-title', tabindex: -1 }, `State "${name}"`),
    visits.length
      ? h(
          'ol',
          { class: 'visits' },
          ...visits.map((v, i) =>
            h(
              'li',
              {},
              h(
                'p',
                {},
                `Visit ${i + 1}: entered ${time(v.enteredAt)}`,
                v.exitedAt ? `, left after ${duration(v.enteredAt, v.exitedAt)}` : ', not left',
                v.retries.length ? `, ${v.retries.length} failed attempt(s) retried` : '',
              ),
              ...v.retries.map((r) => h('p', { class: 'failure' }, `retried after ${r.error}: ${r.cause}`)),
              v.error ? h('p', { class: 'failure' }, `✗ ${v.error.error}: ${v.error.cause}`) : null,
              h(
                'details',
                { open: i === visits.length - 1 },
                h('summary', {}, 'Input'),
                h('pre', {}, prettyJson(v.input ?? '')),
              ),
              v.output !== undefined
                ? h(
                    'details',
                    { open: i === visits.length - 1 },
                    h('summary', {}, 'Output'),
                    h('pre', {}, prettyJson(v.output)),
                  )
                : null,
            ),
          ),
        )
      : h('p', {}, 'This execution has not entered this state.'),
  );
}
