import { isUtf8 } from 'node:buffer';
import type { Request, Response } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { runtimeConfig } from '../config/index.js';
import { Deadline, runWithDeadline } from '../deadline/index.js';
import {
  AppError,
  errorEnvelope,
  invalidArgumentFromZod,
  InvalidArgumentError,
  toAppError,
} from '../errors/index.js';
import { addLogContext, log, parseTraceContext, withLogContext, writeAccessLog, type Severity } from '../log/index.js';
import { installShutdownHandlers, trackInvocation } from '../lifecycle/index.js';
import { installFrameworkErrorHandler } from './frameworkErrors.js';
import { requestIdFrom } from './requestId.js';
import { compile, match } from './route.js';
import { SerializedJson, type AnyRoute, type HttpResult } from './types.js';

export interface HttpFunctionOptions {
  /** The function's name, as deployed (logs, `application_name`). */
  name: string;
  routes: AnyRoute[];
  /**
   * Runs after the handler, before the answer is written — whatever the outcome. For work
   * that must happen inside the invocation (Cloud Run may take the CPU away once the answer
   * is out), such as flushing buffers that are due. Errors are logged, never thrown.
   */
  finalize?: () => Promise<void>;
  /**
   * Called once for every authenticated mutating call (POST/PUT/PATCH/DELETE on a known
   * route whose `auth` passed), after the handler and before the answer is written,
   * whatever the handler's outcome. Awaited, so the audit row is written inside the
   * invocation; its errors are logged and never change the answer. A call that did not
   * authenticate is never audited: unauthenticated traffic costs no BigQuery call.
   */
  audit?: (event: AuditEvent) => Promise<void>;
}

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

