import type { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { PARTITION_KEY } from '../table.ts';

/** Builds SET/REMOVE update expressions from plain objects, with attribute-name placeholders for every field. */
export interface UpdateParts {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

export function updateParts(
  set: Record<string, unknown>,
  remove: readonly string[] = [],
  add: Record<string, number> = {},
): UpdateParts {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const name = (field: string) => {
    const placeholder = `#${field.replace(/[^A-Za-z0-9_]/g, '_')}`;
    names[placeholder] = field;
    return placeholder;
  };
  const setClauses = Object.entries(set)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => {
      values[`:set_${field}`] = value;
      return `${name(field)} = :set_${field}`;
    });
  const addClauses = Object.entries(add)
    .filter(([, value]) => value !== 0)
    .map(([field, value]) => {
      const placeholder = `:add_${field.replace(/[^A-Za-z0-9_]/g, '_')}`;
      values[placeholder] = value;
      return `${name(field)} ${placeholder}`;
    });
  const removeClauses = remove.map(name);
  const expression = [
    setClauses.length ? `SET ${setClauses.join(', ')}` : '',
    addClauses.length ? `ADD ${addClauses.join(', ')}` : '',
    removeClauses.length ? `REMOVE ${removeClauses.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return { UpdateExpression: expression, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

/** An update of an item that must exist already: an update never creates a task or plan that is not there. */
export function updateExisting(
  set: Record<string, unknown>,
  remove: readonly string[] = [],
  add: Record<string, number> = {},
) {
  const parts = updateParts(set, remove, add);
  return {
    ...parts,
    ConditionExpression: 'attribute_exists(#key)',
    ExpressionAttributeNames: { ...parts.ExpressionAttributeNames, '#key': PARTITION_KEY },
  };
}

export type TransactItems = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>;

/**
 * The status move of a transition: sets the fields (status, seq, ...) only if the
 * item still has the status and sequence the caller read, so a concurrent change wins once.
 */
export function guardedStatusUpdate(
  tableName: string,
  key: Record<string, string>,
  set: Record<string, unknown>,
  remove: readonly string[],
  expected: { status: string; seq: number },
): TransactItems[number] {
  const parts = updateParts(set, remove);
  return {
    Update: {
      TableName: tableName,
      Key: key,
      ...parts,
      ConditionExpression: '#status = :expectedStatus AND #seq = :expectedSeq',
      ExpressionAttributeValues: {
        ...parts.ExpressionAttributeValues,
        ':expectedStatus': expected.status,
        ':expectedSeq': expected.seq,
      },
    },
  };
}
