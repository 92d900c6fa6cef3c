/**
 * Text the system accepts: what it stores it also puts in keys, logs, events and terminals, so a
 * text field must not smuggle control characters (a NUL cuts C strings and log lines short) or
 * lone UTF-16 surrogates (not encodable as UTF-8: stores and JSON readers replace or refuse them).
 * Tab, line feed and carriage return stay allowed in free text.
 */
import type { z } from 'zod';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** More findings than this in one request are summarised by the first ones. */
const MAX_ISSUES = 50;

const codePoint = (char: string) => `U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Why `value` is not acceptable text, or undefined when it is. */
export function textProblem(value: string): string | undefined {
  const control = CONTROL_CHARACTER.exec(value);
  if (control) {
    return `must not contain control characters (${codePoint(control[0])} at position ${control.index})`;
  }
  if (value.isWellFormed()) return undefined;
  const lone = LONE_SURROGATE.exec(value);
  return `must not contain a lone surrogate (${codePoint(lone?.[0] ?? '\uD800')} at position ${lone?.index ?? 0})`;
}

export interface TextIssue {
  path: (string | number)[];
  message: string;
}

/** Every string in a parsed JSON value (field names included) that is not acceptable text. */
export function textIssues(value: unknown): TextIssue[] {
  const found: TextIssue[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (found.length >= MAX_ISSUES) return;
    if (typeof node === 'string') {
      const message = textProblem(node);
      if (message) found.push({ path, message });
    } else if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) visit(item, [...path, index]);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, item] of Object.entries(node)) {
        const keyProblem = textProblem(key);
        // The field name itself is the problem; JSON-escaped, so the path prints safely.
        if (keyProblem)
          found.push({ path: [...path, JSON.stringify(key)], message: `field name ${keyProblem}` });
        else visit(item, [...path, key]);
      }
    }
  };
  visit(value, []);
  return found.slice(0, MAX_ISSUES);
}

/** For `.superRefine`: a schema whose every text field must be acceptable text. */
export function rejectUnsafeText(value: unknown, ctx: z.RefinementCtx): void {
  for (const issue of textIssues(value))
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
}
