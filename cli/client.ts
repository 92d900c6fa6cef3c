/** A small client for the rollout HTTP API (global fetch); server errors keep their code and message. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_PORT = 3000;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The API could not be reached, or the connection broke before the answer was read. */
export class Unreachable extends Error {}

/** A setting in the environment that cannot be used. */
export class ConfigError extends Error {}

export interface ClientConfig {
  url: string;
  token?: string;
}

/**
 * Flags first, then the environment (`ROLLOUT_URL`, else `ROLLOUT_PORT` on 127.0.0.1,
 * as `npm start` reads it), then the local runtime's defaults (`.rollout/token`).
 */
export function resolveConfig(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): ClientConfig {
  const url = (flags.url || env.ROLLOUT_URL || `http://127.0.0.1:${apiPort(env.ROLLOUT_PORT)}`).replace(
    /\/+$/,
    '',
  );
  const token =
    flags.token ||
    env.ROLLOUT_TOKEN ||
    readTokenFile(join(env.ROLLOUT_HOME || join(cwd, '.rollout'), 'token'));
  return { url, ...(token ? { token } : {}) };
}

function apiPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new ConfigError(`ROLLOUT_PORT must be a port number (1-65535), got "${raw}"`);
  }
  return port;
}

function readTokenFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Statuses besides 2xx that carry a normal body (503 from /v1/health). */
  allowStatus?: readonly number[];
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

export function createClient(config: ClientConfig) {
  const unreachable = (error: unknown) =>
    new Unreachable(
      `cannot reach the rollout API at ${config.url} (${causeOf(error)}); is \`npm start\` running, and are ROLLOUT_URL / ROLLOUT_PORT right?`,
    );

  async function raw(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(config.url + path);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (config.token) headers.authorization = `Bearer ${config.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (error) {
      throw unreachable(error);
    }
    if (response.ok || options.allowStatus?.includes(response.status)) return response;
    const text = await readBody(response);
    let body: { code?: string; message?: string; details?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // not a JSON error body; fall back to the status line
    }
    throw new ApiError(
      response.status,
      body.code ?? `HTTP_${response.status}`,
      body.message ?? (text.slice(0, 200) || response.statusText),
      body.details,
    );
  }

  /** A server that dies mid-answer breaks the body, not the request: that is unreachable too. */
  async function readBody(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw unreachable(error);
    }
  }

  return {
    config,
    raw,
    readBody,
    async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      const response = await raw(method, path, options);
      return JSON.parse(await readBody(response)) as T;
    },
    /** Like request, but also returns the status (for 200 vs 201). */
    async requestWithStatus<T = unknown>(method: string, path: string, options: RequestOptions = {}) {
      const response = await raw(method, path, options);
      return { status: response.status, body: JSON.parse(await readBody(response)) as T };
    },
  };
}

export type Client = ReturnType<typeof createClient>;

/** Path segment, encoded. */
export const seg = (value: string) => encodeURIComponent(value);

export interface ReconnectPolicy {
  /** First pause after a failure; doubles up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up once the API has been unreachable this long. */
  giveUpAfterMs: number;
}

export const RECONNECT: ReconnectPolicy = { initialDelayMs: 250, maxDelayMs: 5_000, giveUpAfterMs: 300_000 };

/**
 * Runs `call` until it succeeds, retrying with backoff while the API is unreachable
 * (a server restart); `onRetry` tells the user. Other errors pass through at once.
 */
export async function withReconnect<T>(
  call: () => Promise<T>,
  onRetry: (info: { attempt: number; delayMs: number; error: Unreachable }) => void,
  policy: ReconnectPolicy = RECONNECT,
): Promise<T> {
  let attempt = 0;
  let since: number | undefined;
  let delayMs = policy.initialDelayMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof Unreachable)) throw error;
      since ??= Date.now();
      if (Date.now() - since >= policy.giveUpAfterMs) throw error;
      attempt += 1;
      onRetry({ attempt, delayMs, error });
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, policy.maxDelayMs);
    }
  }
}
