/**
 * Builds the web console: console/src (TypeScript) bundled by esbuild into one script, next to the
 * static files of console/static. `npm start`, the integration tests and the CDK bundling of the api
 * function all build it with this module, so what is served is always built from the source.
 *
 * Usage: node console/build.ts [--outdir <dir>]   (default dist/console)
 */
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const CONSOLE_OUTDIR = fileURLToPath(new URL('../dist/console/', import.meta.url));

export async function buildConsole(outdir: string = CONSOLE_OUTDIR): Promise<void> {
  await mkdir(outdir, { recursive: true });
  await cp(join(HERE, 'static'), outdir, { recursive: true });
  await build({
    entryPoints: [join(HERE, 'src', 'main.ts')],
    outfile: join(outdir, 'console.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  await buildConsole(values.outdir);
}
