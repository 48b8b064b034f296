import type { Request, Response } from '@google-cloud/functions-framework';
import { runtimeConfig } from '../config/index.js';
import { Deadline, runWithDeadline } from '../deadline/index.js';
import { AppError, toAppError } from '../errors/index.js';
import { installShutdownHandlers, trackInvocation } from '../lifecycle/index.js';
import { log, withLogContext } from '../log/index.js';
import { logAccess } from './logAccess.js';
import { afterwork, type AuditEvent, type InvocationHooks } from './afterwork.js';
import { badPathSegment, dispatch, methodNotAllowed, type Router } from './dispatch.js';
import { installRequestGate, type BodyPlan } from './requestGate.js';
import { logContextOf, newRequestState, type RequestState } from './requestState.js';
import { pathOf } from './requestParts.js';
import { compile, match } from './route.js';
import { isThenable } from './thenable.js';
import { SerializedJson, type AnyRoute, type HttpResult } from './types.js';
import { writeResponse } from './writeResponse.js';

export interface HttpFunctionOptions {
  /** The function's name, as deployed (logs, `application_name`). */
  name: string;
  routes: AnyRoute[];
  /**
   * Runs after the handler, before the answer is written — whatever the outcome. For work
   * that must happen inside the invocation (Cloud Run may take the CPU away once the answer
   * is out), such as flushing buffers that are due. Returns undefined when nothing is due
   * (most requests: they then end without a promise). Errors are logged, never thrown.
   */
  finalize?: () => Promise<void> | undefined;
  /**
   * Called once for every authenticated mutating call (POST/PUT/PATCH/DELETE on a known
   * route whose `auth` passed), after the handler and before the answer is written,
   * whatever the handler's outcome. Awaited, so the audit row is written inside the
   * invocation; its errors are logged and never change the answer. A call that did not
   * authenticate is never audited: unauthenticated traffic costs no BigQuery call.
   */
  audit?: (event: AuditEvent) => Promise<void>;
  /**
   * The function's API document, served at `GET /openapi.json` (no auth, no backend).
   * Called once, on the first request for it: building it converts every schema.
   */
  document?: () => unknown;
}

/** The request handler functions-framework calls. It answers through `res`; it returns nothing. */
export type HttpHandler = (req: Request, res: Response) => void;

/**
 * Builds an HTTP function: routing by method and path, request id, deadline, zod parsing
 * of path/query/body, body-size and content-type checks, error mapping to the envelope,
 * one access-log line per request, `GET /healthz` and `GET /openapi.json` (no backend touched).
 *
 * This file is the lifecycle of a request; each step is its own file: `requestState`
 * (one object per request), `dispatch` (routing, auth) and `parseInput`, `afterwork`
 * (audit and `finalize`), `writeResponse`, `logAccess`.
 */
