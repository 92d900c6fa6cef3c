import type { TestProject } from 'vitest/node';
import { buildConsole } from '../../console/build.ts';
import { startDynamoDbLocal } from '../../local/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
  }
}

/** One in-memory DynamoDB Local for the whole integration run; each test file makes its own table. */
export default async function setup(project: TestProject) {
  // The API serves the console from its build (as `npm start` does); the auth and console tests load it.
  await buildConsole();
  // The JVM start alone took 43 s on this 2-core machine while other test runs shared it.
  const db = await startDynamoDbLocal({ startTimeoutMs: 120_000 });
  project.provide('dynamoEndpoint', db.endpoint);
  return async () => {
    await db.stop();
  };
}
