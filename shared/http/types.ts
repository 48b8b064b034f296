import type { Request, Response } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import type { Deadline } from '../deadline/index.js';
import type { ErrorCode } from '../errors/index.js';

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

/**
 * How a caller proves who it is, as the API document names and describes it (an OpenAPI
 * security scheme). Carried by the authenticator itself, so a route's documented security
 * is whatever actually guards it.
 */
export interface SecurityScheme {
  /** The scheme's key in the document, e.g. `tenantKey`. */
  name: string;
  description: string;
  /** What the bearer token looks like, e.g. `cak_…`. */
  bearerFormat?: string;
}

/**
 * Authenticates a request before its input is parsed; throws (or rejects with)
 * `UNAUTHENTICATED` etc. It may answer at once, without a promise, when it needs no I/O (a
 * cached key): every promise on the hot path costs a trip through the async hooks that
 * functions-framework's per-request domain installs.
 */
export type Authenticator<A> = ((req: Request) => A | Promise<A>) & { securityScheme?: SecurityScheme };

/** A header an answer carries (besides `X-Request-Id`, which every answer carries). */
export interface ResponseHeaderSpec {
  description: string;
  /** @default false */
  required?: boolean;
}

/** One answer a route gives on success, as the API document shows it. */
export interface ResponseSpec {
  description: string;
  /** The JSON body. Absent (and no `media`): the answer has no body (`204`, `202` without one). */
  body?: z.ZodType;
  /** A body that is not JSON, written by the handler itself (`STREAMED`): its media types. */
  media?: readonly string[];
  headers?: Record<string, ResponseHeaderSpec>;
}

/** The statuses the API answers a success with. */
export type SuccessStatus = 200 | 201 | 202 | 204;

/** A route's success answers by status. Errors are declared apart (`errors`): they all share the envelope. */
export type ResponsesSpec = Readonly<Partial<Record<SuccessStatus, ResponseSpec>>>;

/** The body a handler may return for one declared answer. */
type BodyFor<Spec> = Spec extends { body: infer Z extends z.ZodType }
  ? { body: z.output<Z> | SerializedJson<z.output<Z>> }
  : Spec extends { media: readonly string[] }
    ? { body: StreamedBody }
    : { body?: undefined };

/** One declared answer as a handler returns it; `status` may be left out for `200`. */
type ResultFor<S extends SuccessStatus, Spec> = (S extends 200 ? { status?: 200 } : { status: S }) & { headers?: Record<string, string> } & BodyFor<Spec>;

/**
 * What a handler of a route with responses `R` may return: one of the declared answers,
 * with a body of its declared schema's type — so a route cannot return, at compile time,
 * a status or a body its document does not describe.
 */
export type ResultOf<R extends ResponsesSpec> = {
  // Mapped over the fixed list rather than `keyof R`: a status taken from `keyof` loses its
  // literal type in a handler's `return { status: 201 }`, which then would not type-check.
  [S in SuccessStatus]: S extends keyof R ? ResultFor<S, R[S]> : never;
}[SuccessStatus];

/** One route. Schemas are zod; their failures become `400` naming the fields. */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, A, R extends ResponsesSpec = ResponsesSpec> {
  method: HttpMethod;
  /** `/v1/pricing/:provider/:model` — `:name` segments become `params`. */
  path: string;
  /** One line saying what the route does: the operation's summary in the API document. */
  summary: string;
  /** More, when one line is not enough (the operation's description). */
  description?: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Body limit for this route. @default MAX_BODY_BYTES (1 MiB) */
  maxBodyBytes?: number;
  /**
   * Request headers the handler reads (`Idempotency-Key`), with the schema it checks them
   * against: documented as header parameters. The handler reads and checks them itself.
   */
  requestHeaders?: Record<string, { description: string; schema: z.ZodType }>;
  auth?: Authenticator<A>;
  /** Every success answer, by status: the document shows them and the handler's type allows only them. */
  responses: R;
  /**
   * The errors this route itself raises (`NOT_FOUND` for an unknown id, `ALREADY_EXISTS`,
   * `QUOTA_EXCEEDED` …). Those every route can give — bad input, authentication, the body
   * gate, server errors — are added by the document from the route's shape.
   */
  errors?: readonly ErrorCode[];
  // NoInfer: `responses` alone decides R; the handler is checked against it (and its literals keep their types).
  // A handler may answer without a promise (from a cache: see `whenReady`).
  handler: (ctx: HandlerContext<z.infer<P>, z.infer<Q>, z.infer<B>, A>) => NoInfer<ResultOf<R>> | Promise<NoInfer<ResultOf<R>>>;
}

/** A route with its types erased, as the router stores it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- erasure point: each route was type-checked by `route()`
export type AnyRoute = RouteSpec<any, any, any, any, any>;

/**
 * A response body already serialized as JSON — e.g. a cached page, serialized once when
 * cached instead of on every hit. The wrapper sends its text as is.
 */
export class SerializedJson<T = unknown> {
  readonly text: string;
  /** Compile time only: the type of the value serialized, so a route's declared body type still applies. */
  declare private readonly serializedType?: T;

  constructor(value: T) {
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
