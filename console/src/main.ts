/**
 * The console's router: pages have their own URLs below /console, links are ordinary links the
 * router takes over, and leaving a page aborts its requests (long polls included).
 */
import { ApiError, token } from './api.ts';
import { byId, h, replace } from './dom.ts';
import type { PageContext } from './pages/page.ts';
import { planPage } from './pages/plan.ts';
import { plansPage } from './pages/plans.ts';
import { taskPage } from './pages/task.ts';
import { notice, tokenForm } from './ui.ts';

type Page = (ctx: PageContext) => Promise<void>;

const ROUTES: [RegExp, string[], Page][] = [
  [/^\/console\/?$/, [], plansPage],
  [/^\/console\/plans\/([^/]+)\/?$/, ['planId'], planPage],
  [/^\/console\/tasks\/([^/]+)\/?$/, ['taskId'], taskPage],
];

let current: AbortController | undefined;
const main = () => byId('main');

function navigate(path: string) {
  history.pushState(null, '', path);
  void render();
}

function fail(error: Error) {
  if (error instanceof ApiError && error.status === 401) {
    current?.abort();
    token.clear();
    tokenForm(main(), 'The API refused this token. Enter the current one.', () => void render());
    return;
  }
  if ((error as Error).name === 'AbortError') return;
  notice(error.message, 'error');
}

async function render() {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  byId('sign-out').hidden = !token.get();
  if (!token.get()) {
    tokenForm(main(), undefined, () => void render());
    return;
  }
  const path = location.pathname;
  for (const [pattern, names, page] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
    notice('');
    try {
      await page({ main: main(), signal: controller.signal, params, navigate, fail });
    } catch (error) {
      if (!controller.signal.aborted) fail(error as Error);
    }
    return;
  }
  replace(
    main(),
    h('h1', {}, 'Not found'),
    h('p', {}, 'No console page has this address. ', h('a', { href: '/console' }, 'All plans')),
  );
}

document.addEventListener('click', (event) => {
  const anchor = (event.target as Element).closest('a');
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/console')) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
  main().focus();
});
window.addEventListener('popstate', () => void render());
byId('sign-out').addEventListener('click', () => {
  token.clear();
  void render();
});

token.fromHash();
void render();
