/**
 * Lambda's DynamoDB event source, locally: polls the table's stream on
 * DynamoDB Local, follows shard lineage, delivers batches in Lambda's event
 * shape and retries a failed batch until it succeeds (at-least-once). With a
 * checkpoint file, a restart resumes after the last delivered record.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  type AttributeValue,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './aws-env.ts';
import type { Log } from './http.ts';

export interface StreamPollerOptions {
  endpoint: string;
  /** As Lambda's event source mapping reads the stream: with the function's execution role. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  dynamodb: DynamoDBClient;
  tableName: string;
  deliver(event: { Records: unknown[] }): Promise<unknown>;
  log: Log;
  /** Where the last delivered sequence number per shard is kept; in memory when absent. */
  checkpointFile?: string;
  idleMs?: number;
  batchSize?: number;
}

interface Checkpoints {
  streamArn: string;
  shards: Record<string, string>;
}

interface ShardState {
  iterator?: string;
  finished: boolean;
}

const SHARD_REFRESH_MS = 1000;

export class StreamPoller {
  private readonly client: DynamoDBStreamsClient;
  private readonly options: StreamPollerOptions;
  private readonly shards = new Map<string, ShardState>();
  private checkpoints: Checkpoints = { streamArn: '', shards: {} };
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastRefresh = 0;

  constructor(options: StreamPollerOptions) {
    this.options = options;
    this.client = new DynamoDBStreamsClient({
      endpoint: options.endpoint,
      region: LOCAL_REGION,
      credentials: options.credentials ?? LOCAL_CREDENTIALS,
    });
  }

  async start(): Promise<void> {
    const table = await this.options.dynamodb.send(
      new DescribeTableCommand({ TableName: this.options.tableName }),
    );
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`table ${this.options.tableName} has no stream`);
    this.checkpoints = this.readCheckpoints(streamArn);
    this.running = true;
    this.loop = this.run(streamArn);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.client.destroy();
  }

  private async run(streamArn: string) {
    let failures = 0;
    while (this.running) {
      let delivered = false;
      try {
        if (Date.now() - this.lastRefresh > SHARD_REFRESH_MS) await this.refreshShards(streamArn);
        for (const [shardId, shard] of this.shards) {
          if (!this.running) break;
          if (shard.finished || !shard.iterator) continue;
          delivered = (await this.pollShard(shardId, shard)) || delivered;
        }
        failures = 0;
      } catch (error) {
        failures++;
        this.options.log(`stream poller: ${(error as Error).message} (retrying)`);
      }
      if (!delivered)
        await this.pause(failures ? Math.min(5000, 100 * 2 ** failures) : (this.options.idleMs ?? 50));
    }
  }

  private async refreshShards(streamArn: string) {
    this.lastRefresh = Date.now();
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const page = await this.client.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    const known = new Set(shards.map((s) => s.ShardId));
    for (const shard of shards) {
      const id = shard.ShardId!;
      if (this.shards.has(id)) continue;
      const parent = shard.ParentShardId;
      // Children wait for their parent to be drained, so records stay in order per item.
      if (parent && known.has(parent) && !this.shards.get(parent)?.finished) continue;
      const after = this.checkpoints.shards[id];
      const iterator = await this.client.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: id,
          ...(after
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      this.shards.set(id, { iterator: iterator.ShardIterator, finished: !iterator.ShardIterator });
    }
  }

  /** Returns whether records were delivered, so the loop polls again at once. */
  private async pollShard(shardId: string, shard: ShardState): Promise<boolean> {
    const page = await this.client.send(
      new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.options.batchSize ?? 100 }),
    );
    const records = page.Records ?? [];
    if (records.length) {
      await this.deliverUntilAccepted(records);
      this.checkpoints.shards[shardId] = records.at(-1)!.dynamodb!.SequenceNumber!;
      this.writeCheckpoints();
    }
    shard.iterator = page.NextShardIterator;
    if (!shard.iterator) {
      shard.finished = true;
      this.lastRefresh = 0;
    }
    return records.length > 0;
  }

  private async deliverUntilAccepted(records: _Record[]) {
    const event = { Records: records.map((r) => lambdaRecord(r, this.checkpoints.streamArn)) };
    for (let attempt = 1; this.running; attempt++) {
      try {
        await this.options.deliver(event);
        return;
      } catch (error) {
        this.options.log(`stream batch failed (attempt ${attempt}), retrying: ${(error as Error).message}`);
        await this.pause(Math.min(5000, 100 * 2 ** attempt));
      }
    }
  }

  private pause(ms: number) {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private readCheckpoints(streamArn: string): Checkpoints {
    const file = this.options.checkpointFile;
    if (file) {
      try {
        const saved = JSON.parse(readFileSync(file, 'utf8')) as Checkpoints;
        if (saved.streamArn === streamArn) return saved;
      } catch {
        // No checkpoint yet: start from the oldest record.
      }
    }
    return { streamArn, shards: {} };
  }

  private writeCheckpoints() {
    const file = this.options.checkpointFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(this.checkpoints));
    renameSync(`${file}.tmp`, file);
  }
}

/** A stream record as Lambda hands it over: epoch seconds, base64 binaries. */
function lambdaRecord(record: _Record, streamArn: string) {
  const data = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? LOCAL_REGION,
    dynamodb: {
      ApproximateCreationDateTime: data.ApproximateCreationDateTime
        ? Math.floor(data.ApproximateCreationDateTime.getTime() / 1000)
        : undefined,
      Keys: image(data.Keys),
      ...(data.NewImage ? { NewImage: image(data.NewImage) } : {}),
      ...(data.OldImage ? { OldImage: image(data.OldImage) } : {}),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
    eventSourceARN: streamArn,
  };
}

function image(item: Record<string, AttributeValue> | undefined) {
  return item && Object.fromEntries(Object.entries(item).map(([k, v]) => [k, attribute(v)]));
}

function attribute(value: AttributeValue): unknown {
  if (value.B) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M) return { M: image(value.M) };
  if (value.L) return { L: value.L.map(attribute) };
  return value;
}
