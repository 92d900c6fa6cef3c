/** The probes behind GET /v1/health: one cheap read per component, each bounded by a timeout. */
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Deps } from '../core/deps.ts';
import { itemKey } from '../core/keys.ts';
import { logger } from '../core/observability.ts';
import type { HealthInputs, ProbeResult } from './health.ts';

const PROBE_TIMEOUT_MS = 2_000;
/** A key no item ever has: reading it costs one read unit and proves the table answers. */
const PROBE_KEY = itemKey('HEALTH#PROBE', 'HEALTH#PROBE');

async function probe(run: (signal: AbortSignal) => Promise<unknown>): Promise<ProbeResult> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  try {
    await run(AbortSignal.timeout(PROBE_TIMEOUT_MS));
    return { ok: true, latencyMs: latencyMs() };
  } catch (error) {
    return { ok: false, latencyMs: latencyMs(), error: describe(error) };
  }
}

const describe = (error: unknown) =>
  (error as Error)?.name === 'AbortError' || (error as Error)?.name === 'TimeoutError'
    ? `no answer within ${PROBE_TIMEOUT_MS} ms`
    : `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

export async function probeSystem(deps: Deps, version: string): Promise<HealthInputs> {
  const { store } = deps;
  const planMachine = deps.resources.planStateMachineArn;
  const busName = deps.resources.eventBusName;
  const [storeProbe, orchestrator, eventBus] = await Promise.all([
    probe((abortSignal) =>
      store.ctx.doc.send(new GetCommand({ TableName: store.ctx.tableName, Key: PROBE_KEY }), { abortSignal }),
    ),
    probe(async (abortSignal) => {
      if (!planMachine) throw new Error('PLAN_STATE_MACHINE_ARN is not configured');
      await deps.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: planMachine }), { abortSignal });
    }),
    probe(async (abortSignal) => {
      if (!busName) throw new Error('EVENT_BUS_NAME is not configured');
      await deps.events.send(new DescribeEventBusCommand({ Name: busName }), { abortSignal });
    }),
  ]);
  let staleTenants: string[] | undefined;
  if (storeProbe.ok) {
    const now = deps.now().getTime();
    staleTenants = await store
      .listHeldLocks()
      .then((locks) => locks.filter((lock) => lock.leaseExpiresAt < now).map((lock) => lock.tenantId))
      .catch((error: unknown) => {
        logger.warn({ message: 'health: could not list held locks for stale tenants', error });
        return undefined;
      });
  }
  return { store: storeProbe, orchestrator, eventBus, staleTenants, version };
}
