/**
 * The example plans are templates: `{{DEMO_ENGINE_URL}}` stands for wherever the demo
 * engine listens, so the walkthrough works on any port. The demo engine writes the
 * filled-in plans next to the runtime's data when it starts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ENGINE_URL_PLACEHOLDER = '{{DEMO_ENGINE_URL}}';
export const EXAMPLE_PLANS = ['plan.json', 'plan-engine.json', 'plan-waves.json'] as const;

/** Where the filled-in plans go: `$ROLLOUT_HOME/examples` (default `./.rollout/examples`). */
export const examplesDir = (env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()) =>
  join(env.ROLLOUT_HOME || join(cwd, '.rollout'), 'examples');

export async function fillExamplePlan(
  name: (typeof EXAMPLE_PLANS)[number],
  engineUrl: string,
): Promise<string> {
  const template = await readFile(join(import.meta.dirname, name), 'utf8');
  return template.replaceAll(ENGINE_URL_PLACEHOLDER, engineUrl);
}

/** Writes every example plan pointed at `engineUrl` into `dir`; returns the files written. */
export async function writeExamplePlans(engineUrl: string, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  return Promise.all(
    EXAMPLE_PLANS.map(async (name) => {
      const file = join(dir, name);
      await writeFile(file, await fillExamplePlan(name, engineUrl));
      return file;
    }),
  );
}
