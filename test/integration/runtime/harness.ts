/** Starts the runtime on the shared DynamoDB Local with the fixture functions and machines, plus SDK clients. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, type DescribeExecutionOutput, SFNClient } from '@aws-sdk/client-sfn';
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/aws-env.ts';
import { type LocalRuntimeOptions, startLocalRuntime } from '../../../local/runtime.ts';
import { engineCommands, fixtureFunctions, fixtureMachines } from '../../fixtures/runtime/specs.ts';
import { eventually } from '../support.ts';

export async function startFixtureRuntime(options: LocalRuntimeOptions = {}) {
  const logs: string[] = [];
  const runtime = await startLocalRuntime({
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `runtime-${randomUUID().slice(0, 8)}`,
    inMemory: true,
    functions: fixtureFunctions,
    stateMachines: fixtureMachines,
    engineCommands,
    ecsStopGraceMs: 2_000,
    log: (line) => logs.push(line),
    ...options,
  });
  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const clients = {
    sfn: new SFNClient({ ...config, endpoint: runtime.endpoints.sfn }),
    ecs: new ECSClient({ ...config, endpoint: runtime.endpoints.ecs }),
    events: new EventBridgeClient({ ...config, endpoint: runtime.endpoints.eventbridge }),
    dynamodb: new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb }),
  };
  return {
    runtime,
    clients,
    logs,
    async stop() {
      for (const client of Object.values(clients)) client.destroy();
      await runtime.stop();
    },
  };
}

export type FixtureRuntime = Awaited<ReturnType<typeof startFixtureRuntime>>;

/** Waits until the execution left RUNNING and returns its description. */
export function finished(sfn: SFNClient, executionArn: string, timeoutMs = 20_000) {
  return eventually(async () => {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return described.status !== 'RUNNING' ? described : undefined;
  }, timeoutMs) as Promise<DescribeExecutionOutput>;
}
