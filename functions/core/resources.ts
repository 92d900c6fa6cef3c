/** Detail-type of the inbound EventBridge event that starts a plan. */
export const PLAN_REQUESTED_DETAIL_TYPE = 'Rollout Plan Requested';

/** The ARN Step Functions gives an execution, known before it starts (so a task can record who will drive it). */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[5] !== 'stateMachine')
    throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}
