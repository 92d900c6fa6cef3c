/**
 * The task's current execution as the web console draws it: the definition of the state machine it
 * runs and one page of its history (DescribeExecution, DescribeStateMachine, GetExecutionHistory).
 */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidToken,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import type { Deps } from '../core/deps.ts';
import { DomainError, NotFound, ValidationError } from '../core/errors.ts';
import type { TaskExecution } from './schemas.ts';

/** GetExecutionHistory's largest page. https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html */
const HISTORY_PAGE = 1000;

export class NoExecution extends DomainError {
  constructor(taskId: string) {
    super(404, 'NO_EXECUTION', `task ${taskId} has no execution yet`);
  }
}

const iso = (date: Date | undefined) => (date ? date.toISOString() : undefined);

export async function taskExecution(deps: Deps, taskId: string, nextToken?: string): Promise<TaskExecution> {
  const task = await deps.store.requireTask(taskId);
  const executionArn = task.executionArn;
  if (!executionArn) throw new NoExecution(taskId);
  try {
    const execution = await deps.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const [machine, history] = await Promise.all([
      deps.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: execution.stateMachineArn })),
      deps.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: HISTORY_PAGE,
          includeExecutionData: true,
          ...(nextToken ? { nextToken } : {}),
        }),
      ),
    ]);
    return {
      taskId,
      executionArn,
      stateMachineArn: execution.stateMachineArn!,
      name: execution.name!,
      status: execution.status!,
      startDate: iso(execution.startDate)!,
      ...(execution.stopDate ? { stopDate: iso(execution.stopDate)! } : {}),
      ...(execution.error ? { error: execution.error } : {}),
      ...(execution.cause ? { cause: execution.cause } : {}),
      definition: JSON.parse(machine.definition ?? '{}'),
      events: (history.events ?? []).map((event) => ({
        ...event,
        id: event.id!,
        type: event.type!,
        timestamp: iso(event.timestamp)!,
      })),
      ...(history.nextToken ? { nextToken: history.nextToken } : {}),
    };
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) throw new NotFound('execution', executionArn);
    if (error instanceof StateMachineDoesNotExist) throw new NotFound('state machine of', executionArn);
    if (error instanceof InvalidToken) {
      throw new ValidationError([{ path: 'query.nextToken', message: 'not a token this execution gave' }]);
    }
    throw error;
  }
}
