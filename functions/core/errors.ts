/** Typed domain errors. Handlers map them to HTTP status codes; only these messages reach callers. */
export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(statusCode: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
  }
}

export class ValidationError extends DomainError {
  readonly fields: FieldError[];
  constructor(fields: FieldError[]) {
    const summary = fields
      .slice(0, 5)
      .map((f) => (f.path ? `${f.path}: ${f.message}` : f.message))
      .join('; ');
    const more = fields.length > 5 ? ` (and ${fields.length - 5} more)` : '';
    super(400, 'VALIDATION_FAILED', `${summary}${more}`, { fields });
    this.fields = fields;
  }
}

export class NotFound extends DomainError {
  constructor(kind: string, id: string) {
    super(404, 'NOT_FOUND', `${kind} ${id} not found`);
  }
}

export class Conflict extends DomainError {
  constructor(message: string, details?: unknown) {
    super(409, 'CONFLICT', message, details);
  }
}

export class IllegalTransition extends DomainError {
  readonly currentStatus: string;
  constructor(kind: 'PLAN' | 'TASK', id: string, currentStatus: string, operation: string, reason?: string) {
    super(
      409,
      'ILLEGAL_TRANSITION',
      `cannot ${operation} ${kind.toLowerCase()} ${id}: it is ${currentStatus}${reason ? ` (${reason})` : ''}`,
      { currentStatus },
    );
    this.currentStatus = currentStatus;
  }
}
