/**
 * The operator's view of the stack: a CloudWatch dashboard (plans and tasks, stages, Step
 * Functions executions, Lambda errors and throttles, DynamoDB throttles, the publisher's
 * dead-letter queue) and the alarms the other constructs do not raise themselves: functions
 * failing unexpectedly or throttled, and DynamoDB throttling. The functions' own metrics come
 * from the catalog in functions/core/telemetry.ts.
 */
import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TERMINAL_PLAN_STATUSES, TERMINAL_TASK_STATUSES } from '../../functions/core/model.ts';
import { GSI1 } from '../../functions/core/table.ts';
import { FAILED_STEPS, METRICS, type MetricKey } from '../../functions/core/telemetry.ts';
import { resourceName } from '../names.ts';
import { anyOccurrenceAlarm } from './alarms.ts';

export interface DashboardProps {
  prefix: string;
  /** Namespace and `service` dimension of the functions' metrics. */
  metricsNamespace: string;
  serviceName: string;
  functions: ReadonlyMap<string, IFunction>;
  stateMachines: ReadonlyMap<string, StateMachine>;
  table: ITable;
  /** The stream publisher's dead-letter queue. */
  deadLetterQueue: IQueue;
  /** Alarms raised elsewhere, shown on the dashboard too. */
  otherAlarms: readonly Alarm[];
}

const PERIOD = Duration.minutes(5);
const WIDTH = 8;

export class RolloutDashboard extends Construct {
  public readonly dashboard: Dashboard;
  public readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    if (props.functions.size === 0) throw new Error('no functions to watch');
    if (props.stateMachines.size === 0) throw new Error('no state machines to watch');

    const own = (key: MetricKey, statistic: string, dimension?: string, label?: string) => {
      const spec = METRICS[key];
      return new Metric({
        namespace: props.metricsNamespace,
        metricName: spec.name,
        dimensionsMap: {
          service: props.serviceName,
          ...(spec.dimension && dimension ? { [spec.dimension]: dimension } : {}),
        },
        statistic,
        period: PERIOD,
        label: label ?? dimension ?? spec.name,
      });
    };
    /** One of the functions' metrics under two statistics, each [statistic, label]. */
    const distribution = (title: string, key: MetricKey, ...stats: [string, string][]) =>
      new GraphWidget({
        title,
        left: stats.map(([statistic, label]) => own(key, statistic, undefined, label)),
        width: 6,
      });
    const perFunction = (metric: (fn: IFunction) => Metric) =>
      [...props.functions.entries()].map(([name, fn]) =>
        metric(fn).with({ label: name, period: PERIOD, statistic: 'Sum' }),
      );

    const alarms: Alarm[] = [];
    const alarm = (name: string, metric: IMetric, description: string) =>
      alarms.push(anyOccurrenceAlarm(this, props.prefix, name, metric, description));
    alarm(
      'function-errors',
      own('invocationFailed', 'Sum'),
      'A function invocation failed with an unexpected error; its log line "invocation failed" names it',
    );
    for (const [name, fn] of props.functions) {
      alarm(
        `${name}-throttles`,
        fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        `${name}: invocations were throttled`,
      );
    }
    const dynamoThrottles = new MathExpression({
      expression: 'tr + tw + ir + iw',
      usingMetrics: {
        tr: props.table.metric('ReadThrottleEvents', { statistic: 'Sum' }),
        tw: props.table.metric('WriteThrottleEvents', { statistic: 'Sum' }),
        ir: props.table.metric('ReadThrottleEvents', {
          statistic: 'Sum',
          dimensionsMap: { TableName: props.table.tableName, GlobalSecondaryIndexName: GSI1.indexName },
        }),
        iw: props.table.metric('WriteThrottleEvents', {
          statistic: 'Sum',
          dimensionsMap: { TableName: props.table.tableName, GlobalSecondaryIndexName: GSI1.indexName },
        }),
      },
      label: 'throttle events (table and index)',
      period: PERIOD,
    });
    alarm('table-throttles', dynamoThrottles, 'DynamoDB throttled requests on the table or its index');
    this.alarms = alarms;

    const machines = [...props.stateMachines.entries()];
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: resourceName(props.prefix, 'operations'),
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${props.prefix}\nPlans, tasks and stages from the functions' metrics (namespace \`${props.metricsNamespace}\`), then the services underneath. Logs: \`/aws/lambda/${props.prefix}-*\`, \`/aws/vendedlogs/states/${props.prefix}-*\`.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Plans finished, by status',
        left: TERMINAL_PLAN_STATUSES.map((s) => own('planFinished', 'Sum', s)),
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Tasks ended, by status',
        left: TERMINAL_TASK_STATUSES.map((s) => own('taskEnded', 'Sum', s)),
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Stages succeeded and failed (by failing step)',
        left: [
          own('stageSucceeded', 'Sum', undefined, 'succeeded'),
          ...FAILED_STEPS.map((step) => own('stageFailed', 'Sum', step, `failed in ${step}`)),
        ],
        width: WIDTH,
      }),
    );
    this.dashboard.addWidgets(
      distribution('Stage duration (ms)', 'stageDuration', ['p50', 'p50'], ['p90', 'p90']),
      distribution('Health rounds per stage', 'healthRounds', ['Average', 'average'], ['Maximum', 'max']),
      distribution('Waiting for a tenant lock (ms)', 'lockWait', ['p50', 'p50'], ['Maximum', 'max']),
      distribution('Engine provision time (ms)', 'engineProvisionTime', ['p50', 'p50'], ['Maximum', 'max']),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Executions started',
        left: machines.map(([name, m]) => m.metricStarted({ period: PERIOD, label: name })),
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Executions failed, timed out, aborted',
        left: machines.flatMap(([name, m]) => [
          m.metricFailed({ period: PERIOD, label: `${name} failed` }),
          m.metricTimedOut({ period: PERIOD, label: `${name} timed out` }),
          m.metricAborted({ period: PERIOD, label: `${name} aborted` }),
        ]),
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Executions throttled',
        left: machines.map(([name, m]) => m.metricThrottled({ period: PERIOD, label: name })),
        width: WIDTH,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors (includes expected ones: TenantLocked, StageFailed)',
        left: perFunction((fn) => fn.metricErrors()),
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Lambda throttles',
        left: perFunction((fn) => fn.metricThrottles()),
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Unexpected invocation failures',
        left: [own('invocationFailed', 'Sum', undefined, 'failed invocations')],
        width: WIDTH,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'DynamoDB throttle events', left: [dynamoThrottles], width: WIDTH }),
      new GraphWidget({
        title: 'DynamoDB consumed capacity',
        left: [
          props.table.metricConsumedReadCapacityUnits({ period: PERIOD, label: 'read units' }),
          props.table.metricConsumedWriteCapacityUnits({ period: PERIOD, label: 'write units' }),
        ],
        width: WIDTH,
      }),
      new GraphWidget({
        title: 'Publisher dead-letter queue (records given up on)',
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'messages',
          }),
        ],
        width: WIDTH,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms, ...props.otherAlarms], width: 24 }),
    );
  }
}
