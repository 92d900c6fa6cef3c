import { describe, expect, it } from 'vitest';
import { checkHealth, describeFailure, judgeAnswer } from '../../../functions/core/health.ts';
import { DEFAULTS } from '../../../functions/core/settings.ts';

const target = { label: 'app@http://e', url: 'http://e/health' };

describe('judging one health answer', () => {
  it('passes a 2xx answer reporting the expected version, compared as strings', () => {
    expect(judgeAnswer(target, '2', 'version', { status: 200, body: { version: 2 } })).toMatchObject({
      ok: true,
      version: '2',
    });
  });

  it('fails a non-2xx answer even when it reports the right version', () => {
    expect(judgeAnswer(target, '2', 'version', { status: 503, body: { version: '2' } })).toMatchObject({
      ok: false,
      error: 'answered HTTP 503',
    });
  });

  it('fails a wrong version, naming both', () => {
    expect(judgeAnswer(target, '2', 'version', { status: 200, body: { version: '1' } }).error).toBe(
      'reported version 1, expected 2',
    );
  });

  it('reads the configured version key', () => {
    expect(judgeAnswer(target, '7', 'build', { status: 200, body: { build: '7', version: '1' } }).ok).toBe(
      true,
    );
    expect(judgeAnswer(target, '7', 'build', { status: 200, body: { version: '7' } }).error).toBe(
      'reported no "build"',
    );
  });

  it('fails an unreachable endpoint with the reason', () => {
    expect(judgeAnswer(target, '1', 'version', { error: 'unreachable (ECONNREFUSED)' })).toMatchObject({
      ok: false,
    });
  });
});

describe('polling rounds', () => {
  const settings = { ...DEFAULTS.healthCheck, intervalSeconds: 3, maxAttempts: 10 };

  function fakeIo(answers: (url: string, round: number) => { status: number; version: string }) {
    let round = 0;
    const sleeps: number[] = [];
    const calls: string[] = [];
    const io = {
      fetch: (async (url: string) => {
        calls.push(url);
        const answer = answers(url, round);
        return new Response(JSON.stringify({ version: answer.version }), { status: answer.status });
      }) as unknown as typeof fetch,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        round++;
      },
    };
    return { io, sleeps, calls };
  }

  it('passes only in a round where every endpoint is healthy, polling endpoints one after another', async () => {
    const targets = [target, { label: 'db@http://f', url: 'http://f/health' }];
    const { io, sleeps, calls } = fakeIo((url, round) =>
      url.startsWith('http://f') && round < 2 ? { status: 200, version: '1' } : { status: 200, version: '2' },
    );

    const result = await checkHealth(targets, '2', settings, io);

    expect(result).toMatchObject({ passed: true, rounds: 3 });
    expect(sleeps).toEqual([3000, 3000]);
    expect(calls).toEqual([
      'http://e/health',
      'http://f/health',
      'http://e/health',
      'http://f/health',
      'http://e/health',
      'http://f/health',
    ]);
  });

  it('fails after exactly maxAttempts rounds and names the endpoints failing in the last one', async () => {
    const { io, sleeps } = fakeIo(() => ({ status: 200, version: '1' }));

    const result = await checkHealth([target], '2', settings, io);

    expect(result).toMatchObject({ passed: false, rounds: 10 });
    expect(sleeps.length).toBe(9);
    expect(describeFailure(result)).toBe(
      'health check failed after 10 round(s): app@http://e reported version 1, expected 2',
    );
  });
});