export function createHttpHandler({ name, routes, finalize, audit, document }: HttpFunctionOptions): HttpHandler {
  const config = runtimeConfig();
  let serializedDocument: SerializedJson | undefined;
  const router: Router = {
    routes: routes.map(compile),
    defaultLimit: config.MAX_BODY_BYTES,
    document: document === undefined ? undefined : () => (serializedDocument ??= new SerializedJson(document())),
  };
  const hooks: InvocationHooks = { finalize, audit };
  const timeoutMs = config.FUNCTION_TIMEOUT_SECONDS * 1000;
  const safetyMarginMs = config.DEADLINE_SAFETY_MARGIN_MS;

  // Process-wide, once. Before the body is read: what this function's routes make of it.
  installRequestGate(function bodyPlanOf(req): BodyPlan | undefined {
    const result = match(router.routes, req.method ?? 'GET', pathOf(req.url));
    switch (result.kind) {
      case 'match': {
        const { auth, maxBodyBytes } = result.route;
        const limit = maxBodyBytes ?? router.defaultLimit;
        if (auth === undefined || limit <= router.defaultLimit) return { limit };
        // A large body is read only for a caller who is allowed to send it. The route's own
        // authenticator, under its own deadline; dispatch authenticates again from the cache.
        return {
          limit,
          authenticate: function authenticateBeforeBody(request): Promise<unknown> {
            const deadline = new Deadline({ timeoutMs, safetyMarginMs });
            // `new Promise`: an authenticator may answer (or throw) without one.
            return new Promise<unknown>((resolve) => resolve(runWithDeadline(deadline, (): unknown => auth(request as Request)))).finally(() => deadline.dispose());
          },
        };
      }
      case 'method':
        return { refuse: methodNotAllowed(result.allow) };
      case 'bad-path':
        return { refuse: badPathSegment(result.segment) };
      case 'none':
        return undefined;
    }
  });
  installShutdownHandlers({ drainTimeoutMs: config.SHUTDOWN_DRAIN_MS });

  /*
   * Returns nothing, and makes no promise of its own: the handler's promise, when there is
   * one, is continued with `.then`. Every promise costs a trip through the async hooks
   * that functions-framework's per-request domain installs, and a promise returned to the
   * framework costs one more (it attaches `.catch`). Nothing here can reject: every
   * outcome, including a failure to serialise the answer, ends in `finish`.
   */
  return function handleRequest(req: Request, res: Response): void {
    const started = performance.now();
    const state = newRequestState(req, res, started, new Deadline({ timeoutMs, safetyMarginMs }));
    withLogContext(logContextOf(state, name), () => runWithDeadline(state.deadline, () => serve(state, router, hooks)));
  };
}

function serve(state: RequestState, router: Router, hooks: InvocationHooks): void {
  const { res, deadline } = state;
  // The response's 'close', not the request's: a request emits 'close' as soon as its
  // body has been read (body-parser does that before we run), client still waiting.
  state.onClose = () => {
    if (!res.writableEnded) deadline.abort(new AppError('UNAVAILABLE', 'The client went away'));
  };
  res.once('close', state.onClose);
  let pending: HttpResult | PromiseLike<HttpResult>;
  try {
    state.done = trackInvocation(deadline);
    pending = dispatch(state, router);
  } catch (error) {
    fail(state, error);
    settle(state, hooks);
    return;
  }
  if (isThenable(pending)) {
    pending.then(
      (result) => {
        state.result = result;
        settle(state, hooks);
      },
      (error: unknown) => {
        fail(state, error);
        settle(state, hooks);
      },
    );
  } else {
    state.result = pending;
    settle(state, hooks);
  }
}

/** Records why the request failed, and logs it as what it is. */
function fail(state: RequestState, error: unknown): void {
  const failure = toAppError(error);
  state.failure = failure;
  // Load we shed on purpose (503: no connection or lookup slot within the budget) is a
  // warning without a stack — a flood of it must not cost a stack trace per request; the
  // access line still carries the 503. Anything else 5xx is an error.
  if (failure.code === 'UNAVAILABLE') log.warn(failure.message, { code: failure.code });
  else if (failure.isServerError) log.error(failure.code === 'INTERNAL' ? 'Unhandled error' : failure.message, error);
}

/** The outcome is known: afterwork (when there is any) inside the invocation, then the answer. */
function settle(state: RequestState, hooks: InvocationHooks): void {
  const work = afterwork(state, hooks);
  if (work === undefined) finish(state);
  else void work.then(() => finish(state));
}

function finish(state: RequestState): void {
  const { res } = state;
  if (state.onClose !== undefined) res.off('close', state.onClose);
  state.deadline.dispose();
  state.done?.();
  try {
    try {
      writeResponse(res, state.requestId, state.result, state.failure);
    } catch (error) {
      // e.g. a body JSON cannot serialise: the caller still gets the envelope.
      state.failure = toAppError(error);
      log.error('Writing the response failed', error);
      writeResponse(res, state.requestId, undefined, state.failure);
    }
    logAccess(state);
  } catch (error) {
    // Nothing may escape: this runs in a promise reaction, where a throw becomes an
    // unhandled rejection — and functions-framework kills the instance for one.
    log.error('Completing the request failed', error);
    if (!res.writableEnded) res.destroy();
  }
}
