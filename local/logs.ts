/**
 * Function logs, kept as Lambda keeps them: what a function writes to stdout or
 * stderr while it runs goes to that function's log, not to the terminal. Here a
 * log is one file per function, `<dir>/<function>.log`, holding JSON lines
 * (Powertools log records and EMF metric records, as CloudWatch would receive them).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

type Write = (chunk: string | Uint8Array) => void;

/** The log of the function whose invocation is running in this async context. */
const currentLog = new AsyncLocalStorage<Write>();
let captured = false;

/**
 * Routes process-wide stdout/stderr writes made inside an invocation to its log.
 * Everything else (the runtime's own output) is written as before.
 */
function captureFunctionOutput() {
  if (captured) return;
  captured = true;
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      const write = currentLog.getStore();
      if (!write) return original(...args);
      write(args[0] as string | Uint8Array);
      return true;
    }) as typeof stream.write;
  }
}

export class FunctionLogs {
  readonly dir: string;
  private readonly files = new Map<string, WriteStream>();
  private closed = false;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    captureFunctionOutput();
  }

  /** The file a function's invocations log to. */
  fileOf(functionName: string): string {
    return join(this.dir, `${functionName}.log`);
  }

  /** Runs `fn` as (part of) an invocation of `functionName`: its output goes to that function's log. */
  run<T>(functionName: string, fn: () => T): T {
    return currentLog.run((chunk) => this.write(functionName, chunk), fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map((file) => new Promise<void>((resolve) => file.end(resolve))));
  }

  private write(functionName: string, chunk: string | Uint8Array) {
    // An invocation still running while the runtime stops has nowhere left to log.
    if (this.closed) return;
    let file = this.files.get(functionName);
    if (!file) {
      const path = this.fileOf(functionName);
      file = createWriteStream(path, { flags: 'a' });
      file.on('error', (error) => {
        // To the terminal: the file that would hold the function's log is the one that failed.
        currentLog.exit(() => process.stderr.write(`function log ${path}: ${error.message}\n`));
      });
      this.files.set(functionName, file);
    }
    file.write(chunk);
  }
}
