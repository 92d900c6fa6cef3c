/**
 * The operator's dashboard and alarms in the synthesized template: they watch the functions' own
 * metrics (catalog in functions/core/telemetry.ts) and the services underneath.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_DEFAULTS, TELEMETRY_ENV } from '../../functions/core/telemetry.ts';
import { FUNCTIONS } from '../../functions/manifest.ts';
import { resourcesOf, type Synthesized, synthesize } from './support.ts';

const PREFIX = 'tenant-rollout';
let synth: Synthesized;

beforeAll(() => {
  synth = synthesize();
}, 180_000);

const alarmNamed = (name: string) =>
  Object.values(resourcesOf(synth.template, 'AWS::CloudWatch::Alarm')).find(
    (a) => a.Properties?.AlarmName === `${PREFIX}-${name}`,
  )?.Properties;

/** The dashboard body: CloudFormation joins it from strings and tokens; the literal parts are enough here. */
function dashboardBody(): string {
  const dashboards = Object.values(resourcesOf(synth.template, 'AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  expect(dashboards[0]!.Properties?.DashboardName).toBe(`${PREFIX}-operations`);
  return JSON.stringify(dashboards[0]!.Properties?.DashboardBody);
}

describe('the operations dashboard', () => {
  it('graphs plans, tasks and stages from the functions metrics, and the services underneath', () => {
    const body = dashboardBody();
    for (const metric of ['PlanFinished', 'TaskEnded', 'StageSucceeded', 'StageFailed', 'StageDuration']) {
      expect(body).toContain(`\\"${TELEMETRY_DEFAULTS.metricsNamespace}\\",\\"${metric}\\"`);
    }
    for (const metric of ['HealthRounds', 'LockWait', 'EngineProvisionTime', 'InvocationFailed']) {
      expect(body).toContain(metric);
    }
    for (const metric of ['ExecutionsFailed', 'Errors', 'Throttles', 'WriteThrottleEvents']) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
  });
});

describe('alarms', () => {
  it('fire on unexpected function failures, on throttling of any function, and on DynamoDB throttling', () => {
    const errors = JSON.stringify(alarmNamed('function-errors'));
    expect(errors).toContain('"MetricName":"InvocationFailed"');
    expect(errors).toContain(`"Namespace":"${TELEMETRY_DEFAULTS.metricsNamespace}"`);
    expect(errors).toContain(`{"Name":"service","Value":"${PREFIX}"}`);
    for (const fn of FUNCTIONS) {
      expect(alarmNamed(`${fn.name}-throttles`)).toMatchObject({
        MetricName: 'Throttles',
        Namespace: 'AWS/Lambda',
      });
    }
    const table = alarmNamed('table-throttles');
    expect(JSON.stringify(table?.Metrics)).toContain('ReadThrottleEvents');
    expect(JSON.stringify(table?.Metrics)).toContain('gsi1');
  });

  it('keeps the existing ones on failed executions and on the publisher dead-letter queue', () => {
    expect(alarmNamed('task-executions-failed')).toMatchObject({ MetricName: 'ExecutionsFailed' });
    expect(alarmNamed('stream-publisher-failures')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
  });
});

describe('telemetry settings of the functions', () => {
  it('name the metrics namespace, the service (the prefix) and the log level on every function', () => {
    const functions = Object.values(resourcesOf(synth.template, 'AWS::Lambda::Function')).filter((f) =>
      String(f.Properties?.FunctionName).startsWith(`${PREFIX}-`),
    );
    expect(functions).toHaveLength(FUNCTIONS.length);
    for (const fn of functions) {
      expect((fn.Properties?.Environment as { Variables?: unknown })?.Variables).toMatchObject({
        [TELEMETRY_ENV.serviceName]: PREFIX,
        [TELEMETRY_ENV.metricsNamespace]: TELEMETRY_DEFAULTS.metricsNamespace,
        [TELEMETRY_ENV.logLevel]: 'INFO',
      });
    }
  });
});
