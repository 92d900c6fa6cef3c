/**
 * `npm start` as its own process (`node local/main.ts`), so a run can SIGKILL it at any moment
 * and start it again on the same ROLLOUT_HOME, as an operator would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const mainScript = fileURLToPath(new URL('../local/main.ts', import.meta.url));

export interface RuntimeProcessOptions {
  home: string;
  /** API port; 0 picks a free one. */
  port: number;
  token: string;
  env?: Record<string, string>;
  /** Every line the runtime prints. */
  onLine?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface RuntimeProcess {
  child: ChildProcess;
  pid: number;
  apiUrl: string;
  /** What the runtime printed: `dynamodb`, `sfn`, `ecs`, `eventbridge`, `api` → URL. */
  endpoints: Record<string, string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash); resolves once the process is gone. */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startRuntimeProcess(options: RuntimeProcessOptions): Promise<RuntimeProcess> {
  const child = spawn(process.execPath, [mainScript], {
    env: {
      ...process.env,
      ...options.env,
      ROLLOUT_HOME: options.home,
      ROLLOUT_PORT: String(options.port),
      ROLLOUT_TOKEN: options.token,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const output: string[] = [];
  const onLine = (line: string) => {
    output.push(line);
    if (output.length > 200) output.shift();
    options.onLine?.(line);
  };
  createInterface({ input: child.stderr! }).on('line', onLine);
  const endpoints: Record<string, string> = {};
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      onLine(line);
      const endpoint = /^\s+(\w+)\s+(http:\/\/\S+)$/.exec(line);
      if (endpoint) endpoints[endpoint[1]!] = endpoint[2]!;
      if (endpoints.api && line.startsWith('API token')) resolve(endpoints.api);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`runtime exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`)),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`runtime not ready in time:\n${output.join('\n')}`)),
      options.startTimeoutMs ?? 120_000,
    );
  });
  try {
    const apiUrl = await Promise.race([ready, timeout]);
    return {
      child,
      pid: child.pid!,
      apiUrl,
      endpoints,
      exited,
      stop(signal) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
