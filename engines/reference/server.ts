/**
 * The reference engine: a tenant's service endpoint for tests, benchmarks and the local demo.
 *
 * Public API (what the rollout system calls), for base `/t/{tenantId}/{service}` or bare `` (the
 * engine's own TENANT_ID / SERVICE_NAME):
 *   GET  {base}/health  → 200 {status: 'UP', tenantId, service, engineId, [versionKey]: version}
 *   POST {base}/config  ← {tenantId, service, version, config} → 200 {accepted: true, version}
 *   GET  {base}/config  → the config last accepted (404 before any)
 * Admin API (tests and demos only, never called by the rollout system): /_admin/{state,requests,
 * overlaps,faults}. One server serves any number of tenant/service slots.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import {
  clearFaults,
  evaluateBroadcast,
  evaluateHealth,
  type FaultRule,
  type FaultScope,
  type FaultSpec,
  type Faults,
  faultsFor,
  parseFaultSpecs,
  setFaults,
} from './faults.ts';
import {
  findOverlaps,
  type Overlap,
  type PlanWindow,
  planWindows,
  type Run,
  recordTouch,
} from './overlap.ts';

export interface ReferenceEngineOptions {
  port?: number;
  host?: string;
  /** The version every slot reports before a config arrives. */
  engineVersion?: string;
  tenantId?: string;
  service?: string;
  versionKey?: string;
  engineId?: string;
  faults?: readonly FaultSpec[];
  /** Called after a crashOnBroadcast fault cut the connection; process mode exits here. */
  onCrash?: () => void;
  maxLogEntries?: number;
}

export interface RequestLogEntry {
  seq: number;
  method: string;
  path: string;
  kind: 'health' | 'config' | 'other';
  tenantId?: string;
  service?: string;
  /** The version in a config body. */
  version?: string;
  /** The version a health answer reported. */
  reportedVersion?: string;
  planId?: string;
  status?: number;
  outcome?: 'crash';
  /** The engine's own readiness probe before its hand-off. */
  selfCheck?: boolean;
  at: number;
  timestamp: string;
}

export interface SlotState {
  tenantId?: string;
  service?: string;
  version: string;
  configCount: number;
  pollsSinceConfig: number;
  planId?: string;
  planVersion?: string;
  lastConfigAt?: string;
}

export interface EngineState {
  engineId: string;
  /** The serving process, so a test can prove it is gone after the engine was stopped. */
  pid: number;
  defaultVersion: string;
  versionKey: string;
  services: SlotState[];
}

export interface OverlapReport {
  overlaps: Overlap[];
  windows: Record<string, PlanWindow[]>;
}

export interface ReferenceEngine {
  url: string;
  port: number;
  host: string;
  engineId: string;
  state(): EngineState;
  requests(): RequestLogEntry[];
  overlaps(): OverlapReport;
  faultsFor(tenantId: string | undefined, service: string | undefined): Faults;
  setFaults(specs: FaultSpec | readonly FaultSpec[]): void;
  clearFaults(scope?: FaultScope): void;
  stop(): Promise<void>;
}

/** Marks the engine's own readiness probe so the request log can tell it from the rollout system's polls. */
export const SELF_CHECK_HEADER = 'x-engine-self-check';

const MAX_BODY_BYTES = 1024 * 1024;
/** Connections still busy this long after stop() are cut, so SIGTERM finishes well within a second. */
const FORCE_CLOSE_AFTER_MS = 500;

const idOrNumber = z.union([z.string().min(1), z.number()]);
const broadcastBodySchema = z.object({
  tenantId: z.string().min(1),
  service: z.string().min(1),
  version: idOrNumber,
  config: z.record(z.string(), z.unknown()),
  /** Lets a caller name the acting plan when the config it sends belongs to another (a rollback). */
  planId: idOrNumber.optional(),
});

