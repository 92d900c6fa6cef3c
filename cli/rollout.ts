#!/usr/bin/env node
/**
 * `rollout`: the operator's command line for the tenant-rollout HTTP API.
 * Exit codes: 0 ok, 1 API or network error, 2 usage error, 3 the plan ended
 * FAILED / CANCELLED / ROLLBACK_FAILED (plan watch, events --follow) or the API is unhealthy.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import { ApiError, ConfigError, Unreachable } from './client.ts';
import { buildProgram, type Io, UsageError } from './program.ts';

const USAGE_EXIT = 2;

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function describeError(error: unknown): { message: string; code: number } {
  if (error instanceof UsageError) return { message: `error: ${error.message}`, code: USAGE_EXIT };
  if (error instanceof ConfigError) return { message: `error: ${error.message}`, code: USAGE_EXIT };
  if (error instanceof ApiError) {
    const fields = (error.details as { fields?: { path: string; message: string }[] } | undefined)?.fields;
    // A validation message already lists its fields: print each of them once, one per line.
    const body = fields?.length
      ? `\n${fields.map((f) => `  ${f.path || '(body)'}: ${f.message}`).join('\n')}`
      : ` ${error.message}`;
    const hint = error.status === 401 ? '\n(set ROLLOUT_TOKEN or --token; `npm start` prints the token)' : '';
    return { message: `error: ${error.status} ${error.code}:${body}${hint}`, code: 1 };
  }
  if (error instanceof Unreachable) return { message: `error: ${error.message}`, code: 1 };
  return { message: `error: ${(error as Error).message ?? String(error)}`, code: 1 };
}

export async function main(argv: string[], io: Io): Promise<number> {
  let code = 0;
  const program = buildProgram(io, version, (exit) => {
    code = exit;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its message (and the suggestion) already.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      return error.code === 'commander.help' ? USAGE_EXIT : error.exitCode === 0 ? 0 : USAGE_EXIT;
    }
    const { message, code: exit } = describeError(error);
    io.err(`${message}\n`);
    return exit;
  }
}

process.exitCode = await main(process.argv.slice(2), {
  out: {
    write: (text) => process.stdout.write(text),
    isTTY: Boolean(process.stdout.isTTY),
    columns: () => process.stdout.columns,
    rows: () => process.stdout.rows,
  },
  err: (text) => process.stderr.write(text),
  readFile: (file) => readFile(file, 'utf8'),
  env: process.env,
});
