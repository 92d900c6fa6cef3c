/** What every chaos scenario shares: the tenants' endpoints, a seeded random source, a log, and runtimes it starts. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReferenceEngine } from '../engines/reference/server.ts';
import { freePort } from '../local/ports.ts';
import { Api } from './client.ts';
import { isEngine, isLoopback, listeningSockets, processesOfHome } from './processes.ts';
import { type RuntimeProcess, startRuntimeProcess } from './runtime-process.ts';

export interface ChaosContext {
  /** One reference engine serving every tenant's `app` and `db` endpoints (in this process). */
  engine: ReferenceEngine;
  workDir: string;
  random: () => number;
  log: (line: string) => void;
}

/** mulberry32: small, seeded, good enough to pick kill moments and malformed bodies reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is truthy or the deadline passes (then undefined). */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  return undefined;
}

/**
 * One ROLLOUT_HOME and its `npm start` process, restartable on the same port and home, with what
 * it leaves running and what it exposes, measured from /proc.
 */
export class RuntimeUnderTest {
  runtime: RuntimeProcess | undefined;
  readonly api: Api;
  /** Listening sockets on a non-loopback address, seen in any sample. */
  readonly exposed = new Set<string>();
  socketSamples = 0;
  readonly home: string;
  readonly port: number;
  readonly token: string;
  private readonly env: Record<string, string>;
  private readonly logFile;

  private constructor(home: string, port: number, token: string, env: Record<string, string>) {
    this.home = home;
    this.port = port;
    this.token = token;
    this.env = env;
    this.api = new Api(`http://127.0.0.1:${port}`, token);
    this.logFile = createWriteStream(join(home, 'runtime.log'), { flags: 'a' });
  }

  static async create(ctx: ChaosContext, name: string, env: Record<string, string> = {}) {
    const home = await mkdtemp(join(ctx.workDir, `${name}-`));
    return new RuntimeUnderTest(home, await freePort(), randomBytes(18).toString('base64url'), env);
  }

  /** Starts that failed (and were tried again): on a loaded machine DynamoDB Local can miss its start deadline. */
  failedStarts = 0;

  async start(attempts = 5): Promise<RuntimeProcess> {
    for (let attempt = 1; ; attempt++) {
      this.logFile.write(`--- start ${new Date().toISOString()}\n`);
      try {
        this.runtime = await startRuntimeProcess({
          home: this.home,
          port: this.port,
          token: this.token,
          env: this.env,
          onLine: (line) => this.logFile.write(`${line}\n`),
        });
        return this.runtime;
      } catch (error) {
        this.failedStarts++;
        this.logFile.write(`--- start failed: ${(error as Error).message}\n`);
        if (attempt >= attempts) throw error;
      }
    }
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL') {
    this.logFile.write(`--- ${signal} ${new Date().toISOString()}\n`);
    return this.runtime?.stop(signal);
  }

  /** Records every listening socket of this home's processes that is not on loopback. */
  sampleSockets() {
    this.socketSamples++;
    for (const socket of listeningSockets(processesOfHome(this.home))) {
      if (!isLoopback(socket.address)) {
        this.exposed.add(
          `${socket.protocol} ${socket.address}:${socket.port} (${socket.command.slice(0, 80)})`,
        );
      }
    }
  }

  processesLeft() {
    return processesOfHome(this.home);
  }

  enginesAlive() {
    return this.processesLeft().filter(isEngine);
  }

  /**
   * A clean shutdown, then what is still alive after `graceMs` (counted, then killed so the next
   * scenario starts clean).
   */
  async shutdown(
    graceMs = 10_000,
  ): Promise<{ exitCode: number | null; processesLeft: number; enginesLeft: number }> {
    const exit = await this.stop('SIGTERM');
    await until(() => this.processesLeft().length === 0, graceMs);
    const left = this.processesLeft();
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    this.logFile.end();
    return {
      exitCode: exit?.code ?? null,
      processesLeft: left.length,
      enginesLeft: left.filter(isEngine).length,
    };
  }
}
