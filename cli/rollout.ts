#!/usr/bin/env node
/**
 * `rollout`: the operator's command line for the tenant-rollout HTTP API.
 * Exit codes: 0 ok, 1 API or network error, 2 usage error, 3 the watched plan
 * ended FAILED / CANCELLED / ROLLBACK_FAILED (or the API is unhealthy).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ApiError, createClient, resolveConfig, Unreachable } from './client.ts';
import { runCommand, UsageError } from './commands.ts';

export const USAGE = `usage: rollout [--url URL] [--token TOKEN] [--json] <command>

commands:
  plan submit <file> [--dry-run] [--max-concurrency N] [--idempotency-key K]
  plan list [--status S] [--limit N] [--cursor C]
  plan show <planId>
  plan watch <planId>                    live progress; exit 3 if the plan fails
  plan pause|resume|cancel|rollback <planId>
  plan retry <planId> [--from-scratch]
  plan delete <planId> [--force] [--dry-run]
  task show|pause|resume|cancel|rollback|retry <taskId> [--from-scratch]
  tenant show|pause|resume|cancel|rollback|retry <tenantId> [--from-scratch]
  events <planId> [--follow] [--after ID]
  engines [--tenant T]
  health

environment: ROLLOUT_URL (default http://127.0.0.1:3000), ROLLOUT_TOKEN
(default: the token in $ROLLOUT_HOME/token or ./.rollout/token)`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'dry-run': { type: 'boolean' },
  'max-concurrency': { type: 'string' },
  'idempotency-key': { type: 'string' },
  'from-scratch': { type: 'boolean' },
  force: { type: 'boolean' },
  follow: { type: 'boolean', short: 'f' },
  after: { type: 'string' },
  tenant: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

export type Flags = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

function describeError(error: unknown): { message: string; code: number } {
  if (error instanceof UsageError) return { message: `${error.message}\n\n${USAGE}`, code: 2 };
  if (error instanceof ApiError) {
    const fields = (error.details as { fields?: { path: string; message: string }[] } | undefined)?.fields;
    const list = fields?.length
      ? `\n${fields.map((f) => `  ${f.path || '(body)'}: ${f.message}`).join('\n')}`
      : '';
    const hint = error.status === 401 ? '\n(set ROLLOUT_TOKEN or --token; `npm start` prints the token)' : '';
    return { message: `error: ${error.status} ${error.code}: ${error.message}${list}${hint}`, code: 1 };
  }
  if (error instanceof Unreachable) return { message: `error: ${error.message}`, code: 1 };
  return { message: `error: ${(error as Error).message ?? String(error)}`, code: 1 };
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return parsed.values.help ? 0 : 2;
  }
  const client = createClient(resolveConfig(parsed.values));
  try {
    return await runCommand(client, parsed.positionals, parsed.values, {
      out: {
        write: (t) => process.stdout.write(t),
        isTTY: Boolean(process.stdout.isTTY),
        rows: process.stdout.rows,
      },
      readFile: (file) => readFile(file, 'utf8'),
    });
  } catch (error) {
    const { message, code } = describeError(error);
    process.stderr.write(`${message}\n`);
    return code;
  }
}

process.exitCode = await main(process.argv.slice(2));
