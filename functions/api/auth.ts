/**
 * Bearer-token check, the one place it happens. Locally the server always has a token;
 * on AWS the API Gateway authorizer guards `bearer` routes, and the function checks the
 * token itself only when one is configured (ROLLOUT_API_TOKEN).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Unauthorized } from './errors.ts';
import type { RouteAuth } from './routes.ts';

/** Compares digests, so neither the content nor the length of the token leaks through timing. */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function authorize(
  auth: RouteAuth,
  authorization: string | undefined,
  expectedToken: string | undefined,
): void {
  if (auth === 'none' || expectedToken === undefined) return;
  if (!authorization) throw new Unauthorized('missing Authorization: Bearer <token> header');
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  if (!match) throw new Unauthorized('Authorization header must be "Bearer <token>"');
  if (!tokensEqual(match[1]!, expectedToken)) throw new Unauthorized('invalid token');
}
