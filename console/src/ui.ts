/** Pieces every page uses: status badges, progress bars, the notice line, confirmation, token form. */
import { api, token } from './api.ts';
import { byId, h, replace } from './dom.ts';
import { statusSymbol, statusTone } from './format.ts';

export function badge(status: string) {
  return h(
    'span',
    { class: `badge ${statusTone(status)}` },
    h('span', { 'aria-hidden': 'true' }, statusSymbol(status)),
    ` ${status}`,
  );
}

export function progress(percent: number, label: string) {
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: 100, value: percent, 'aria-label': label }),
    h('span', { class: 'percent' }, `${percent}%`),
  );
}

export function notice(message: string, tone: 'info' | 'error' = 'info') {
  const el = byId('notice');
  el.className = tone;
  el.textContent = message;
}

export function link(href: string, ...text: string[]) {
  return h('a', { href }, ...text);
}

/** Asks before an action; resolves true only when the user confirmed. */
export function confirmAction(title: string, text: string, verb: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-title').textContent = title;
  byId('confirm-text').textContent = text;
  byId('confirm-yes').textContent = verb;
  dialog.returnValue = '';
  dialog.showModal();
  byId('confirm-no').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

export interface Action {
  /** Button text. */
  label: string;
  /** The API path to POST to. */
  path: string;
  body?: unknown;
  /** What the confirmation says will happen. */
  explain: string;
}

interface OperationResult {
  success: boolean;
  finalStatus: string;
  message: string;
}

export function actionBar(target: string, actions: Action[], onDone: () => void) {
  return h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': `Actions on ${target}` },
    ...actions.map((action) =>
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            const ok = await confirmAction(`${action.label}: ${target}`, action.explain, action.label);
            if (!ok) return;
            try {
              const result = await api<OperationResult>('POST', action.path, { body: action.body ?? {} });
              notice(
                `${action.label} ${target}: ${result.success ? 'done' : 'not applied'}, now ${result.finalStatus} (${result.message})`,
                result.success ? 'info' : 'error',
              );
            } catch (error) {
              notice(`${action.label} ${target} refused: ${(error as Error).message}`, 'error');
            }
            onDone();
          },
        },
        action.label,
      ),
    ),
  );
}

/** The token form; `reason` says why it is shown again (a token that was refused). */
export function tokenForm(main: HTMLElement, reason: string | undefined, onSaved: () => void) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
  });
  replace(
    main,
    h(
      'form',
      {
        class: 'token',
        onsubmit: (event: Event) => {
          event.preventDefault();
          token.set(input.value.trim());
          onSaved();
        },
      },
      h('h1', {}, 'Sign in'),
      reason ? h('p', { class: 'error', role: 'alert' }, reason) : null,
      h(
        'p',
        {},
        'Enter the API token. Locally it is printed by ',
        h('code', {}, 'npm start'),
        ' and kept in ',
        h('code', {}, '.rollout/token'),
        '. It stays in this browser tab only (sessionStorage).',
      ),
      h('label', { for: 'token' }, 'API token'),
      input,
      h('button', { type: 'submit', class: 'primary' }, 'Use token'),
    ),
  );
  input.focus();
}
