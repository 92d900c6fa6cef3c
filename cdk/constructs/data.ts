/** The one DynamoDB table, built from the shared table definition (functions/core/table.ts). */
import { RemovalPolicy } from 'aws-cdk-lib';
import { type Attribute, AttributeType, BillingMode, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { createTableInput, GSI1, STREAM_VIEW_TYPE, TTL_ATTRIBUTE } from '../../functions/core/table.ts';

export interface DataProps {
  /** Deletion protection on, and the table retained when the stack is deleted. */
  deletionProtection: boolean;
}

const definition = createTableInput('definition');

function attribute(name: string): Attribute {
  const declared = definition.AttributeDefinitions.find((a) => a.AttributeName === name);
  if (!declared) throw new Error(`table definition declares no attribute ${name}`);
  const types = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY } as const;
  return { name, type: types[declared.AttributeType] };
}

function keyOf(
  schema: readonly { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[],
  kind: 'HASH' | 'RANGE',
) {
  const key = schema.find((k) => k.KeyType === kind);
  if (!key) throw new Error(`table definition has no ${kind} key`);
  return attribute(key.AttributeName);
}

export class Data extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    if (definition.BillingMode !== 'PAY_PER_REQUEST')
      throw new Error('the table definition must be on-demand');
    const gsi = definition.GlobalSecondaryIndexes.find((g) => g.IndexName === GSI1.indexName);
    if (!gsi) throw new Error(`table definition has no index ${GSI1.indexName}`);

    this.table = new Table(this, 'Table', {
      partitionKey: keyOf(definition.KeySchema, 'HASH'),
      sortKey: keyOf(definition.KeySchema, 'RANGE'),
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      stream: StreamViewType[STREAM_VIEW_TYPE],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: gsi.IndexName,
      partitionKey: keyOf(gsi.KeySchema, 'HASH'),
      sortKey: keyOf(gsi.KeySchema, 'RANGE'),
    });
  }
}
