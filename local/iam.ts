/**
 * Least privilege, locally. Every principal (each function's execution role, the engines' task role)
 * signs its calls with its own access key id; the local endpoints read it from the SigV4
 * `Authorization` header, evaluate the policy functions/grants.ts derives for that principal, and
 * refuse anything else with AccessDeniedException, as AWS does. Keys that name no principal (the
 * runtime itself, the tests, an operator's CLI) play the account's administrator: unrestricted.
 *
 * On Lambda each function's sandbox gets its role's credentials in AWS_ACCESS_KEY_ID and friends. Here
 * every function runs in one process, so the runtime makes those variables read, inside an invocation,
 * as that function's credentials (an async-context view of process.env); SDK clients resolve their
 * credentials on their first call, which each function makes inside its own invocations.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws-env.ts';

export interface PolicyStatement {
  actions: readonly string[];
  resources: readonly string[];
  conditions?: Record<string, Record<string, string>>;
}

/** One action on one resource, with the condition keys the request carries. */
export interface AccessRequest {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** IAM's wildcards: `*` any run of characters, `?` any one character. */
function wildcard(pattern: string, caseInsensitive: boolean): RegExp {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '');
}

/** Only the operators the grants use; any other is refused, so a new one cannot be silently ignored. */
function conditionHolds(operator: string, key: string, expected: string, context: Record<string, string>) {
  const actual = context[key];
  if (actual === undefined) return false;
  switch (operator) {
    case 'ArnEquals':
    case 'StringEquals':
      return actual === expected;
    default:
      throw new Error(`condition operator ${operator} is not evaluated locally`);
  }
}

export class Policy {
  private readonly statements: {
    actions: RegExp[];
    resources: RegExp[];
    conditions: [string, string, string][];
  }[];

  constructor(statements: readonly PolicyStatement[]) {
    this.statements = statements.map((s) => ({
      actions: s.actions.map((a) => wildcard(a, true)),
      resources: s.resources.map((r) => wildcard(r, false)),
      conditions: Object.entries(s.conditions ?? {}).flatMap(([operator, pairs]) =>
        Object.entries(pairs).map(([key, value]) => [operator, key, value] as [string, string, string]),
      ),
    }));
  }

  allows(request: AccessRequest): boolean {
    const context = request.context ?? {};
    return this.statements.some(
      (s) =>
        s.actions.some((a) => a.test(request.action)) &&
        s.resources.some((r) => r.test(request.resource)) &&
        s.conditions.every(([operator, key, value]) => conditionHolds(operator, key, value, context)),
    );
  }
}

/** A principal's access key id: letters and digits only, as AWS key ids are. */
export function accessKeyOf(principal: string): string {
  return `LOCAL${principal.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;
}

export const LOCAL_SECRET_ACCESS_KEY = 'local';

/** The access key id a SigV4 `Authorization` header was signed with. */
export function signingKeyOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

export interface Principal {
  name: string;
  /** As AWS names the caller in a denial: the assumed role's session. */
  arn: string;
  policy: Policy;
}

export class AccessDenied extends Error {
  constructor(principal: Principal, request: AccessRequest) {
    // The message AWS gives for an implicit deny
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
    super(
      `User: ${principal.arn} is not authorized to perform: ${request.action} on resource: ${request.resource} because no identity-based policy allows the ${request.action} action`,
    );
    this.name = 'AccessDeniedException';
  }
}

export class Authorizer {
  private readonly byKey = new Map<string, Principal>();

  /** `roleName(principal)`: the role the principal's session belongs to, as it appears in a denial. */
  constructor(
    policies: ReadonlyMap<string, readonly PolicyStatement[]>,
    roleName: (principal: string) => string,
  ) {
    for (const [name, statements] of policies) {
      const role = roleName(name);
      this.byKey.set(accessKeyOf(name), {
        name,
        arn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${role}/${role}`,
        policy: new Policy(statements),
      });
    }
  }

  principalOf(authorization: string | undefined): Principal | undefined {
    const key = signingKeyOf(authorization);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** Throws AccessDenied for the first request the caller's policy does not allow. */
  check(authorization: string | undefined, requests: readonly AccessRequest[]): void {
    const principal = this.principalOf(authorization);
    if (!principal) return;
    for (const request of requests) {
      if (!principal.policy.allows(request)) throw new AccessDenied(principal, request);
    }
  }
}

/** Credentials of the function whose invocation runs in this async context. */
const scoped = new AsyncLocalStorage<string>();
let installed: { original: NodeJS.ProcessEnv } | undefined;

/**
 * From now on AWS_ACCESS_KEY_ID reads as the current invocation's key inside `asPrincipal`, and as
 * before outside it. Returns the undo.
 */
export function scopeCredentialsByInvocation(): () => void {
  if (installed) return () => {};
  const original = process.env;
  installed = { original };
  process.env = new Proxy(original, {
    get(target, property) {
      if (property === 'AWS_ACCESS_KEY_ID') {
        const key = scoped.getStore();
        if (key !== undefined) return key;
      }
      if (property === 'AWS_SECRET_ACCESS_KEY' && scoped.getStore() !== undefined)
        return LOCAL_SECRET_ACCESS_KEY;
      return Reflect.get(target, property);
    },
    // process.env takes plain assignments only (no receiver, no partial descriptors).
    set(target, property, value) {
      if (typeof property === 'symbol') return false;
      target[property] = value;
      return true;
    },
  });
  return () => {
    if (installed?.original === original) {
      process.env = original;
      installed = undefined;
    }
  };
}

/** Runs `fn` with the principal's credentials in the environment (see scopeCredentialsByInvocation). */
export function asPrincipal<T>(principal: string, fn: () => T): T {
  return scoped.run(accessKeyOf(principal), fn);
}

/** The environment of a process that runs as `principal` (an engine under its task role). */
export function credentialsEnv(principal: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: accessKeyOf(principal),
    AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_ACCESS_KEY,
    AWS_REGION: LOCAL_REGION,
  };
}
