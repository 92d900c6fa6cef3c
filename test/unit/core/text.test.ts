import { describe, expect, it } from 'vitest';
import { parseOrThrow, planRequestSchema } from '../../../functions/core/schemas.ts';
import { textIssues, textProblem } from '../../../functions/core/text.ts';

describe('acceptable text', () => {
  it('accepts letters of any script, emoji (surrogate pairs), tabs and line breaks', () => {
    for (const text of ['acme', 'Größe 東京 😀', 'rule 1\trule 2\r\nrule 3']) {
      expect(textProblem(text)).toBeUndefined();
    }
  });

  it.each([
    ['a\u0000b', 'must not contain control characters (U+0000 at position 1)'],
    ['\u001b[31mred', 'must not contain control characters (U+001B at position 0)'],
    ['del\u007f', 'must not contain control characters (U+007F at position 3)'],
    ['x\ud800', 'must not contain a lone surrogate (U+D800 at position 1)'],
    ['\udc00y', 'must not contain a lone surrogate (U+DC00 at position 0)'],
  ])('refuses %j: %s', (text, message) => {
    expect(textProblem(text)).toBe(message);
  });

  it('finds bad text anywhere in a JSON value, field names included, with its path', () => {
    const issues = textIssues({
      name: 'ok',
      configs: [{ tenantId: 't', deployUnitName: 'a\u0000' }],
      'k\u0001': 1,
    });

    expect(issues).toEqual([
      { path: ['configs', 0, 'deployUnitName'], message: expect.stringContaining('U+0000') },
      { path: ['"k\\u0001"'], message: expect.stringMatching(/^field name must not contain control/) },
    ]);
  });
});

describe('a plan request from any source (API or EventBridge)', () => {
  const request = (over: Record<string, unknown>) => ({
    configs: [{ tenantId: 'acme', deployUnitVersion: '2' }],
    ...over,
  });

  it('is refused when a text field holds a NUL or a lone surrogate, naming the field', () => {
    expect(() => parseOrThrow(planRequestSchema, request({ name: 'plan\u0000' }))).toThrow(
      /name: must not contain control characters/,
    );
    expect(() =>
      parseOrThrow(planRequestSchema, {
        configs: [{ tenantId: 'acme', deployUnitVersion: '2', calledNumberRules: '\ud83d' }],
      }),
    ).toThrow(/configs\[0\]\.calledNumberRules: must not contain a lone surrogate/);
  });

  it('calls a number that JSON overflowed to Infinity what it is: not finite', () => {
    expect(() => parseOrThrow(planRequestSchema, request({ maxConcurrency: JSON.parse('1e999') }))).toThrow(
      'maxConcurrency: must be a finite number',
    );
    expect(() =>
      parseOrThrow(planRequestSchema, {
        configs: [{ tenantId: 'acme', deployUnitVersion: JSON.parse('-1e999') }],
      }),
    ).toThrow('configs[0].deployUnitVersion: must be a finite number');
  });
});
