/** Where and how the CLI prints: output format, colour, terminal size. */
import { styleText } from 'node:util';
import cliTruncate from 'cli-truncate';
import stringWidth from 'string-width';
import YAML from 'yaml';

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

export interface Output {
  write(text: string): void;
  isTTY: boolean;
  /** Read on every draw: a terminal can be resized while the CLI runs. */
  columns(): number | undefined;
  rows(): number | undefined;
}

export interface Ui {
  format: Format;
  color: boolean;
  out: Output;
}

/**
 * Colour only on a terminal, never when NO_COLOR is set to anything non-empty
 * (https://no-color.org) or `--no-color` is given; FORCE_COLOR wins for pipes.
 */
export function wantsColor(flag: boolean, isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!flag || env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

type Style = Parameters<typeof styleText>[0];

export const paint = (ui: Pick<Ui, 'color'>, style: Style, text: string) =>
  ui.color && text ? styleText(style, text, { validateStream: false }) : text;

const STATUS_STYLE: Record<string, Style> = {
  COMPLETED: 'green',
  RUNNING: 'cyan',
  ROLLING_BACK: 'cyan',
  PAUSED: 'yellow',
  PENDING: 'yellow',
  CANCELLED: 'yellow',
  ROLLED_BACK: 'magenta',
  FAILED: 'red',
  ROLLBACK_FAILED: 'red',
  healthy: 'green',
  degraded: 'yellow',
  unhealthy: 'red',
};

export const paintStatus = (ui: Pick<Ui, 'color'>, status: string) =>
  STATUS_STYLE[status] ? paint(ui, STATUS_STYLE[status], status) : status;

/** Visible width: colour codes take no room, wide characters (CJK, emoji) take two columns. */
export const width = (text: string) => stringWidth(text);

export const padEnd = (text: string, to: number) => text + ' '.repeat(Math.max(0, to - width(text)));
export const padStart = (text: string, to: number) => ' '.repeat(Math.max(0, to - width(text))) + text;

/** Cuts a line to `columns` terminal cells, keeping its colours, with an ellipsis where it was cut. */
export const clip = (line: string, columns: number) =>
  width(line) <= columns ? line : cliTruncate(line, columns, { position: 'end' });

/** Machine formats print the value; `table` prints what `human` renders. */
export function emit(ui: Ui, value: unknown, human: () => string) {
  if (ui.format === 'json') ui.out.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (ui.format === 'yaml') ui.out.write(YAML.stringify(value));
  else ui.out.write(`${human()}\n`);
}

/** One record of a stream (events): a JSON line, or a YAML document. */
export function emitRecord(ui: Ui, value: unknown, human: () => string) {
  if (ui.format === 'json') ui.out.write(`${JSON.stringify(value)}\n`);
  else if (ui.format === 'yaml') ui.out.write(`---\n${YAML.stringify(value)}`);
  else ui.out.write(`${human()}\n`);
}
