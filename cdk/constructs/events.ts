/**
 * The project's EventBridge bus and everything that feeds functions from events: the rules and
 * schedules derived from the manifest (functions/core/rules.ts, shared with the local runtime) and
 * the table stream → publisher mapping with its on-failure queue.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type EventPattern, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type EventPattern as RulePattern,
  rulesFromManifest,
  STREAM_EVENT_FILTER,
} from '../../functions/core/rules.ts';
import type { FunctionSpec } from '../../functions/manifest.ts';
import { acknowledge } from '../nag.ts';
import { boundedName, RULE_NAME_MAX } from '../names.ts';
import type { RolloutFunction } from './rollout-function.ts';

export interface EventsProps {
  prefix: string;
  busName: string;
  functions: readonly FunctionSpec[];
  /** The deployed function of a manifest entry. */
  functionNamed: (name: string) => RolloutFunction;
  /** The table whose stream feeds `stream`-triggered functions. */
  table: ITable;
  /** Rules about ECS tasks match this cluster only. */
  clusterArn: string;
}

/** CDK spells `detail-type` as `detailType`; every other pattern field passes through unchanged. */
function cdkPattern(pattern: RulePattern): EventPattern {
  const { 'detail-type': detailType, ...rest } = pattern;
  return { ...(detailType === undefined ? {} : { detailType }), ...rest } as EventPattern;
}

export class Events extends Construct {
  public readonly bus: EventBus;
  public readonly rules: readonly Rule[];
  public readonly schedules: readonly Rule[];
  /** Stream batches the publisher could not handle after its retries land here. */
  public readonly streamFailures: Queue;

  constructor(scope: Construct, id: string, props: EventsProps) {
    super(scope, id);
    if (!props.busName || props.busName === 'default') throw new Error('the project bus needs its own name');
    this.bus = new EventBus(this, 'Bus', { eventBusName: props.busName });

    const { events, schedules } = rulesFromManifest(props.functions, { clusterArn: props.clusterArn });
    this.rules = events.map(
      (spec) =>
        new Rule(this, `${spec.name}Rule`, {
          ruleName: boundedName(props.prefix, spec.name, RULE_NAME_MAX),
          description: `Invokes ${spec.target.function} (functions/manifest.ts trigger)`,
          ...(spec.eventBusName === 'project' ? { eventBus: this.bus } : {}),
          eventPattern: cdkPattern(spec.pattern),
          targets: [new LambdaFunction(props.functionNamed(spec.target.function), { retryAttempts: 2 })],
        }),
    );
    this.schedules = schedules.map(
      (spec) =>
        new Rule(this, `${spec.name}Rule`, {
          ruleName: boundedName(props.prefix, spec.name, RULE_NAME_MAX),
          description: `Runs ${spec.target.function} every ${spec.rateMinutes} minute(s)`,
          schedule: Schedule.rate(Duration.minutes(spec.rateMinutes)),
          targets: [new LambdaFunction(props.functionNamed(spec.target.function), { retryAttempts: 0 })],
        }),
    );

    this.streamFailures = new Queue(this, 'StreamFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.streamFailures,
      'AwsSolutions-SQS3',
      'This queue is itself the on-failure destination of the stream mapping (it receives batch ' +
        'metadata for replay); a further dead-letter queue would have nothing to catch.',
    );
    for (const spec of props.functions.filter((f) => f.trigger?.kind === 'stream')) {
      const fn = props.functionNamed(spec.name);
      fn.addEventSource(
        new DynamoEventSource(props.table, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: 100,
          maxBatchingWindow: Duration.seconds(1),
          retryAttempts: 10,
          bisectBatchOnError: true,
          onFailure: new SqsDlq(this.streamFailures),
          filters: [{ pattern: JSON.stringify(STREAM_EVENT_FILTER) }],
        }),
      );
    }
  }
}
