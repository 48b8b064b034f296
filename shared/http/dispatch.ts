import { AppError, InvalidArgumentError } from '../errors/index.js';
import { parseInput } from './parseInput.js';
import type { RequestState } from './requestState.js';
import { pathOf } from './requestParts.js';
import { match, type CompiledRoute } from './route.js';
import { isThenable } from './thenable.js';
import type { AnyRoute, HttpResult, SerializedJson } from './types.js';

/** A function's routes, compiled, and the body limit of a route that sets none. */
export interface Router {
  routes: CompiledRoute[];
  defaultLimit: number;
  /** The function's API document, served at `GET /openapi.json`; absent: that path is unknown. */
  document?: () => SerializedJson;
}

/**
 * Routes and validates synchronously; returns a promise only once something asynchronous
 * (authentication, the handler) runs. Every promise costs a trip through the async hooks
 * functions-framework's domains install, so the hot path makes none it does not need.
 * Records on `state` how far it got.
 */
export function dispatch(state: RequestState, router: Router): HttpResult | PromiseLike<HttpResult> {
  const { req } = state;
  const method = req.method.toUpperCase();
  const pathname = pathOf(req.originalUrl ?? req.url);
  if (pathname === '/healthz' || pathname === '/healthz/') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(['GET']);
    return { status: 200, body: { status: 'ok' } };
  }
  // Like /healthz: no auth and no backend — the document is built from the routes alone.
  if (router.document !== undefined && (pathname === '/openapi.json' || pathname === '/openapi.json/')) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(['GET']);
    return { status: 200, body: router.document() };
  }
  const found = match(router.routes, method, pathname);
  if (found.kind === 'none') throw new AppError('NOT_FOUND', `No route for ${method} ${pathname}`);
  if (found.kind === 'method') throw methodNotAllowed(found.allow);
  if (found.kind === 'bad-path') {
    throw badPathSegment(found.segment);
  }
  const route = found.route;
  state.route = route;
  state.params = found.params;
  // Authenticate first: an anonymous caller learns nothing about input validation.
  if (route.auth === undefined) return invoke(state, route, method, undefined, router.defaultLimit);
  // A cached caller is known at once: no promise until the handler makes one.
  const caller: unknown = route.auth(req);
  if (!isThenable(caller)) return invoke(state, route, method, caller, router.defaultLimit);
  return caller.then((auth: unknown) => invoke(state, route, method, auth, router.defaultLimit));
}

function invoke(state: RequestState, route: AnyRoute, method: string, auth: unknown, defaultLimit: number): HttpResult | PromiseLike<HttpResult> {
  state.principal = auth;
  state.authenticated = route.auth !== undefined;
  const { params, query, body } = parseInput(state.req, route, method, state.params ?? {}, defaultLimit);
  const { req, res, requestId, deadline } = state;
  return route.handler({ params, query, body, auth, requestId, deadline, req, res });
}

/** `400` for a path segment that is not valid percent-encoding. */
export function badPathSegment(segment: string): AppError {
  return new InvalidArgumentError('A path segment is not valid percent-encoding', [{ path: segment, message: 'Invalid encoding' }]);
}

/** `405` with the `Allow` header, carried by the error like any header an error needs. */
export function methodNotAllowed(allow: string[]): AppError {
  return new AppError('METHOD_NOT_ALLOWED', `Method not allowed; use ${allow.join(', ')}`, { headers: { allow: allow.join(', ') } });
}
