/**
 * The one table definition. CDK builds the DynamoDB table from it and the local
 * runtime creates the same table in DynamoDB Local from it.
 */
export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
export const GSI1 = { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' } as const;
export const TTL_ATTRIBUTE = 'expiresAt';
export const STREAM_VIEW_TYPE = 'NEW_IMAGE' as const;

/** The CreateTable request for this table, used verbatim by the local runtime and by tests. */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: 'S' as const },
      { AttributeName: SORT_KEY, AttributeType: 'S' as const },
      { AttributeName: GSI1.partitionKey, AttributeType: 'S' as const },
      { AttributeName: GSI1.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' as const },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: GSI1.indexName,
        KeySchema: [
          { AttributeName: GSI1.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: GSI1.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: STREAM_VIEW_TYPE },
  };
}
