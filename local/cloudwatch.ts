/**
 * The local CloudWatch alarms: the part of the CloudWatch API a plan's waves read (DescribeAlarms)
 * and an operator or test uses to create alarms and move them (PutMetricAlarm, SetAlarmState), in the
 * AWS JSON 1.0 protocol the installed SDK client speaks. Alarms live in memory: nothing evaluates
 * metrics here, an alarm changes state only through SetAlarmState.
 */
import { arns } from './arns.ts';
import { type Access, AwsError, epochSeconds, type JsonService } from './http.ts';

const STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
type AlarmState = (typeof STATES)[number];

interface MetricAlarm {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription?: string;
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  Period?: number;
  EvaluationPeriods?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  StateValue: AlarmState;
  StateReason: string;
  StateUpdatedTimestamp: number;
  AlarmConfigurationUpdatedTimestamp: number;
}

/**
 * DescribeAlarms names at most 100 alarms and pages at most 100 records.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
 */
const MAX_NAMES = 100;
const MAX_RECORDS = 100;

function alarmName(value: unknown, field = 'AlarmName'): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 255)
    throw new AwsError('ValidationError', `${field} must be 1 to 255 characters`);
  return value;
}

export class LocalAlarms {
  private readonly alarms = new Map<string, MetricAlarm>();

  putMetricAlarm(input: Record<string, unknown>): Record<string, never> {
    const name = alarmName(input.AlarmName);
    const now = epochSeconds(Date.now());
    const existing = this.alarms.get(name);
    this.alarms.set(name, {
      AlarmName: name,
      AlarmArn: arns.alarm(name),
      ...(typeof input.AlarmDescription === 'string' ? { AlarmDescription: input.AlarmDescription } : {}),
      ...(typeof input.MetricName === 'string' ? { MetricName: input.MetricName } : {}),
      ...(typeof input.Namespace === 'string' ? { Namespace: input.Namespace } : {}),
      ...(typeof input.Statistic === 'string' ? { Statistic: input.Statistic } : {}),
      ...(typeof input.Period === 'number' ? { Period: input.Period } : {}),
      ...(typeof input.EvaluationPeriods === 'number' ? { EvaluationPeriods: input.EvaluationPeriods } : {}),
      ...(typeof input.Threshold === 'number' ? { Threshold: input.Threshold } : {}),
      ...(typeof input.ComparisonOperator === 'string'
        ? { ComparisonOperator: input.ComparisonOperator }
        : {}),
      // A new alarm has no data yet; updating one keeps its state, as CloudWatch does until it evaluates.
      StateValue: existing?.StateValue ?? 'INSUFFICIENT_DATA',
      StateReason: existing?.StateReason ?? 'Unchecked: Initial alarm creation',
      StateUpdatedTimestamp: existing?.StateUpdatedTimestamp ?? now,
      AlarmConfigurationUpdatedTimestamp: now,
    });
    return {};
  }

  setAlarmState(input: Record<string, unknown>): Record<string, never> {
    const name = alarmName(input.AlarmName);
    const alarm = this.alarms.get(name);
    if (!alarm) throw new AwsError('ResourceNotFound', `alarm ${name} does not exist`, 404);
    if (!STATES.includes(input.StateValue as AlarmState))
      throw new AwsError('ValidationError', `StateValue must be one of ${STATES.join(', ')}`);
    if (typeof input.StateReason !== 'string')
      throw new AwsError('ValidationError', 'StateReason is required');
    alarm.StateValue = input.StateValue as AlarmState;
    alarm.StateReason = input.StateReason;
    alarm.StateUpdatedTimestamp = epochSeconds(Date.now());
    return {};
  }

  describeAlarms(input: Record<string, unknown>) {
    const names = input.AlarmNames as unknown[] | undefined;
    if (names !== undefined && (!Array.isArray(names) || names.length > MAX_NAMES))
      throw new AwsError('ValidationError', `AlarmNames holds at most ${MAX_NAMES} names`);
    const wanted = names?.map((n) => alarmName(n, 'AlarmNames member'));
    const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : undefined;
    const state = input.StateValue as AlarmState | undefined;
    const matching = [...this.alarms.values()]
      .filter((a) => !wanted || wanted.includes(a.AlarmName))
      .filter((a) => !prefix || a.AlarmName.startsWith(prefix))
      .filter((a) => !state || a.StateValue === state)
      .sort((a, b) => a.AlarmName.localeCompare(b.AlarmName));
    const limit = typeof input.MaxRecords === 'number' ? Math.min(input.MaxRecords, MAX_RECORDS) : 50;
    const start = typeof input.NextToken === 'string' ? Number.parseInt(input.NextToken, 10) : 0;
    if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidNextToken', 'invalid NextToken');
    const page = matching.slice(start, start + limit);
    const end = start + page.length;
    return {
      MetricAlarms: page,
      CompositeAlarms: [],
      ...(end < matching.length ? { NextToken: String(end) } : {}),
    };
  }
}

/** Each call authorizes on the alarms it names; DescribeAlarms without names on every alarm. */
const onNamed: Access = (input: { AlarmName?: string }) => [{ resource: arns.alarm(input.AlarmName ?? '*') }];
const onListed: Access = (input: { AlarmNames?: string[] }) =>
  input.AlarmNames?.length
    ? input.AlarmNames.map((name) => ({ resource: arns.alarm(name) }))
    : [{ resource: arns.alarm('*') }];

export function cloudWatchService(alarms: LocalAlarms): JsonService {
  return {
    targetPrefix: 'GraniteServiceVersion20100801',
    jsonVersion: '1.0',
    iamPrefix: 'cloudwatch',
    operations: {
      PutMetricAlarm: (input) => alarms.putMetricAlarm(input),
      SetAlarmState: (input) => alarms.setAlarmState(input),
      DescribeAlarms: (input) => alarms.describeAlarms(input),
    },
    access: { PutMetricAlarm: onNamed, SetAlarmState: onNamed, DescribeAlarms: onListed },
  };
}
