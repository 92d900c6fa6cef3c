/** The engine catalog as the local ECS endpoint runs it: each family is a Node child process. */
import { fileURLToPath } from 'node:url';
import { ENGINE_CATALOG, engineFamily } from '../engines/catalog.ts';
import { RESOURCE_PREFIX } from './arns.ts';
import type { EngineCommand } from './ecs.ts';

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * `extraEnv` goes to every engine (e.g. the reference engine's FAULTS in tests and demos);
 * the container overrides of RunTask still win over it.
 */
export function engineCommandsFromCatalog(
  extraEnv: Record<string, string> = {},
): Record<string, EngineCommand> {
  return Object.fromEntries(
    ENGINE_CATALOG.map((engine) => [
      engineFamily(RESOURCE_PREFIX, engine.service),
      // Locally every engine picks a free port and reports it in its hand-off.
      {
        command: process.execPath,
        args: [engine.localEntry],
        cwd: repositoryRoot,
        env: { PORT: '0', HOST: '127.0.0.1', ...extraEnv },
      },
    ]),
  );
}
