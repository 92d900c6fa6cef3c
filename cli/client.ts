/** A small client for the rollout HTTP API (global fetch); server errors keep their code and message. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

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

/** The API could not be reached at all. */
export class Unreachable extends Error {}

export interface ClientConfig {
  url: string;
  token?: string;
}

/** Flags first, then the environment, then the local runtime's defaults (`.rollout/token`). */
export function resolveConfig(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): ClientConfig {
  const url = (flags.url || env.ROLLOUT_URL || DEFAULT_URL).replace(/\/+$/, '');
  const token =
    flags.token ||
    env.ROLLOUT_TOKEN ||
    readTokenFile(join(env.ROLLOUT_HOME || join(cwd, '.rollout'), 'token'));
  return { url, ...(token ? { token } : {}) };
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

export function createClient(config: ClientConfig) {
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
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Unreachable(
        `cannot reach the rollout API at ${config.url} (${cause?.code ?? cause?.message ?? (error as Error).message}); is \`npm start\` running, or is ROLLOUT_URL right?`,
      );
    }
    if (response.ok || options.allowStatus?.includes(response.status)) return response;
    const text = await response.text();
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

  return {
    config,
    raw,
    async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      const response = await raw(method, path, options);
      return (await response.json()) as T;
    },
    /** Like request, but also returns the status (for 200 vs 201). */
    async requestWithStatus<T = unknown>(method: string, path: string, options: RequestOptions = {}) {
      const response = await raw(method, path, options);
      return { status: response.status, body: (await response.json()) as T };
    },
  };
}

export type Client = ReturnType<typeof createClient>;

/** Path segment, encoded. */
export const seg = (value: string) => encodeURIComponent(value);
