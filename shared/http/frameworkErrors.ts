import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, errorEnvelope, InvalidArgumentError, toAppError } from '../errors/index.js';
import { log } from '../log/index.js';
import { requestIdFrom } from './requestId.js';

/** Returns the body limit for a request, or undefined when no route claims it. */
export type BodyLimitFor = (req: IncomingMessage) => number | undefined;

const limits: BodyLimitFor[] = [];
let installed = false;

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
  if (closeConnection) headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(JSON.stringify(errorEnvelope(error, requestId)));
  log.warn(`${req.method ?? '?'} ${req.url ?? '?'} ${error.status}`, {
    request_id: requestId,
    code: error.code,
    httpRequest: { requestMethod: req.method, requestUrl: req.url, status: error.status },
  });
}

/**
 * functions-framework parses bodies with body-parser *before* our function runs, and
 * answers its errors (malformed JSON, bad charset) with Express's HTML page. Express has
 * one extension point for that: the `done` callback of `app.handle(req, res, done)`. We
 * supply it for the framework's app, and use the same spot to refuse a declared body
 * larger than the route's limit before a single byte of it is read.
 *
 * It targets the `express` that functions-framework itself resolves, and must run before
 * the framework builds its app — our module is loaded first, so it does.
 */
export function installFrameworkErrorHandler(limitFor: BodyLimitFor): void {
  limits.push(limitFor);
  if (installed) return;
  installed = true;
  const requireFromHere = createRequire(import.meta.url);
  const frameworkPath = requireFromHere.resolve('@google-cloud/functions-framework');
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- express ships no types here; the shape is checked below
  const express = createRequire(frameworkPath)('express');
  const application = (express as { application?: { handle?: unknown } }).application;
  if (typeof application?.handle !== 'function') {
    log.warn('Express application.handle not found; framework body errors keep their default page');
    return;
  }
  type Handle = (this: unknown, req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void) => void;
  const original = application.handle as Handle;
  application.handle = function handleWithEnvelope(this: unknown, req: IncomingMessage, res: ServerResponse, done?: (err?: unknown) => void): void {
    if (done !== undefined) {
      original.call(this, req, res, done);
      return;
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    // The first function whose routes claim the path sets the limit (one per process in
    // production; several only when tests host more than one function).
    let limit: number | undefined;
    for (let i = 0; i < limits.length && limit === undefined; i += 1) limit = limits[i]?.(req);
    if (limit !== undefined && Number.isFinite(declared) && declared > limit) {
      send(req, res, new AppError('PAYLOAD_TOO_LARGE', `The request body exceeds ${limit} bytes`), true);
      return;
    }
    original.call(this, req, res, function finalHandler(err?: unknown): void {
      const error = err === undefined ? new AppError('NOT_FOUND', 'Not found') : toEnvelopeError(err as BodyParserError);
      if (error.isServerError) log.error('Request failed before reaching the function', err);
      send(req, res, error, error.code === 'PAYLOAD_TOO_LARGE');
    });
  };
}
