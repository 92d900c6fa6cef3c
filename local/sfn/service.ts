/** The Step Functions API (AWS JSON 1.0) over the local executions. */
import { type Access, AwsError, epochSeconds, type JsonService } from '../http.ts';
import type { Execution, StepFunctions } from './executions.ts';
import { executionOfToken } from './tokens.ts';

const page = <T>(items: T[], maxResults: number | undefined, nextToken: string | undefined, limit = 1000) => {
  const size = Math.min(maxResults || 100, limit);
  const start = nextToken ? Number.parseInt(nextToken, 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidToken', 'Invalid nextToken');
  const end = start + size;
  return { items: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
};

const summary = (e: Execution) => ({
  executionArn: e.executionArn,
  stateMachineArn: e.stateMachineArn,
  name: e.name,
  status: e.status,
  startDate: epochSeconds(e.startDate),
  ...(e.stopDate ? { stopDate: epochSeconds(e.stopDate) } : {}),
});

/** `…:execution:<machine>:<name>` → `…:stateMachine:<machine>`. */
const machineOfExecution = (executionArn: string) =>
  executionArn.replace(':execution:', ':stateMachine:').split(':').slice(0, 7).join(':');

const onMachine: Access = (input: { stateMachineArn?: string }) => [
  { resource: input.stateMachineArn ?? '*' },
];
const onExecution: Access = (input: { executionArn?: string }) => [{ resource: input.executionArn ?? '*' }];
/** Task responses are authorized on the machine whose execution issued the token; a token that names none is InvalidToken. */
const onTokenMachine: Access = (input: { taskToken?: string }) => {
  const execution = executionOfToken(input.taskToken ?? '');
  return execution ? [{ resource: machineOfExecution(execution) }] : [];
};

export function stepFunctionsService(sfn: StepFunctions): JsonService {
  return {
    targetPrefix: 'AWSStepFunctions',
    jsonVersion: '1.0',
    iamPrefix: 'states',
    access: {
      DescribeStateMachine: onMachine,
      StartExecution: onMachine,
      ListExecutions: onMachine,
      DescribeExecution: onExecution,
      StopExecution: onExecution,
      GetExecutionHistory: onExecution,
      SendTaskSuccess: onTokenMachine,
      SendTaskFailure: onTokenMachine,
      SendTaskHeartbeat: onTokenMachine,
    },
    operations: {
      CreateStateMachine: (input: { name: string; definition: string; roleArn?: string }) => {
        const machine = sfn.createStateMachine(input.name, input.definition, input.roleArn);
        return { stateMachineArn: machine.arn, creationDate: epochSeconds(machine.creationDate) };
      },
      ListStateMachines: (input: { maxResults?: number; nextToken?: string }) => {
        const { items, nextToken } = page(sfn.listMachines(), input.maxResults, input.nextToken);
        return {
          stateMachines: items.map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: 'STANDARD',
            creationDate: epochSeconds(m.creationDate),
          })),
          ...(nextToken ? { nextToken } : {}),
        };
      },
      DescribeStateMachine: (input: { stateMachineArn: string }) => {
        const m = sfn.machine(input.stateMachineArn);
        return {
          stateMachineArn: m.arn,
          name: m.name,
          status: 'ACTIVE',
          definition: m.definition,
          roleArn: m.roleArn,
          type: 'STANDARD',
          creationDate: epochSeconds(m.creationDate),
        };
      },
      StartExecution: (input: { stateMachineArn: string; name?: string; input?: string }) => {
        const e = sfn.startExecution(input.stateMachineArn, input.name, input.input);
        return { executionArn: e.executionArn, startDate: epochSeconds(e.startDate) };
      },
      DescribeExecution: (input: { executionArn: string }) => {
        const e = sfn.execution(input.executionArn);
        return {
          ...summary(e),
          input: e.input,
          inputDetails: { included: true },
          ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
          ...(e.error !== undefined ? { error: e.error } : {}),
          ...(e.cause !== undefined ? { cause: e.cause } : {}),
        };
      },
      ListExecutions: (input: {
        stateMachineArn: string;
        statusFilter?: string;
        maxResults?: number;
        nextToken?: string;
      }) => {
        const all = sfn.machine(input.stateMachineArn).executions;
        const newestFirst: Execution[] = [];
        for (let i = all.length - 1; i >= 0; i--) {
          const e = all[i]!;
          if (!input.statusFilter || e.status === input.statusFilter) newestFirst.push(e);
        }
        const { items, nextToken } = page(newestFirst, input.maxResults, input.nextToken);
        return { executions: items.map(summary), ...(nextToken ? { nextToken } : {}) };
      },
      StopExecution: (input: { executionArn: string; error?: string; cause?: string }) => {
        const e = sfn.stopExecution(input.executionArn, input.error, input.cause);
        return { stopDate: epochSeconds(e.stopDate ?? Date.now()) };
      },
      GetExecutionHistory: async (input: {
        executionArn: string;
        maxResults?: number;
        nextToken?: string;
        reverseOrder?: boolean;
        includeExecutionData?: boolean;
      }) => {
        const history = await sfn.history(input.executionArn);
        const ordered = input.reverseOrder ? [...history].reverse() : history;
        const { items, nextToken } = page(ordered, input.maxResults, input.nextToken);
        return {
          events: items.map((event) => ({ ...event, timestamp: epochSeconds(event.timestamp) })),
          ...(nextToken ? { nextToken } : {}),
        };
      },
      SendTaskSuccess: (input: { taskToken: string; output: string }) => {
        sfn.tokens.succeed(input.taskToken, input.output);
        return {};
      },
      SendTaskFailure: (input: { taskToken: string; error?: string; cause?: string }) => {
        sfn.tokens.fail(input.taskToken, input.error, input.cause);
        return {};
      },
      SendTaskHeartbeat: (input: { taskToken: string }) => {
        sfn.tokens.heartbeat(input.taskToken);
        return {};
      },
    },
  };
}
