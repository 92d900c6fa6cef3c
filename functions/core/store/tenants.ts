/** Per-tenant items: current / known-good config per service, and the engine registry. */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NotFound } from '../errors.ts';
import {
  currentConfigSk,
  ENGINE_SK_PREFIX,
  ENGINES_INDEX_PK,
  engineIndexSk,
  engineSk,
  goodConfigSk,
  itemKey,
  tenantPk,
} from '../keys.ts';
import type { EngineRecord, EngineState, TenantServiceConfig } from '../model.ts';
import type { TenantDeployConfig } from '../schemas.ts';
import { GSI1 } from '../table.ts';
import {
  batchWrite,
  inPartition,
  isConditionFailure,
  queryAll,
  type StoreContext,
  stripKeys,
} from './context.ts';
import { updateExisting, updateParts } from './update.ts';

/** A config item as a record; a snapshot stored as null (nothing was current before) reads as none. */
function configRecord(item: Record<string, unknown>): TenantServiceConfig {
  const { previous, ...record } = stripKeys<TenantServiceConfig>(item);
  return previous ? { ...record, previous } : record;
}

export function tenantStore(ctx: StoreContext) {
  async function readConfig(tenantId: string, sk: string): Promise<TenantServiceConfig | undefined> {
    const result = await ctx.doc.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: itemKey(tenantPk(tenantId), sk),
        ConsistentRead: true,
      }),
    );
    return result.Item ? configRecord(result.Item) : undefined;
  }

  return {
    getCurrentConfig: (tenantId: string, service: string) => readConfig(tenantId, currentConfigSk(service)),
    getGoodConfig: (tenantId: string, service: string) => readConfig(tenantId, goodConfigSk(service)),

    /**
     * Makes `config` the tenant's current config for the service and keeps the one it
     * replaces as `previous` (the rollback snapshot). Repeating the switch for the same
     * task keeps the original snapshot, so a retried stage never loses it.
     */
    async switchCurrentConfig(
      tenantId: string,
      service: string,
      config: TenantDeployConfig,
      taskId: string,
    ): Promise<TenantServiceConfig> {
      const key = itemKey(tenantPk(tenantId), currentConfigSk(service));
      const fields = {
        kind: 'CONFIG',
        tenantId,
        service,
        version: String(config.deployUnitVersion),
        config,
        taskId,
      };
      const update = (snapshot: boolean) => {
        const parts = updateParts({ ...fields, updatedAt: ctx.now().toISOString() });
        if (!snapshot) return parts;
        // Operands read the item as it was: the config being replaced (null for the tenant's first) becomes the snapshot.
        return {
          UpdateExpression: `${parts.UpdateExpression}, #previous = if_not_exists(#config, :none)`,
          ExpressionAttributeNames: { ...parts.ExpressionAttributeNames, '#previous': 'previous' },
          ExpressionAttributeValues: { ...parts.ExpressionAttributeValues, ':none': null },
          ConditionExpression: 'attribute_not_exists(#taskId) OR #taskId <> :set_taskId',
        };
      };
      const send = async (snapshot: boolean) =>
        (
          await ctx.doc.send(
            new UpdateCommand({
              TableName: ctx.tableName,
              Key: key,
              ...update(snapshot),
              ReturnValues: 'ALL_NEW',
            }),
          )
        ).Attributes as Record<string, unknown>;
      let item: Record<string, unknown>;
      try {
        // One write, no read: a switch by a task that did not switch this service before.
        item = await send(true);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The same task switching again (a retried stage) keeps its original snapshot.
        item = await send(false);
      }
      return configRecord(item);
    },

    /** Records `config` as the tenant's known-good config for each of `services`, in batches of 25 puts. */
    async putGoodConfigs(
      tenantId: string,
      services: readonly string[],
      config: TenantDeployConfig,
      taskId: string,
    ) {
      const updatedAt = ctx.now().toISOString();
      const version = String(config.deployUnitVersion);
      const puts = services.map((service) => {
        const record: TenantServiceConfig = { tenantId, service, version, config, taskId, updatedAt };
        return {
          PutRequest: {
            Item: { ...itemKey(tenantPk(tenantId), goodConfigSk(service)), kind: 'CONFIG', ...record },
          },
        };
      });
      await batchWrite(ctx, puts);
    },

    async putEngine(engine: EngineRecord): Promise<void> {
      await ctx.doc.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: {
            ...itemKey(tenantPk(engine.tenantId), engineSk(engine.service, engine.engineId)),
            [GSI1.partitionKey]: ENGINES_INDEX_PK,
            [GSI1.sortKey]: engineIndexSk(engine.tenantId, engine.service, engine.engineId),
            kind: 'ENGINE',
            ...engine,
          },
        }),
      );
    },

    /** Moves an engine to `state`; with `from`, only when it is in one of those states (false otherwise). */
    async updateEngine(
      engine: Pick<EngineRecord, 'tenantId' | 'service' | 'engineId'>,
      state: EngineState,
      set: Partial<Omit<EngineRecord, 'tenantId' | 'service' | 'engineId' | 'state'>> = {},
      from?: readonly EngineState[],
    ): Promise<boolean> {
      const parts = updateExisting({ ...set, state, updatedAt: ctx.now().toISOString() });
      const fromValues = Object.fromEntries((from ?? []).map((s, i) => [`:from${i}`, s]));
      try {
        await ctx.doc.send(
          new UpdateCommand({
            TableName: ctx.tableName,
            Key: itemKey(tenantPk(engine.tenantId), engineSk(engine.service, engine.engineId)),
            ...parts,
            ConditionExpression: from?.length
              ? `${parts.ConditionExpression} AND #state IN (${Object.keys(fromValues).join(', ')})`
              : parts.ConditionExpression,
            ExpressionAttributeValues: { ...parts.ExpressionAttributeValues, ...fromValues },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        if (!from?.length) throw new NotFound('engine', engine.engineId);
        return false;
      }
    },

    /** The engine registry, for one tenant or for all. */
    async listEngines(tenantId?: string): Promise<EngineRecord[]> {
      const items = await queryAll(
        ctx,
        tenantId
          ? {
              ...inPartition(tenantPk(tenantId), ENGINE_SK_PREFIX),
              ConsistentRead: true,
            }
          : {
              IndexName: GSI1.indexName,
              KeyConditionExpression: '#pk = :pk',
              ExpressionAttributeNames: { '#pk': GSI1.partitionKey },
              ExpressionAttributeValues: { ':pk': ENGINES_INDEX_PK },
            },
      );
      return items.map((item) => stripKeys<EngineRecord>(item));
    },
  };
}
