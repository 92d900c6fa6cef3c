/**
 * The web console's static bundle (built from console/ by `npm run build:console`). Every page URL
 * below /console answers the same index.html, which routes in the browser; assets are files with an
 * extension. The directory is `ROLLOUT_CONSOLE_DIR` (CDK sets it to where the bundling hook copied
 * the bundle), else dist/console of this repository.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DomainError, NotFound } from '../core/errors.ts';

export const CONSOLE_DIR_ENV = 'ROLLOUT_CONSOLE_DIR';
const DEFAULT_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Only this origin's own files run or load: the console works offline and cannot pull in a CDN. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export class ConsoleNotBuilt extends DomainError {
  constructor(dir: string) {
    super(503, 'CONSOLE_NOT_BUILT', `the web console is not built in ${dir} (run: npm run build:console)`);
  }
}

export interface Asset {
  text: string;
  contentType: string;
  headers: Record<string, string>;
}

const cache = new Map<string, Promise<string>>();

function read(file: string): Promise<string> {
  let text = cache.get(file);
  if (!text) {
    text = readFile(file, 'utf8');
    cache.set(file, text);
    text.catch(() => cache.delete(file));
  }
  return text;
}

/** `path` is what follows `/console/` ('' for /console itself). */
export async function consoleAsset(path: string): Promise<Asset> {
  const dir = process.env[CONSOLE_DIR_ENV] || DEFAULT_DIR;
  const extension = extname(path);
  const isPage = extension === '';
  // Assets are flat files of the bundle: no directories, so no way out of it.
  if (!isPage && (!/^[\w.-]+$/.test(path) || !TYPES[extension])) throw new NotFound('console asset', path);
  const name = isPage ? 'index.html' : path;
  try {
    return {
      text: await read(join(dir, name)),
      contentType: TYPES[extname(name)]!,
      headers: { ...SECURITY_HEADERS, 'cache-control': isPage ? 'no-cache' : 'max-age=300' },
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (isPage) throw new ConsoleNotBuilt(dir);
    throw new NotFound('console asset', path);
  }
}
