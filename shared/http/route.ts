import type { z } from 'zod';
import type { AnyRoute, ResponsesSpec, RouteSpec } from './types.js';

/**
 * Declares a route with full type inference of params, query, body and caller. Schemas
 * left out default to "nothing accepted": an absent query schema rejects no query, the
 * handler just gets `{}`. The handler may return only the answers `responses` declares.
 */
export function route<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
  A = undefined,
  const R extends ResponsesSpec = ResponsesSpec,
>(spec: RouteSpec<P, Q, B, A, R>): AnyRoute {
  return spec as AnyRoute;
}

/** A compiled path: literal segments and `:param` captures. */
export interface CompiledRoute {
  route: AnyRoute;
  segments: { literal?: string; param?: string }[];
}

export function compile(route: AnyRoute): CompiledRoute {
  const segments = route.path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : { literal: s }));
  return { route, segments };
}

export type MatchResult =
  | { kind: 'match'; route: AnyRoute; params: Record<string, string> }
  | { kind: 'method'; allow: string[] }
  | { kind: 'none' }
  | { kind: 'bad-path'; segment: string };

/**
 * Matches a path against the routes. A path that matches with another method gives
 * `405` with `Allow`; a segment that is not valid percent-encoding gives `400`.
 */
export function match(routes: CompiledRoute[], method: string, pathname: string): MatchResult {
  const parts = pathname.split('/').filter((s) => s !== '');
  const allow = new Set<string>();
  for (const compiled of routes) {
    if (compiled.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length; i += 1) {
      const seg = compiled.segments[i];
      const part = parts[i] as string;
      if (seg?.literal !== undefined) {
        if (seg.literal !== part) {
          ok = false;
          break;
        }
      } else if (seg?.param !== undefined) {
        try {
          params[seg.param] = decodeURIComponent(part);
        } catch {
          return { kind: 'bad-path', segment: seg.param };
        }
      }
    }
    if (!ok) continue;
    if (compiled.route.method === method) return { kind: 'match', route: compiled.route, params };
    allow.add(compiled.route.method);
  }
  return allow.size > 0 ? { kind: 'method', allow: [...allow] } : { kind: 'none' };
}
