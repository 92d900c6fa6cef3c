/** How values read on screen (pure). Statuses always carry a word and a symbol, never colour alone. */
const SYMBOLS: Record<string, string> = {
  CREATING: '…',
  CREATED: '○',
  VALIDATED: '○',
  PENDING: '…',
  RUNNING: '▶',
  PAUSED: '⏸',
  COMPLETED: '✓',
  SUCCEEDED: '✓',
  FAILED: '✗',
  TIMED_OUT: '✗',
  ABORTED: '⊘',
  CANCELLED: '⊘',
  ROLLING_BACK: '↺',
  ROLLED_BACK: '↩',
  ROLLBACK_FAILED: '✗',
};

export const statusSymbol = (status: string) => SYMBOLS[status] ?? '•';
/** CSS class of a status: the tone (ok, bad, busy, idle) is a second cue next to the symbol and word. */
export function statusTone(status: string): string {
  if (['COMPLETED', 'SUCCEEDED', 'ROLLED_BACK'].includes(status)) return 'ok';
  if (['FAILED', 'ROLLBACK_FAILED', 'TIMED_OUT', 'ABORTED'].includes(status)) return 'bad';
  if (['RUNNING', 'ROLLING_BACK', 'PENDING', 'CREATING'].includes(status)) return 'busy';
  return 'idle';
}

export function duration(fromIso: string | undefined, toIso: string | undefined): string {
  if (!fromIso || !toIso) return '';
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function time(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
}

/** JSON for people: pretty-printed, strings that hold JSON unpacked. */
export function prettyJson(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? '';
}
