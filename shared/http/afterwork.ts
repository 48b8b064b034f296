import { log } from '../log/index.js';
import type { RequestState } from './requestState.js';
import { SerializedJson, type AnyRoute } from './types.js';

/** What the wrapper knows about a mutating call, for the audit log. */
export interface AuditEvent {
  method: string;
  /** The route pattern, e.g. `/v1/pricing/:provider/:model`. */
  route: string;
  /** Raw path parameters (the resource). */
  params: Record<string, string>;
  /** Whatever the route's `auth` returned (admin authenticators return nothing). */
  principal: unknown;
  status: number;
  /** The error code when the call failed. */
  code: string | undefined;
  requestId: string;
  /** The `id` of what a successful POST created, when its response names one. */
  createdId?: string;
}

/** The work a function does at the end of each invocation, before its answer is written. */
export interface InvocationHooks {
  /** See `HttpFunctionOptions.finalize`. */
  finalize?: () => Promise<void> | undefined;
  /** See `HttpFunctionOptions.audit`. */
  audit?: (event: AuditEvent) => Promise<void>;
}

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The audit row and `finalize`, awaited inside the invocation; never rejects. Undefined
 * when there is nothing to do — no audited call, nothing due — so that most reads end
 * without a promise (each costs a trip through the framework's async hooks).
 */
export function afterwork(state: RequestState, hooks: InvocationHooks): Promise<void> | undefined {
  const route = auditedRoute(state, hooks);
  if (route === undefined) return finalizeInvocation(hooks.finalize);
  return auditCall(state, route, hooks.audit).then(() => finalizeInvocation(hooks.finalize));
}

async function auditCall(state: RequestState, route: AnyRoute, audit: InvocationHooks['audit']): Promise<void> {
  const { failure, result } = state;
  try {
    await audit?.({
      method: state.req.method,
      route: route.path,
      params: state.params ?? {},
      principal: state.principal,
      status: failure?.status ?? result?.status ?? 200,
      code: failure?.code,
      requestId: state.requestId,
      createdId: failure === undefined && route.method === 'POST' ? idOf(result?.body) : undefined,
    });
  } catch (error) {
    log.error('Writing the audit log failed; the call itself is unaffected', error, { route: route.path });
  }
}

function finalizeInvocation(finalize: InvocationHooks['finalize']): Promise<void> | undefined {
  const onError = (error: unknown): void => log.error('Finalizing the invocation failed', error);
  try {
    return finalize?.()?.catch(onError);
  } catch (error) {
    onError(error);
    return undefined;
  }
}

/**
 * The route of a call the audit hook must see: an authenticated mutating one, when there
 * is a hook. A call that did not authenticate is never audited: unauthenticated traffic
 * costs no BigQuery call.
 */
function auditedRoute(state: RequestState, hooks: InvocationHooks): AnyRoute | undefined {
  const route = state.route;
  return hooks.audit !== undefined && state.authenticated && route !== undefined && MUTATING_METHODS.has(route.method) ? route : undefined;
}

function idOf(body: unknown): string | undefined {
  const id = typeof body === 'object' && body !== null && !(body instanceof SerializedJson) ? (body as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}
