/** Finding the route for a method and path (pure). */
import { MethodNotAllowed, RouteNotFound } from './errors.ts';
import type { HttpMethod, RouteSpec } from './routes.ts';

interface CompiledRoute<R> {
  route: R;
  pattern: RegExp;
  names: string[];
}

export interface RouteMatch<R> {
  route: R;
  params: Record<string, string>;
}

function compile<R extends Pick<RouteSpec, 'path'>>(route: R): CompiledRoute<R> {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)(\+?)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]!);
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

/** Builds a matcher over a route table; unknown paths are 404, known paths with another method 405. */
export function routeMatcher<R extends Pick<RouteSpec, 'path' | 'method'>>(routes: readonly R[]) {
  const compiled = routes.map(compile);
  return (method: string, path: string): RouteMatch<R> => {
    const allowed: HttpMethod[] = [];
    for (const { route, pattern, names } of compiled) {
      const match = pattern.exec(path);
      if (!match) continue;
      if (route.method !== method.toUpperCase()) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (const [i, name] of names.entries()) {
        const raw = match[i + 1]!;
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          params[name] = raw;
        }
      }
      return { route, params };
    }
    if (allowed.length) throw new MethodNotAllowed(method, path, allowed);
    throw new RouteNotFound(method, path);
  };
}
