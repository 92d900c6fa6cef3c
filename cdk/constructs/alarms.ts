/**
 * CloudWatch alarms on what operators must notice: state machine executions that failed, were
 * throttled, aborted or timed out, and stream batches the publisher gave up on.
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { resourceName } from '../names.ts';

export interface AlarmsProps {
  prefix: string;
  stateMachines: ReadonlyMap<string, StateMachine>;
  /** Queues whose messages mean lost work (the stream's on-failure destination). */
  failureQueues: ReadonlyMap<string, IQueue>;
}

const PERIOD = Duration.minutes(5);

/** An alarm that goes off on the first occurrence in a period (a missing datapoint is none). */
export function anyOccurrenceAlarm(
  scope: Construct,
  prefix: string,
  name: string,
  metric: IMetric,
  description: string,
): Alarm {
  return new Alarm(scope, name, {
    alarmName: resourceName(prefix, name),
    alarmDescription: description,
    metric,
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}

export class Alarms extends Construct {
  public readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    if (props.stateMachines.size === 0) throw new Error('no state machines to watch');
    const alarms: Alarm[] = [];
    const add = (name: string, metric: IMetric, description: string) =>
      alarms.push(anyOccurrenceAlarm(this, props.prefix, name, metric, description));
    for (const [name, machine] of props.stateMachines) {
      add(
        `${name}-executions-failed`,
        machine.metricFailed({ period: PERIOD }),
        `${name}: an execution failed`,
      );
      add(
        `${name}-executions-throttled`,
        machine.metricThrottled({ period: PERIOD }),
        `${name}: executions were throttled`,
      );
      add(
        `${name}-executions-aborted`,
        machine.metricAborted({ period: PERIOD }),
        `${name}: an execution was aborted`,
      );
      add(
        `${name}-executions-timed-out`,
        machine.metricTimedOut({ period: PERIOD }),
        `${name}: an execution hit its timeout`,
      );
    }
    for (const [name, queue] of props.failureQueues) {
      add(
        `${name}-failures`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        `${name}: records were given up on; see the queue for the batch to replay`,
      );
    }
    this.alarms = alarms;
  }
}
