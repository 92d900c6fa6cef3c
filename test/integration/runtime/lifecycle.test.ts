import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunTaskCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support.ts';
import { startFixtureRuntime } from './harness.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('stop()', () => {
  it('leaves no engine process, nor anything an engine spawned, and restores the environment', async () => {
    const before = process.env.AWS_ENDPOINT_URL_SFN;
    const fx = await startFixtureRuntime();
    const pidFile = join(await mkdtemp(join(tmpdir(), 'runtime-')), 'pids.json');
    expect(process.env.AWS_ENDPOINT_URL_SFN).toBe(fx.runtime.endpoints.sfn);
    await fx.clients.ecs.send(
      new RunTaskCommand({
        taskDefinition: 'fixture-engine',
        overrides: {
          containerOverrides: [
            {
              name: 'engine',
              environment: [
                { name: 'MODE', value: 'sleep' },
                { name: 'PID_FILE', value: pidFile },
              ],
            },
          ],
        },
      }),
    );
    const pids = await eventually(async () => JSON.parse(readFileSync(pidFile, 'utf8')) as number[]);
    expect(pids.every(alive)).toBe(true);

    await fx.stop();

    expect(pids.filter(alive)).toEqual([]);
    expect(process.env.AWS_ENDPOINT_URL_SFN).toBe(before);
  });
});