/** Filled in by `dispatch` as it gets further, so the audit hook knows what was reached. */
interface DispatchTrace {
  route?: AnyRoute;
  params?: Record<string, string>;
  principal?: unknown;
  /** The route's `auth` passed: only then is a call audited. */
  authenticated?: boolean;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The request handler functions-framework calls. It answers through `res`; it returns nothing. */
export type HttpHandler = (req: Request, res: Response) => void;

/**
 * Builds an HTTP function: routing by method and path, request id, deadline, zod parsing
 * of path/query/body, body-size and content-type checks, error mapping to the envelope,
 * one access-log line per request, and `GET /healthz` (no backend touched).
 */
export function createHttpHandler({ name, routes, finalize, audit }: HttpFunctionOptions): HttpHandler {
  const config = runtimeConfig();
  const compiled = routes.map(compile);
  const defaultLimit = config.MAX_BODY_BYTES;
  const timeoutMs = config.FUNCTION_TIMEOUT_SECONDS * 1000;
  const safetyMarginMs = config.DEADLINE_SAFETY_MARGIN_MS;

  // Before the body is read: only paths this function serves are claimed here.
  installFrameworkErrorHandler((req) => {
    const result = match(compiled, req.method ?? 'GET', pathOf(req.url));
    return result.kind === 'match' ? (result.route.maxBodyBytes ?? defaultLimit) : undefined;
  });
  installShutdownHandlers({ drainTimeoutMs: config.SHUTDOWN_DRAIN_MS });

  /** The route of a call the audit hook must see: an authenticated mutating one, when there is a hook. */
  const auditedRoute = (trace: DispatchTrace): AnyRoute | undefined =>
    audit !== undefined && trace.authenticated === true && trace.route !== undefined && MUTATING_METHODS.has(trace.route.method)
      ? trace.route
      : undefined;
  const needsAfterwork = (trace: DispatchTrace): boolean => finalize !== undefined || auditedRoute(trace) !== undefined;

  /** The audit row and `finalize`, awaited inside the invocation; never rejects. */
  const afterwork = async (req: Request, requestId: string, trace: DispatchTrace, result: HttpResult | undefined, failure: AppError | undefined): Promise<void> => {
    const route = auditedRoute(trace);
    if (audit !== undefined && route !== undefined) {
      try {
        await audit({
          method: req.method,
          route: route.path,
          params: trace.params ?? {},
          principal: trace.principal,
          status: failure?.status ?? result?.status ?? 200,
          code: failure?.code,
          requestId,
          createdId: failure === undefined && route.method === 'POST' ? idOf(result?.body) : undefined,
        });
      } catch (error) {
        log.error('Writing the audit log failed; the call itself is unaffected', error, { route: route.path });
      }
    }
    if (finalize !== undefined) {
      try {
        await finalize();
      } catch (error) {
        log.error('Finalizing the invocation failed', error);
      }
    }
  };

  /*
   * Returns nothing, and makes no promise of its own: the handler's promise, when there is
   * one, is continued with `.then`. Every promise costs a trip through the async hooks that
   * functions-framework's per-request domain installs, and a promise returned to the
   * framework costs one more (it attaches `.catch`). Nothing here can reject: every
   * outcome, including a failure to serialise the answer, ends in `finish`.
   */
  return function handleRequest(req: Request, res: Response): void {
    const started = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    const deadline = new Deadline({ timeoutMs, safetyMarginMs });
    const context = {
      function: name,
      requestId,
      executionId: headerValue(req.headers['function-execution-id']) ?? requestId,
      trace: parseTraceContext(req.headers),
    };
    withLogContext(context, () =>
      runWithDeadline(deadline, () => {
        const trace: DispatchTrace = {};
        let done: (() => void) | undefined;
        const onClose = (): void => {
          if (!res.writableEnded) deadline.abort(new AppError('UNAVAILABLE', 'The client went away'));
        };
        // The response's 'close', not the request's: a request emits 'close' as soon as its
        // body has been read (body-parser does that before we run), client still waiting.
        res.once('close', onClose);

        const finish = (result: HttpResult | undefined, failure: AppError | undefined): void => {
          res.off('close', onClose);
          deadline.dispose();
          done?.();
          try {
            try {
              write(res, requestId, result, failure);
            } catch (error) {
              // e.g. a body JSON cannot serialise: the caller still gets the envelope.
              failure = toAppError(error);
              log.error('Writing the response failed', error);
              write(res, requestId, undefined, failure);
            }
            accessLog(req, res, started, failure);
          } catch (error) {
            // Nothing may escape: this runs in a promise reaction, where a throw becomes an
            // unhandled rejection — and functions-framework kills the instance for one.
            log.error('Completing the request failed', error);
            if (!res.writableEnded) res.destroy();
          }
        };
        const settle = (result: HttpResult | undefined, error: unknown, failed: boolean): void => {
          let failure: AppError | undefined;
          if (failed) {
            failure = toAppError(error);
            // Load we shed on purpose (503: no connection or lookup slot within the budget) is
            // a warning without a stack — a flood of it must not cost a stack trace per request;
            // the access line still carries the 503. Anything else 5xx is an error.
            if (failure.code === 'UNAVAILABLE') log.warn(failure.message, { code: failure.code });
            else if (failure.isServerError) log.error(failure.code === 'INTERNAL' ? 'Unhandled error' : failure.message, error);
          }
          if (!needsAfterwork(trace)) {
            finish(result, failure);
            return;
          }
          void afterwork(req, requestId, trace, result, failure).then(() => finish(result, failure));
        };

        let pending: HttpResult | Promise<HttpResult>;
        try {
          done = trackInvocation(deadline);
          pending = dispatch(req, res, compiled, requestId, deadline, defaultLimit, trace);
        } catch (error) {
          settle(undefined, error, true);
          return;
        }
        if (isThenable(pending)) {
          pending.then(
            (result) => settle(result, undefined, false),
            (error: unknown) => settle(undefined, error, true),
          );
        } else {
          settle(pending, undefined, false);
        }
      }),
    );
  };
}

/**
 * Routes and validates synchronously; returns a promise only once something asynchronous
 * (authentication, the handler) runs. Every promise costs a trip through the async hooks
 * functions-framework's domains install, so the hot path makes none it does not need.
 */
function dispatch(
  req: Request,
  res: Response,
  routes: ReturnType<typeof compile>[],
  requestId: string,
  deadline: Deadline,
  defaultLimit: number,
  trace: DispatchTrace,
): HttpResult | Promise<HttpResult> {
  const method = req.method.toUpperCase();
  const pathname = pathOf(req.originalUrl ?? req.url);
  if (pathname === '/healthz' || pathname === '/healthz/') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(['GET']);
    return { status: 200, body: { status: 'ok' } };
  }
  const found = match(routes, method, pathname);
  if (found.kind === 'none') throw new AppError('NOT_FOUND', `No route for ${method} ${pathname}`);
  if (found.kind === 'method') throw methodNotAllowed(found.allow);
  if (found.kind === 'bad-path') {
    throw new InvalidArgumentError('A path segment is not valid percent-encoding', [{ path: found.segment, message: 'Invalid encoding' }]);
  }
  const route = found.route;
  trace.route = route;
  trace.params = found.params;
  // Authenticate first: an anonymous caller learns nothing about input validation.
  if (route.auth === undefined) return invokeRoute(req, res, route, method, undefined, found.params, requestId, deadline, defaultLimit, trace);
  return route.auth(req).then((auth: unknown) => invokeRoute(req, res, route, method, auth, found.params, requestId, deadline, defaultLimit, trace));
}

