/**
 * The IAM permissions of every principal, derived from the function manifest (`table`, `uses`,
 * `trigger`): what each function's execution role and the engines' task role may call, on which
 * resources. CDK renders them into the roles' policies (cdk/constructs/functions.ts, engines.ts); the
 * local runtime renders them with local ARNs and refuses every other call (local/iam.ts). Resources
 * are symbolic here; each reader names them.
 *
 * Lambda's own needs (CloudWatch Logs, X-Ray, VPC network interfaces) are not here: the functions'
 * code never calls them, CDK grants them with the function (cdk/constructs/rollout-function.ts).
 */
import { GSI1 } from './core/table.ts';
import type { FunctionSpec } from './manifest.ts';

export type GrantResource =
  | { kind: 'table' }
  | { kind: 'index'; name: string }
  | { kind: 'tableStream' }
  | { kind: 'stateMachine'; machine: string }
  /** Every execution of the machine (names are chosen at run time). */
  | { kind: 'executions'; machine: string }
  | { kind: 'eventBus' }
  | { kind: 'engineTaskDefinitions' }
  /** Every task of the project's cluster (task ids exist only once a task runs). */
  | { kind: 'clusterTasks' }
  | { kind: 'engineRoles' }
  /**
   * Every CloudWatch alarm of the account and region: a plan names its alarms at run time. Only
   * read (DescribeAlarms) is granted on them.
   */
  | { kind: 'alarms' }
  /** Resource "*": only for actions AWS authorizes on no resource; each use says which and why. */
  | { kind: 'any' };

export type GrantCondition =
  /** The request's `ecs:cluster` is the project's cluster. */
  | { kind: 'inProjectCluster' }
  /** `iam:PassedToService` is ECS tasks. */
  | { kind: 'passedToEcsTasks' };

export interface Grant {
  actions: readonly string[];
  resources: readonly GrantResource[];
  condition?: GrantCondition;
}

/** The name of the engines' task role among the principals (functions go by their manifest name). */
export const ENGINE_TASK_ROLE = 'engine-task-role';

const TABLE = [{ kind: 'table' }, { kind: 'index', name: GSI1.indexName }] as const;

/** Transactions are authorized through the item actions they contain; there is no TransactWriteItems action. */
export const TABLE_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
] as const;
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** Every call a function's code (or, for a stream trigger, its event source mapping) makes. */
export function functionGrants(
  spec: Pick<FunctionSpec, 'table' | 'uses' | 'trigger'>,
  stateMachines: readonly string[],
): Grant[] {
  const grants: Grant[] = [
    {
      actions: spec.table === 'RO' ? TABLE_READ_ACTIONS : [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
      resources: TABLE,
    },
  ];
  if (spec.trigger?.kind === 'stream') {
    grants.push(
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [{ kind: 'tableStream' }],
      },
      // ListStreams authorizes on no stream (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
      { actions: ['dynamodb:ListStreams'], resources: [{ kind: 'any' }] },
    );
  }
  const machines = stateMachines.map((machine) => ({ kind: 'stateMachine', machine }) as const);
  const executions = stateMachines.map((machine) => ({ kind: 'executions', machine }) as const);
  for (const use of new Set(spec.uses)) {
    switch (use) {
      case 'sfn':
        grants.push(
          { actions: ['states:StartExecution', 'states:DescribeStateMachine'], resources: machines },
          { actions: ['states:DescribeExecution', 'states:StopExecution'], resources: executions },
          {
            actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
            resources: machines,
          },
        );
        break;
      case 'sfn-history':
        grants.push(
          { actions: ['states:DescribeExecution', 'states:GetExecutionHistory'], resources: executions },
          { actions: ['states:DescribeStateMachine'], resources: machines },
        );
        break;
      case 'ecs':
        grants.push(
          {
            actions: ['ecs:RunTask'],
            resources: [{ kind: 'engineTaskDefinitions' }],
            condition: { kind: 'inProjectCluster' },
          },
          {
            actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
            resources: [{ kind: 'clusterTasks' }],
            condition: { kind: 'inProjectCluster' },
          },
          // ListTasks authorizes on the ecs:cluster condition only: no task ARN exists before listing
          // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
          {
            actions: ['ecs:ListTasks'],
            resources: [{ kind: 'any' }],
            condition: { kind: 'inProjectCluster' },
          },
          {
            actions: ['iam:PassRole'],
            resources: [{ kind: 'engineRoles' }],
            condition: { kind: 'passedToEcsTasks' },
          },
        );
        break;
      case 'alarms':
        // DescribeAlarms authorizes on the alarms it names (resource type alarm).
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
        grants.push({ actions: ['cloudwatch:DescribeAlarms'], resources: [{ kind: 'alarms' }] });
        break;
      case 'events':
        grants.push({
          actions: ['events:PutEvents', 'events:DescribeEventBus'],
          resources: [{ kind: 'eventBus' }],
        });
        break;
    }
  }
  return grants;
}

