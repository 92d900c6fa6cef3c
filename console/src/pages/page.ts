/** What the router hands every page. */
export interface PageContext {
  main: HTMLElement;
  /** Aborts when the user leaves the page. */
  signal: AbortSignal;
  params: Record<string, string>;
  navigate(path: string): void;
  /** Shows an error (a refused token brings back the token form). */
  fail(error: Error): void;
}