function invokeRoute(
  req: Request,
  res: Response,
  route: AnyRoute,
  method: string,
  auth: unknown,
  pathParams: Record<string, string>,
  requestId: string,
  deadline: Deadline,
  defaultLimit: number,
  trace: DispatchTrace,
): HttpResult | Promise<HttpResult> {
  trace.principal = auth;
  trace.authenticated = route.auth !== undefined;
  const params: unknown = parseWith(route.params as z.ZodType | undefined, pathParams, 'path parameters');
  const query: unknown = parseWith(route.query as z.ZodType | undefined, { ...(req.query as Record<string, unknown>) }, 'query parameters');
  let body: unknown;
  if (route.body !== undefined) {
    if (!BODY_METHODS.has(method)) {
      body = parseWith(route.body as z.ZodType, undefined, 'body');
    } else {
      const raw = req.rawBody;
      const limit = route.maxBodyBytes ?? defaultLimit;
      if (raw !== undefined && raw.length > limit) {
        throw new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes`);
      }
      const contentType = headerValue(req.headers['content-type']) ?? '';
      if (raw !== undefined && raw.length > 0 && !/^application\/json\s*(;|$)/i.test(contentType)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The body must be application/json');
      }
      // body-parser turns invalid UTF-8 into U+FFFD and carries on; we refuse it instead of
      // storing something other than what was sent.
      if (raw !== undefined && raw.length > 0 && !isUtf8(raw)) {
        throw new InvalidArgumentError('The body is not valid UTF-8', [{ path: '(body)', message: 'Invalid UTF-8' }]);
      }
      const value: unknown = raw === undefined || raw.length === 0 ? undefined : req.body;
      body = parseWith(route.body as z.ZodType, value, 'body');
    }
  }
  return route.handler({ params, query, body, auth, requestId, deadline, req, res });
}

function idOf(body: unknown): string | undefined {
  const id = typeof body === 'object' && body !== null && !(body instanceof SerializedJson) ? (body as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function parseWith(schema: z.ZodType | undefined, value: unknown, what: string): unknown {
  if (schema === undefined) return value ?? {};
  const result = schema.safeParse(value);
  if (!result.success) throw invalidArgumentFromZod(result.error, what);
  return result.data;
}

/** `405` with the `Allow` header, carried by the error like any header an error needs. */
function methodNotAllowed(allow: string[]): AppError {
  return new AppError('METHOD_NOT_ALLOWED', `Method not allowed; use ${allow.join(', ')}`, { headers: { allow: allow.join(', ') } });
}

function write(res: Response, requestId: string, result: HttpResult | undefined, failure: AppError | undefined): void {
  if (res.headersSent) return;
  if (failure !== undefined) {
    if (failure.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(failure.retryAfterSeconds));
    // `?? {}`: an error made by another copy of this module (an older bundle) may have none.
    for (const [name, value] of Object.entries(failure.headers ?? {})) res.setHeader(name, value);
    res.status(failure.status).json(errorEnvelope(failure, requestId));
    return;
  }
  const status = result?.status ?? 200;
  for (const [key, value] of Object.entries(result?.headers ?? {})) res.setHeader(key, value);
  if (status === 204 || result?.body === undefined) {
    res.status(status).end();
    return;
  }
  if (result.body instanceof SerializedJson) {
    res.status(status).type('application/json').send(result.body.text);
    return;
  }
  res.status(status).json(result.body);
}

function accessLog(req: Request, res: Response, started: number, failure: AppError | undefined): void {
  const status = res.statusCode;
  const severity: Severity = status >= 500 ? 'ERROR' : status >= 400 ? 'WARNING' : 'INFO';
  const url = req.originalUrl ?? req.url;
  writeAccessLog(
    severity,
    `${req.method} ${pathOf(url)} ${status}`,
    {
      requestMethod: req.method,
      requestUrl: url,
      status,
      responseSize: String(res.getHeader('content-length') ?? ''),
      userAgent: headerValue(req.headers['user-agent']),
      remoteIp: clientIp(req),
      latency: `${((performance.now() - started) / 1000).toFixed(6)}s`,
    },
    failure?.code,
  );
}

/**
 * The caller's address as Express's `req.ip` gives it under functions-framework's
 * `trust proxy` (the left-most `X-Forwarded-For` entry, else the socket's peer) — without
 * proxy-addr's per-request parsing of every hop.
 */
function clientIp(req: Request): string | undefined {
  const forwarded = headerValue(req.headers['x-forwarded-for']);
  if (forwarded !== undefined && forwarded !== '') {
    const comma = forwarded.indexOf(',');
    const first = (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
    if (first !== '') return first;
  }
  return req.socket.remoteAddress;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Adds the authenticated org to every later log line of this invocation. */
export function setRequestOrg(org: string): void {
  addLogContext({ org });
}


