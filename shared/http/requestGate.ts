import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, errorEnvelope, InvalidArgumentError, toAppError } from '../errors/index.js';
import { log } from '../log/index.js';
import { hasBody, parseBody, readBoundedBody } from './boundedBody.js';
import { requestIdFrom } from './requestId.js';

/**
 * What to do with a request's body, decided from its method, path and headers alone:
 * - `{ limit }`: read it, bounded by `limit` bytes;
 * - `{ limit, authenticate }`: authenticate from the headers first, and read the body only
 *   if that passes — for routes whose limit is large, so that an anonymous 8 MiB costs
 *   nothing;
 * - `{ refuse }`: answer `refuse` at once without reading a byte (no route takes it).
 */
export type BodyPlan =
  | { limit: number; authenticate?: (req: IncomingMessage) => Promise<unknown> }
  | { refuse: AppError };

/** Returns the plan for a request's body, or undefined when this function does not know the request. */
export type BodyLimitFor = (req: IncomingMessage) => BodyPlan | undefined;

const limits: BodyLimitFor[] = [];
let installed = false;
/** Set by event functions, whose framework app cannot answer `GET /healthz` itself. */
let answerHealthz = false;

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

/** Maps body-parser's errors (raised before our handler runs) to our codes. */
function toEnvelopeError(error: BodyParserError): AppError {
  switch (error.type) {
    case 'entity.parse.failed':
      return new InvalidArgumentError('The request body is not valid JSON', [{ path: '(body)', message: 'Malformed JSON' }]);
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content encoding or charset');
    case 'request.size.invalid':
    case 'request.aborted':
      return new InvalidArgumentError('The request body was incomplete');
    default:
      // Express decodes the catch-all path parameter before the function runs; a segment
      // that is not valid percent-encoding arrives here as a URIError.
      if (error instanceof URIError) {
        return new InvalidArgumentError('A path segment is not valid percent-encoding', [{ path: '(path)', message: 'Invalid encoding' }]);
      }
      return toAppError(error);
  }
}

function send(req: IncomingMessage, res: ServerResponse, error: AppError, closeConnection = false): void {
  const requestId = requestIdFrom(req.headers['x-request-id']);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId };
  // The headers the error carries, as `writeResponse` sends them: a 405 names what is `Allow`ed.
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  for (const [name, value] of Object.entries(error.headers ?? {})) headers[name] = value;
  if (closeConnection) headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(JSON.stringify(errorEnvelope(error, requestId)));
  log.warn(`${req.method ?? '?'} ${req.url ?? '?'} ${error.status}`, {
    request_id: requestId,
    code: error.code,
    httpRequest: { requestMethod: req.method, requestUrl: req.url, status: error.status },
  });
}

/** The request fields body-parser would have set; functions-framework's handlers read them. */
interface ParsedRequest extends IncomingMessage {
  body?: unknown;
  rawBody?: Buffer;
}

/**
 * Installs the gate every request of the process passes before functions-framework sees it.
 *
 * functions-framework parses every body with body-parser *before* our function runs —
 * decompressing and buffering up to 1 GB — and answers its errors (malformed JSON, bad
 * charset) with Express's HTML page. Express has one spot in front of all that:
 * `app.handle(req, res, done)`. We wrap it for the framework's app and decide there, from
 * the method, path and headers, what the body may cost ({@link BodyPlan}): a body no route
 * takes is refused unread; a route with a large limit authenticates first; the rest is read
 * by {@link readBoundedBody}, bounded by the route's limit, counted after decompression and
 * per piece, before any parser, authentication or handler sees it. A fully read request is "finished" to
 * body-parser, which then leaves it alone: the framework never buffers an unbounded body.
 * The `done` callback we supply gives the framework's own errors our envelope.
 *
 * It targets the `express` that functions-framework itself resolves, and must run before
 * the framework builds its app — our module is loaded first, so it does.
 */
