/**
 * What bench/console.ts runs inside the console's page (Playwright's addInitScript, before the
 * page's own scripts). The browser globals it uses are declared here, for this file only: the
 * project's TypeScript settings are Node's.
 */

/** What one load waited for, in ms since the navigation started (the page's time origin). */
export interface LoadBreakdown {
  rowsPaintedMs: number;
  htmlMs: number;
  domContentLoadedMs: number;
  /** Every request the page made until then (the bundle, its stylesheet, the API calls). */
  requests: { path: string; startMs: number; endMs: number }[];
}

interface Entry {
  name: string;
  startTime: number;
  responseEnd: number;
  domContentLoadedEventEnd: number;
  identifier?: string;
  renderTime: number;
}
declare const performance: { getEntriesByType(type: 'navigation' | 'resource'): Entry[] };
declare const PerformanceObserver: new (
  callback: (list: { getEntries(): Entry[] }, observer: { disconnect(): void }) => void,
) => { observe(options: { type: 'element'; buffered: boolean }): void };
declare const MutationObserver: new (
  callback: (records: unknown, observer: { disconnect(): void }) => void,
) => { observe(target: unknown, options: { childList: boolean; subtree: boolean }): void };
declare const document: {
  querySelector(selector: string): { setAttribute(name: string, value: string): void } | null;
};
declare const window: Record<string, (breakdown: LoadBreakdown) => void>;

/**
 * Marks the first task row's tenant cell for Element Timing as soon as it is in the DOM (before it
 * can be painted), and calls the page's `binding` with the paint time of its text and the
 * navigation and resource timings up to then. Self-contained: Playwright sends its source text.
 */
export function observeFirstRows(binding: string) {
  const IDENTIFIER = 'first-task-row';
  const ms = (value: number) => Math.round(value);
  new PerformanceObserver((list, observer) => {
    const entry = list.getEntries().find((e) => e.identifier === IDENTIFIER);
    if (!entry) return;
    observer.disconnect();
    const nav = performance.getEntriesByType('navigation')[0]!;
    window[binding]!({
      rowsPaintedMs: ms(entry.renderTime),
      htmlMs: ms(nav.responseEnd),
      domContentLoadedMs: ms(nav.domContentLoadedEventEnd),
      requests: performance.getEntriesByType('resource').map((r) => {
        const url = new URL(r.name);
        return { path: url.pathname + url.search, startMs: ms(r.startTime), endMs: ms(r.responseEnd) };
      }),
    });
  }).observe({ type: 'element', buffered: true });
  new MutationObserver((_, observer) => {
    const cell = document.querySelector('table.tasks tbody tr td');
    if (!cell) return;
    observer.disconnect();
    cell.setAttribute('elementtiming', IDENTIFIER);
  }).observe(document, { childList: true, subtree: true });
}