interface Slot {
  tenantId?: string;
  service?: string;
  version: string;
  config?: Record<string, unknown>;
  configCount: number;
  pollsSinceConfig: number;
  planId?: string;
  planVersion?: string;
  lastConfigAt?: string;
}

interface Target {
  key: string;
  /** Bare paths without TENANT_ID take the identity of the configs they receive. */
  adoptsIdentity: boolean;
  tenantId?: string;
  service?: string;
}

class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

const slotKey = (tenantId: string, service: string) => JSON.stringify([tenantId, service]);
const optionalString = (value: unknown) =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
const delay = (ms: number | undefined) =>
  ms ? new Promise<void>((resolve) => setTimeout(resolve, ms).unref()) : Promise.resolve();

function connectableHost(host: string) {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function send(res: ServerResponse, statusCode: number, body: unknown) {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, 'BODY_TOO_LARGE', `body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new HttpError(400, 'MALFORMED_BODY', 'body must be JSON');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'MALFORMED_BODY', 'body is not valid JSON');
  }
}

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new HttpError(400, 'MALFORMED_BODY', `${where}${issue?.message ?? 'invalid body'}`);
}

export async function startReferenceEngine(options: ReferenceEngineOptions = {}): Promise<ReferenceEngine> {
  const host = options.host ?? '127.0.0.1';
  const defaultVersion = options.engineVersion ?? '0';
  const versionKey = options.versionKey ?? 'version';
  const engineId = options.engineId ?? `engine-${randomUUID().slice(0, 8)}`;
  const maxLogEntries = options.maxLogEntries ?? 10_000;

  const slots = new Map<string, Slot>();
  const log: RequestLogEntry[] = [];
  const entryOf = new WeakMap<ServerResponse, RequestLogEntry>();
  const respond = (res: ServerResponse, statusCode: number, body: unknown) => {
    const entry = entryOf.get(res);
    if (entry) entry.status = statusCode;
    send(res, statusCode, body);
  };
  let seq = 0;
  let runsByTenant = new Map<string, Run[]>();
  let faultTable: FaultRule[] = [];

  const applyFaults = (specs: FaultSpec | readonly FaultSpec[]) => {
    for (const spec of Array.isArray(specs) ? specs : [specs]) {
      faultTable = setFaults(faultTable, spec);
      // healthyAfterPolls must count from the moment the fault is set, not from polls made before it.
      for (const slot of slots.values()) {
        const inScope =
          (spec.tenantId === undefined || spec.tenantId === slot.tenantId) &&
          (spec.service === undefined || spec.service === slot.service);
        if (inScope) slot.pollsSinceConfig = 0;
      }
    }
  };
  if (options.faults) applyFaults(options.faults);

  const slotFor = (target: Target): Slot => {
    let slot = slots.get(target.key);
    if (!slot) {
      slot = {
        ...(target.tenantId !== undefined && { tenantId: target.tenantId }),
        ...(target.service !== undefined && { service: target.service }),
        version: defaultVersion,
        configCount: 0,
        pollsSinceConfig: 0,
      };
      slots.set(target.key, slot);
    }
    return slot;
  };

  const resolveTarget = (segments: string[]): { target: Target; action: string | undefined } | undefined => {
    if (segments.length === 4 && segments[0] === 't') {
      const [, tenantId = '', service = '', action] = segments;
      return {
        target: { key: slotKey(tenantId, service), adoptsIdentity: false, tenantId, service },
        action,
      };
    }
    if (segments.length === 1) {
      return {
        target: {
          key: slotKey(options.tenantId ?? '', options.service ?? ''),
          adoptsIdentity: options.tenantId === undefined,
          ...(options.tenantId !== undefined && { tenantId: options.tenantId }),
          ...(options.service !== undefined && { service: options.service }),
        },
        action: segments[0],
      };
    }
    return undefined;
  };

  const startEntry = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    kind: RequestLogEntry['kind'],
  ) => {
    const at = Date.now();
    const entry: RequestLogEntry = {
      seq: ++seq,
      method: req.method ?? 'GET',
      path,
      kind,
      at,
      timestamp: new Date(at).toISOString(),
    };
    log.push(entry);
    entryOf.set(res, entry);
    if (log.length > maxLogEntries) log.shift();
    return entry;
  };

  const touch = (
    tenantId: string | undefined,
    planId: string | undefined,
    planVersion: string | undefined,
  ) => {
    if (tenantId === undefined || planId === undefined) return;
    const runs = runsByTenant.get(tenantId) ?? [];
    runsByTenant.set(
      tenantId,
      recordTouch(runs, {
        tenantId,
        planId,
        at: Date.now(),
        ...(planVersion !== undefined && { planVersion }),
      }),
    );
  };

  const state = (): EngineState => ({
    engineId,
    pid: process.pid,
    defaultVersion,
    versionKey,
    services: [...slots.values()].map(({ config: _config, ...rest }) => ({ ...rest })),
  });

  const overlaps = (): OverlapReport => ({
    overlaps: findOverlaps(runsByTenant),
    windows: Object.fromEntries([...runsByTenant].map(([tenantId, runs]) => [tenantId, planWindows(runs)])),
  });

  async function health(req: IncomingMessage, res: ServerResponse, path: string, target: Target) {
    const entry = startEntry(req, res, path, 'health');
    const selfCheck = req.headers[SELF_CHECK_HEADER] === '1';
    if (selfCheck) entry.selfCheck = true;
    const slot = slotFor(target);
    Object.assign(entry, { tenantId: slot.tenantId, service: slot.service, planId: slot.planId });
    slot.pollsSinceConfig += 1;
    if (!selfCheck) touch(slot.tenantId, slot.planId, slot.planVersion);
    const faults = faultsFor(faultTable, slot.tenantId, slot.service);
    const verdict = evaluateHealth(faults, { version: slot.version, poll: slot.pollsSinceConfig });
    await delay(faults.slowMs);
    entry.reportedVersion = verdict.version;
    respond(res, verdict.statusCode, {
      status: verdict.healthy ? 'UP' : 'DOWN',
      tenantId: slot.tenantId ?? null,
      service: slot.service ?? null,
      engineId,
      ...(verdict.reason && { reason: verdict.reason }),
      [versionKey]: verdict.version,
    });
  }

  async function receiveConfig(req: IncomingMessage, res: ServerResponse, path: string, target: Target) {
    const entry = startEntry(req, res, path, 'config');
    const body = parseOrThrow(broadcastBodySchema, await readJson(req));
    const slot = slotFor(target);
    if (target.adoptsIdentity) {
      slot.tenantId = body.tenantId;
      slot.service = body.service;
    }
    const planId = optionalString(body.planId ?? body.config.planId);
    const planVersion = optionalString(body.config.planVersion);
    Object.assign(entry, {
      tenantId: slot.tenantId,
      service: slot.service,
      version: String(body.version),
      planId,
    });
    // A config meant for another tenant reaching this tenant's endpoint is a routing bug worth failing loudly.
    if (slot.tenantId !== body.tenantId) {
      throw new HttpError(409, 'TENANT_MISMATCH', `config for ${body.tenantId} sent to ${slot.tenantId}`);
    }
    touch(slot.tenantId, planId, planVersion);
    const faults = faultsFor(faultTable, slot.tenantId, slot.service);
    await delay(faults.slowMs);
    const verdict = evaluateBroadcast(faults);
    if (verdict.kind === 'crash') {
      entry.outcome = 'crash';
      req.socket.destroy();
      (options.onCrash ?? (() => void stop()))();
      return;
    }
    if (verdict.kind === 'fail') {
      respond(res, verdict.statusCode, {
        accepted: false,
        code: 'BROADCAST_FAULT',
        message: 'failBroadcast fault set',
      });
      return;
    }
    Object.assign(slot, {
      version: String(body.version),
      config: body.config,
      configCount: slot.configCount + 1,
      pollsSinceConfig: 0,
      planId,
      planVersion,
      lastConfigAt: new Date().toISOString(),
    });
    respond(res, 200, { accepted: true, version: slot.version });
  }

  function currentConfig(res: ServerResponse, target: Target) {
    const slot = slots.get(target.key);
    if (!slot?.config) throw new HttpError(404, 'NO_CONFIG', 'no config received yet');
    send(res, 200, {
      tenantId: slot.tenantId,
      service: slot.service,
      version: slot.version,
      config: slot.config,
    });
  }

  async function admin(
    req: IncomingMessage,
    res: ServerResponse,
    resource: string | undefined,
    query: URLSearchParams,
  ) {
    const method = req.method ?? 'GET';
    const scope: FaultScope = {
      ...(query.get('tenantId') && { tenantId: query.get('tenantId') as string }),
      ...(query.get('service') && { service: query.get('service') as string }),
    };
    const route = `${method} ${resource ?? ''}`;
    switch (route) {
      case 'GET state':
        return send(res, 200, state());
      case 'GET requests':
        return send(res, 200, {
          requests: log.filter(
            (e) =>
              (scope.tenantId === undefined || e.tenantId === scope.tenantId) &&
              (scope.service === undefined || e.service === scope.service) &&
              (!query.get('kind') || e.kind === query.get('kind')),
          ),
        });
      case 'DELETE requests':
        log.length = 0;
        return send(res, 200, { cleared: true });
      case 'GET overlaps':
        return send(res, 200, overlaps());
      case 'DELETE overlaps':
        runsByTenant = new Map();
        return send(res, 200, { cleared: true });
      case 'GET faults':
        return send(res, 200, { faults: faultTable });
      case 'PUT faults': {
        let specs: FaultSpec[];
        try {
          specs = parseFaultSpecs(await readJson(req));
        } catch (error) {
          if (error instanceof HttpError) throw error;
          throw new HttpError(400, 'MALFORMED_BODY', (error as Error).message);
        }
        applyFaults(specs);
        return send(res, 200, { faults: faultTable });
      }
      case 'DELETE faults':
        faultTable = clearFaults(faultTable, Object.keys(scope).length ? scope : undefined);
        return send(res, 200, { faults: faultTable });
      default:
        throw new HttpError(404, 'NOT_FOUND', `no admin route ${route}`);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://engine');
    let segments: string[];
    try {
      segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'MALFORMED_PATH', 'path is not valid percent-encoding');
    }
    if (segments[0] === '_admin' && segments.length === 2)
      return admin(req, res, segments[1], url.searchParams);
    const resolved = resolveTarget(segments);
    if (!resolved) throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}`);
    const { target, action } = resolved;
    const method = req.method ?? 'GET';
    if (action === 'health' && method === 'GET') return health(req, res, url.pathname, target);
    if (action === 'config' && method === 'POST') return receiveConfig(req, res, url.pathname, target);
    if (action === 'config' && method === 'GET') return currentConfig(res, target);
    if (action === 'health' || action === 'config') throw new HttpError(405, 'METHOD_NOT_ALLOWED', method);
    throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        respond(res, error.statusCode, { code: error.code, message: error.message });
      } else {
        respond(res, 500, { code: 'INTERNAL', message: 'internal error' });
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  function stop() {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), FORCE_CLOSE_AFTER_MS).unref();
    });
    return stopping;
  }

  return {
    url: `http://${connectableHost(host)}:${port}`,
    port,
    host,
    engineId,
    state,
    requests: () => log.map((entry) => ({ ...entry })),
    overlaps,
    faultsFor: (tenantId, service) => faultsFor(faultTable, tenantId, service),
    setFaults: applyFaults,
    clearFaults: (scope) => {
      faultTable = clearFaults(faultTable, scope);
    },
    stop,
  };
}