/** The engines' hand-off: an engine completes the `ecs:runTask.waitForTaskToken` state of the task machine itself. */
export const ENGINE_TASK_ROLE_GRANTS: readonly Grant[] = [
  {
    actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
    resources: [{ kind: 'stateMachine', machine: 'task' }],
  },
];

/** How one reader names the resources and condition values (CDK tokens, or local ARNs). */
export interface GrantNames {
  table: string;
  index(name: string): string;
  tableStream: string;
  stateMachine(machine: string): string;
  executions(machine: string): string;
  eventBus: string;
  engineTaskDefinitions: readonly string[];
  clusterTasks: string;
  engineRoles: readonly string[];
  cluster: string;
  alarms: string;
}

export interface RenderedStatement {
  actions: string[];
  resources: string[];
  conditions?: Record<string, Record<string, string>>;
}

/** A name the reader did not give: the grant cannot be rendered where that resource does not exist. */
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no name for ${what}: this reader cannot render the grant`);
  return value;
}

function resourceNames(resource: GrantResource, names: Partial<GrantNames>): readonly string[] {
  switch (resource.kind) {
    case 'table':
      return [need(names.table, 'the table')];
    case 'index':
      return [need(names.index, 'an index')(resource.name)];
    case 'tableStream':
      return [need(names.tableStream, "the table's stream")];
    case 'stateMachine':
      return [need(names.stateMachine, 'a state machine')(resource.machine)];
    case 'executions':
      return [need(names.executions, 'executions')(resource.machine)];
    case 'eventBus':
      return [need(names.eventBus, 'the event bus')];
    case 'engineTaskDefinitions':
      return need(names.engineTaskDefinitions, 'the engine task definitions');
    case 'clusterTasks':
      return [need(names.clusterTasks, "the cluster's tasks")];
    case 'engineRoles':
      return need(names.engineRoles, 'the engine roles');
    case 'alarms':
      return [need(names.alarms, 'the alarms')];
    case 'any':
      return ['*'];
  }
}

function conditionOf(
  condition: GrantCondition,
  names: Partial<GrantNames>,
): Record<string, Record<string, string>> {
  switch (condition.kind) {
    case 'inProjectCluster':
      return { ArnEquals: { 'ecs:cluster': need(names.cluster, 'the cluster') } };
    case 'passedToEcsTasks':
      return { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } };
  }
}

/**
 * Policy statements (Allow) for the grants; a grant whose resources are all absent (no engines) yields
 * none. A reader gives only the names its grants need.
 */
export function renderGrants(grants: readonly Grant[], names: Partial<GrantNames>): RenderedStatement[] {
  return grants.flatMap((grant) => {
    const resources = grant.resources.flatMap((r) => resourceNames(r, names));
    if (!resources.length) return [];
    return [
      {
        actions: [...grant.actions],
        resources,
        ...(grant.condition ? { conditions: conditionOf(grant.condition, names) } : {}),
      },
    ];
  });
}
