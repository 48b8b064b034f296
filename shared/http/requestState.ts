import type { Request, Response } from '@google-cloud/functions-framework';
import type { Deadline } from '../deadline/index.js';
import type { AppError } from '../errors/index.js';
import { parseTraceContext, type LogContext } from '../log/index.js';
import { requestIdFrom } from './requestId.js';
import { headerValue } from './requestParts.js';
import type { AnyRoute, HttpResult } from './types.js';

/**
 * Everything the wrapper knows about one request, in one object: what arrived, how far
 * dispatch got (so the audit hook knows what was reached), and how it ended.
 */
export interface RequestState {
  readonly req: Request;
  readonly res: Response;
  readonly requestId: string;
  /** `performance.now()` on arrival: the access log's latency. */
  readonly started: number;
  readonly deadline: Deadline;
  /** The matched route, once routing found one. */
  route: AnyRoute | undefined;
  /** Raw path parameters of the matched route. */
  params: Record<string, string> | undefined;
  /** Whatever the route's `auth` returned. */
  principal: unknown;
  /** The route's `auth` passed: only then is a call audited. */
  authenticated: boolean;
  /** What the handler returned, when it succeeded. */
  result: HttpResult | undefined;
  /** Why the request failed, when it did. */
  failure: AppError | undefined;
  /** Stops watching for the client going away; set once the request is being served. */
  onClose: (() => void) | undefined;
  /** Ends the invocation's tracking by shutdown. */
  done: (() => void) | undefined;
}

/** The request id is taken from `X-Request-Id` (when valid) and echoed at once. */
export function newRequestState(req: Request, res: Response, started: number, deadline: Deadline): RequestState {
  const requestId = requestIdFrom(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  return {
    req,
    res,
    requestId,
    started,
    deadline,
    route: undefined,
    params: undefined,
    principal: undefined,
    authenticated: false,
    result: undefined,
    failure: undefined,
    onClose: undefined,
    done: undefined,
  };
}

/** The fields every log line of this invocation carries. */
export function logContextOf(state: RequestState, functionName: string): LogContext {
  return {
    function: functionName,
    requestId: state.requestId,
    executionId: headerValue(state.req.headers['function-execution-id']) ?? state.requestId,
    trace: parseTraceContext(state.req.headers),
  };
}
