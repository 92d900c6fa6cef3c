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
      values[`:add_${field}`] = value;
      return `${name(field)} :add_${field}`;
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
