import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { alive } from '../../../chaos/processes.ts';
import { type EcsTask, LocalEcs } from '../../../local/ecs.ts';
import { engineCommands } from '../../fixtures/runtime/specs.ts';
import { eventually } from '../support.ts';

const owner = fileURLToPath(new URL('../../fixtures/runtime/ecs-owner.ts', import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A runtime that started one engine and was then SIGKILLed: the engine's pids and the record directory. */
async function crashedRuntime() {
  const dir = await mkdtemp(join(tmpdir(), 'ecs-records-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pids.json');
  const child: ChildProcess = spawn(process.execPath, [owner], {
    env: { ...process.env, RECORD_DIR: join(dir, 'ecs'), PID_FILE: pidFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once('line', resolve),
  );
  const { taskArn } = JSON.parse(line) as { taskArn: string };
  const pids = await eventually(
    async () => existsSync(pidFile) && (JSON.parse(readFileSync(pidFile, 'utf8')) as number[]),
  );
  cleanups.push(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { recordDir: join(dir, 'ecs'), taskArn, pids };
}

function restartedEcs(recordDir: string) {
  const stopped: EcsTask[] = [];
  const ecs = new LocalEcs({
    engineCommands,
    log: () => undefined,
    recordDir,
    stopGraceMs: 2_000,
    onTaskStopped: (task) => stopped.push(task),
  });
  cleanups.push(() => ecs.stopAll());
  return { ecs, stopped };
}

describe('the local ECS after its runtime was killed', () => {
  it('adopts an engine of the previous run that still runs, and StopTask stops it with its whole group', async () => {
    const crashed = await crashedRuntime();
    expect(crashed.pids.every(alive)).toBe(true);
    const { ecs, stopped } = restartedEcs(crashed.recordDir);

    expect(ecs.adoptRecorded()).toEqual({ adopted: 1, gone: 0 });
    expect(ecs.list({ family: 'fixture-engine' }).map((t) => t.taskArn)).toEqual([crashed.taskArn]);
    ecs.stopTask(crashed.taskArn, 'no longer needed');

    await eventually(async () => stopped.length === 1 && crashed.pids.every((pid) => !alive(pid)));
    expect(stopped[0]).toMatchObject({
      taskArn: crashed.taskArn,
      stopCode: 'UserInitiated',
      lastStatus: 'STOPPED',
    });
    expect(restartedEcs(crashed.recordDir).ecs.adoptRecorded()).toEqual({ adopted: 0, gone: 0 });
  });

  it('reports an engine that ended while the runtime was down as stopped', async () => {
    const crashed = await crashedRuntime();
    process.kill(-crashed.pids[0]!, 'SIGKILL');
    await eventually(async () => crashed.pids.every((pid) => !alive(pid)));
    const { ecs, stopped } = restartedEcs(crashed.recordDir);

    expect(ecs.adoptRecorded()).toEqual({ adopted: 0, gone: 1 });

    expect(stopped).toMatchObject([{ taskArn: crashed.taskArn, stopCode: 'EssentialContainerExited' }]);
    expect(ecs.list({ family: 'fixture-engine' })).toEqual([]);
  });

  it('notices when an adopted engine exits on its own', async () => {
    const crashed = await crashedRuntime();
    const { ecs, stopped } = restartedEcs(crashed.recordDir);
    ecs.adoptRecorded();

    process.kill(crashed.pids[0]!, 'SIGKILL');

    await eventually(async () => stopped.length === 1);
    expect(stopped[0]).toMatchObject({ taskArn: crashed.taskArn, stopCode: 'EssentialContainerExited' });
    await eventually(async () => !alive(crashed.pids[1]!));
  });
});
