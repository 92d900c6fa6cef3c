import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness, TOKEN } from './harness.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(async () => {
  await api?.stop();
});

const KNOWN = new Set([
  'name',
  'maxConcurrency',
  'failureThreshold',
  'dryRun',
  'healthCheck',
  'broadcastPath',
  'provisionTimeoutSeconds',
  'configs',
]);

/** Bodies that can never be a valid plan request. */
const malformedBody = () => {
  const valid = api.planBody(['prop-tenant']);
  const config = (valid.configs as Record<string, unknown>[])[0]!;
  return fc.oneof(
    // Text that is not JSON at all, or JSON that is not a plan.
    fc.string().filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    }),
    fc
      .jsonValue()
      .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
      .map((v) => JSON.stringify(v)),
    // A valid request with one unknown top-level field.
    fc
      .tuple(
        fc.string({ minLength: 1 }).filter((k) => !KNOWN.has(k) && k !== '__proto__'),
        fc.jsonValue(),
      )
      .map(([key, value]) => JSON.stringify({ ...valid, [key]: value })),
    // A config without its tenantId, or with a tenantId that is not an id.
    fc
      .oneof(
        fc.constant(undefined),
        fc.integer(),
        fc.constant(''),
        fc.string().map((s) => ` ${s}`),
      )
      .map((tenantId) => JSON.stringify({ ...valid, configs: [{ ...config, tenantId }] })),
    // Numbers out of range or of the wrong kind.
    fc
      .oneof(
        fc.integer({ max: 0 }),
        fc.integer({ min: 1001 }),
        fc.double({ min: 1.01, max: 999, noInteger: true }),
        fc.string(),
      )
      .map((maxConcurrency) => JSON.stringify({ ...valid, maxConcurrency })),
    fc
      .array(fc.jsonValue(), { maxLength: 3 })
      .map((configs) => JSON.stringify({ configs: configs.length ? [...configs, 7] : [] })),
  );
};

it('answers hundreds of malformed plan requests with 4xx and leaves the table unchanged', {
  timeout: 120_000,
}, async () => {
  const before = await api.countItems();
  const statuses = new Set<number>();

  await fc.assert(
    fc.asyncProperty(malformedBody(), async (rawBody) => {
      const reply = await api.call('POST', '/v1/plans', { rawBody });
      statuses.add(reply.status);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      expect(typeof reply.body.message).toBe('string');
    }),
    { numRuns: 300 },
  );

  expect([...statuses].sort()).toEqual([400]);
  expect(await api.countItems()).toBe(before);
});

it('refuses bytes that are not UTF-8, control characters, lone surrogates, non-JSON content types and infinite numbers over HTTP, storing nothing', async () => {
  const before = await api.countItems();
  const valid = JSON.stringify(api.planBody([`strict-${Date.now().toString(36)}`]));
  const post = async (body: string | Uint8Array, contentType = 'application/json', path = '/v1/plans') => {
    const response = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
      body,
    });
    return { status: response.status, body: (await response.json()) as { code: string; message: string } };
  };

  const cases = [
    await post(Buffer.concat([Buffer.from(valid.slice(0, -1)), Buffer.from(',"name":"\xff"}', 'latin1')])),
    await post(valid.replace('{', String.raw`{"name":"x\u0000y",`)),
    await post(valid.replace('{', String.raw`{"name":"\udfff",`)),
    await post(valid.replace('{', '{"maxConcurrency":1e999,')),
    await post(valid, 'text/plain'),
    await post('{}', 'text/plain', '/v1/tenants/nobody/pause'),
  ];

  expect(cases.map((c) => [c.status, c.body.code])).toEqual([
    [400, 'MALFORMED_JSON'],
    [400, 'VALIDATION_FAILED'],
    [400, 'VALIDATION_FAILED'],
    [400, 'VALIDATION_FAILED'],
    [415, 'UNSUPPORTED_MEDIA_TYPE'],
    [415, 'UNSUPPORTED_MEDIA_TYPE'],
  ]);
  expect(cases[0]!.body.message).toBe('request body is not valid JSON: not valid UTF-8');
  expect(cases[1]!.body.message).toBe('name: must not contain control characters (U+0000 at position 1)');
  expect(cases[2]!.body.message).toBe('name: must not contain a lone surrogate (U+DFFF at position 0)');
  expect(cases[3]!.body.message).toBe('maxConcurrency: must be a finite number');
  expect(await api.countItems()).toBe(before);
});
