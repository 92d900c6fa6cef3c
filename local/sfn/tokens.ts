/**
 * Task tokens of `.waitForTaskToken` states. A token names its execution, so a
 * completed or timed-out token is told apart from one never issued without
 * keeping every token ever minted.
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../http.ts';
import { StatesError, whenAborted } from './errors.ts';

interface Pending {
  resolve(output: unknown): void;
  reject(error: Error): void;
  heartbeatMs?: number;
  heartbeatTimer?: NodeJS.Timeout;
}

/** The execution a token was minted for, or undefined when it is not one of ours. */
export function executionOfToken(token: string): string | undefined {
  try {
    const [executionArn] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    return typeof executionArn === 'string' && executionArn.startsWith('arn:') ? executionArn : undefined;
  } catch {
    return undefined;
  }
}

export class TaskTokens {
  private readonly pending = new Map<string, Pending>();
  private readonly knownExecution: (executionArn: string) => boolean;

  constructor(knownExecution: (executionArn: string) => boolean) {
    this.knownExecution = knownExecution;
  }

  mint(executionArn: string, stateName: string): string {
    return Buffer.from(JSON.stringify([executionArn, stateName, randomUUID()])).toString('base64url');
  }

  /** Registers the token before the task's call is made, so a call-back during the call is not lost. */
  wait(token: string, signal: AbortSignal, heartbeatSeconds?: number): Promise<unknown> {
    const waiting = new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { resolve, reject };
      if (heartbeatSeconds) entry.heartbeatMs = heartbeatSeconds * 1000;
      this.pending.set(token, entry);
      this.armHeartbeat(token, entry);
    });
    const settled = Promise.race([waiting, whenAborted(signal)]).finally(() => this.discard(token));
    settled.catch(() => {});
    return settled;
  }

  discard(token: string) {
    const entry = this.pending.get(token);
    if (!entry) return;
    clearTimeout(entry.heartbeatTimer);
    this.pending.delete(token);
  }

  succeed(token: string, outputText: string) {
    let output: unknown;
    try {
      output = JSON.parse(outputText);
    } catch {
      throw new AwsError('InvalidOutput', 'Invalid JSON in output');
    }
    this.take(token).resolve(output);
  }

  fail(token: string, error?: string, cause?: string) {
    this.take(token).reject(new StatesError(error ?? 'States.TaskFailed', cause ?? ''));
  }

  heartbeat(token: string) {
    const entry = this.lookup(token);
    this.armHeartbeat(token, entry);
  }

  private take(token: string): Pending {
    const entry = this.lookup(token);
    this.discard(token);
    return entry;
  }

  private lookup(token: string): Pending {
    const entry = this.pending.get(token);
    if (entry) return entry;
    let executionArn: unknown;
    try {
      [executionArn] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw new AwsError('InvalidToken', 'Invalid token');
    }
    if (typeof executionArn !== 'string') throw new AwsError('InvalidToken', 'Invalid token');
    if (this.knownExecution(executionArn)) {
      throw new AwsError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
    }
    throw new AwsError('TaskDoesNotExist', 'Provided task does not exist');
  }

  private armHeartbeat(token: string, entry: Pending) {
    if (!entry.heartbeatMs) return;
    clearTimeout(entry.heartbeatTimer);
    entry.heartbeatTimer = setTimeout(() => {
      this.discard(token);
      entry.reject(new StatesError('States.HeartbeatTimeout', ''));
    }, entry.heartbeatMs);
  }
}