export function installRequestGate(limitFor: BodyLimitFor, { healthz = false }: { healthz?: boolean } = {}): void {
  limits.push(limitFor);
  if (healthz) answerHealthz = true;
  if (installed) return;
  installed = true;
  const requireFromHere = createRequire(import.meta.url);
  const frameworkPath = requireFromHere.resolve('@google-cloud/functions-framework');
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- express ships no types here; the shape is checked below
  const express = createRequire(frameworkPath)('express');
  const application = (express as { application?: { handle?: unknown } }).application;
  if (typeof application?.handle !== 'function') {
    // Without the hook the framework would buffer bodies of up to 1 GB: refuse to run.
    throw new Error('Express application.handle not found; cannot bound request bodies');
  }
  type Handle = (this: unknown, req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void) => void;
  const original = application.handle as Handle;
  application.handle = function handleWithEnvelope(this: unknown, req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void): void {
    if (done !== undefined) {
      // A mounted sub-app: the outer call already read the body.
      original.call(this, req, res, done);
      return;
    }
    if (answerHealthz && (req.method === 'GET' || req.method === 'HEAD') && (req.url === '/healthz' || req.url === '/healthz/')) {
      // An event function's framework app serves POST only, and its CloudEvent middleware
      // throws on a body-less GET: the health probe is answered here, touching nothing.
      const requestId = requestIdFrom(req.headers['x-request-id']);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId });
      res.end(req.method === 'HEAD' ? undefined : '{"status":"ok"}');
      return;
    }
    const proceed = (): void =>
      original.call(this, req, res, function finalHandler(err?: unknown): void {
        const error = err === undefined ? new AppError('NOT_FOUND', 'Not found') : toEnvelopeError(err as BodyParserError);
        if (error.isServerError) log.error('Request failed before reaching the function', err);
        send(req, res, error, error.code === 'PAYLOAD_TOO_LARGE');
      });
    if (!hasBody(req)) {
      proceed();
      return;
    }
    const plan = bodyPlanOf(req);
    if ('refuse' in plan) {
      // Nothing takes this body: say so now, before a byte of it is read or anyone authenticated.
      refuse(req, res, plan.refuse);
      return;
    }
    const read = (): void => {
      readBoundedBody(req, { limit: plan.limit }).then(
        (raw) => {
          const parsed = req as ParsedRequest;
          parsed.rawBody = raw;
          try {
            parsed.body = parseBody(req, raw);
          } catch (error) {
            send(req, res, toAppError(error));
            return;
          }
          proceed();
        },
        (error: unknown) => refuse(req, res, toAppError(error)),
      );
    };
    if (plan.authenticate === undefined) {
      read();
      return;
    }
    // The socket stays paused while the caller is authenticated: nothing of the body is read.
    req.pause();
    plan.authenticate(req).then(
      () => {
        req.resume();
        read();
      },
      (error: unknown) => refuse(req, res, toAppError(error)),
    );
  };
}

/**
 * The first function whose routes claim the request decides (one per process in
 * production; several only when tests host more than one); when none claims it, the first
 * refusal (e.g. `405` with `Allow`), else `404`.
 */
function bodyPlanOf(req: IncomingMessage): BodyPlan {
  let refusal: BodyPlan | undefined;
  for (const limitFor of limits) {
    const plan = limitFor(req);
    if (plan === undefined) continue;
    if (!('refuse' in plan)) return plan;
    refusal ??= plan;
  }
  return refusal ?? { refuse: new AppError('NOT_FOUND', 'Not found') };
}

/**
 * Answers a body we stopped reading with `Connection: close`, then closes the connection
 * gently (a "lingering close"): our side is shut once the answer is out (FIN), while the
 * rest of what the client is still sending is read and dropped — none is buffered — until
 * it stops or {@link REFUSED_LINGER_MS} passes. Node's own close after a `close` answer
 * destroys the socket with unread bytes in it; the kernel answers those with a reset, and a
 * client still writing loses the answer before reading it. Keeping the connection open
 * instead would let a keep-alive client reuse a connection still full of the old body.
 */
function refuse(req: IncomingMessage, res: ServerResponse, error: AppError): void {
  if (!req.complete) {
    const socket = req.socket as Socket & { destroySoon?: () => void };
    // Node calls `destroySoon` once a `Connection: close` answer is written.
    socket.destroySoon = function lingeringClose(): void {
      socket.end();
      const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    };
    // The rest of the body is read and dropped as it comes — from now, not once the answer is
    // out: a request nobody read is "dumped" by Node when its answer finishes, and a dumped
    // body is parsed to the end unseen, piece by piece. Each piece is still one Buffer from
    // Node's parser, so past a cap the connection is cut — a moment after the answer is out,
    // not at once: a reset that reaches the client while the answer sits unread in its
    // buffer discards the answer. Until then the pieces are dropped, never kept.
    let pieces = 0;
    let bytes = 0;
    let cut = false;
    req.on('data', function discard(chunk: Buffer): void {
      pieces += 1;
      bytes += chunk.length;
      if (cut || (pieces <= REFUSED_LINGER_MAX_PIECES && bytes <= REFUSED_LINGER_MAX_BYTES)) return;
      cut = true;
      const cutSoon = (): void => {
        setTimeout(() => socket.destroy(), REFUSED_CUT_GRACE_MS).unref();
      };
      if (res.writableFinished) cutSoon();
      else res.once('finish', cutSoon);
    });
    req.resume();
  }
  send(req, res, error, true);
}

/** How long a refused request's connection may keep sending (discarded) before it is cut. */
const REFUSED_LINGER_MS = 5_000;
/** How many pieces, and bytes, of a refused body are read and dropped before the connection is cut. */
const REFUSED_LINGER_MAX_PIECES = 4_096;
const REFUSED_LINGER_MAX_BYTES = 64 * 1024 * 1024;
/** How long after its answer is out a connection past those caps is cut: time for the client to read the answer. */
const REFUSED_CUT_GRACE_MS = 1_000;
