/** The API as the chaos run uses it: plain HTTP with the runtime's token, tolerant of a runtime that is down. */
import { jsonBodyOf } from '../functions/core/health.ts';
import type { EngineRecord, RolloutEvent } from '../functions/core/model.ts';

export interface Reply<T = unknown> {
  status: number;
  body: T;
}

export interface PlanView {
  planId: string;
  status: string;
}

export interface TaskView {
  taskId: string;
  tenantId: string;
  status: string;
  completedStages: string[];
  retryCount: number;
  failureInfo?: { type: string; message: string; stage?: string };
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

const TERMINAL_PLAN = ['COMPLETED', 'FAILED', 'CANCELLED', 'ROLLED_BACK', 'ROLLBACK_FAILED'];

export class Api {
  readonly url: string;
  readonly token: string;
  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  /** One request as given; the status and the parsed body (undefined when not JSON). */
  async raw(request: RawRequest, timeoutMs = 30_000): Promise<Reply> {
    const response = await fetch(`${this.url}${request.path}`, {
      method: request.method,
      headers: request.headers ?? {},
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: await jsonBodyOf(response) };
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const reply = await this.raw({
      method,
      path,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return reply as Reply<T>;
  }

  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const reply = await this.call<T>(method, path, body);
    if (reply.status >= 300)
      throw new Error(`${method} ${path} → ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  plan(planId: string): Promise<PlanView> {
    return this.ok<PlanView>('GET', `/v1/plans/${planId}`);
  }

  /** Every task of the plan, page after page. */
  async tasks(planId: string): Promise<TaskView[]> {
    const tasks: TaskView[] = [];
    let cursor: string | undefined;
    do {
      const query = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await this.ok<{ tasks: TaskView[]; cursor?: string }>(
        'GET',
        `/v1/plans/${planId}/tasks?${query}`,
      );
      tasks.push(...page.tasks);
      cursor = page.cursor;
    } while (cursor);
    return tasks;
  }

  async engines(tenantId?: string): Promise<EngineRecord[]> {
    const query = tenantId ? `?tenantId=${encodeURIComponent(tenantId)}` : '';
    return (await this.ok<{ engines: EngineRecord[] }>('GET', `/v1/engines${query}`)).engines;
  }

  async events(planId: string): Promise<RolloutEvent[]> {
    const events: RolloutEvent[] = [];
    let after = '0';
    for (;;) {
      const page = await this.ok<{ events: RolloutEvent[]; last?: string }>(
        'GET',
        `/v1/plans/${planId}/events?after=${after}&limit=500`,
      );
      events.push(...page.events);
      if (!page.events.length || !page.last) return events;
      after = page.last;
    }
  }

  /** Polls until the plan is in a terminal status; undefined when the deadline passed first. */
  async planEnd(planId: string, deadline: number): Promise<PlanView | undefined> {
    while (Date.now() < deadline) {
      try {
        const plan = await this.plan(planId);
        if (TERMINAL_PLAN.includes(plan.status)) return plan;
      } catch {
        // the runtime is restarting
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return undefined;
  }
}
