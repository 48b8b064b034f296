import type { Request, Response } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import type { Deadline } from '../deadline/index.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler returns; the wrapper writes it. `204` sends no body. */
export interface HttpResult {
  status?: number;
  /**
   * Serialized with `JSON.stringify`, unless it is a {@link SerializedJson} (sent as is) or
   * {@link STREAMED} (the handler wrote the body itself).
   */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Everything a handler gets: parsed input, the caller, the request id and the deadline. */
export interface HandlerContext<P, Q, B, A> {
  params: P;
  query: Q;
  body: B;
  /** Whatever the route's `auth` returned (the authenticated caller). */
  auth: A;
  requestId: string;
  deadline: Deadline;
  req: Request;
  res: Response;
}

/** Authenticates a request before its input is parsed; throws `UNAUTHENTICATED` etc. */
export type Authenticator<A> = (req: Request) => Promise<A>;

/** One route. Schemas are zod; their failures become `400` naming the fields. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A> {
  method: HttpMethod;
  /** `/v1/pricing/:provider/:model` — `:name` segments become `params`. */
  path: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Body limit for this route. @default MAX_BODY_BYTES (1 MiB) */
  maxBodyBytes?: number;
  auth?: Authenticator<A>;
  handler: (ctx: HandlerContext<z.infer<P>, z.infer<Q>, z.infer<B>, A>) => Promise<HttpResult>;
}

/** A route with its types erased, as the router stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- erasure point: each route was type-checked by `route()`
export type AnyRoute = RouteSpec<any, any, any, any>;

/**
 * A response body already serialized as JSON — e.g. a cached page, serialized once when
 * cached instead of on every hit. The wrapper sends its text as is.
 */
export class SerializedJson {
  readonly text: string;

  constructor(value: unknown) {
    this.text = JSON.stringify(value);
  }
}

/** The type of {@link STREAMED}. */
export class StreamedBody {
  private constructor() {}

  /** @internal The one instance. */
  static readonly instance: StreamedBody = new StreamedBody();
}

/**
 * The body of a handler that wrote its answer itself through `ctx.res` (a download too
 * large to hold: `res.status(…)`, headers, then `res.write` page by page with
 * backpressure — see `writeChunk`). The handler does **not** call `res.end()`: the wrapper
 * runs the invocation's afterwork (audit, `finalize`) and then ends the response, so that
 * work stays inside the invocation as for any other answer. If the handler fails before
 * its first byte, the caller gets the usual error envelope; once bytes are out, a failure
 * destroys the connection, so the client sees a cut transfer, never a complete-looking
 * file. The access line is written either way.
 */
export const STREAMED: StreamedBody = StreamedBody.instance;
