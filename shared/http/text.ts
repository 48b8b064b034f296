import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import * as z from 'zod';
import type { Request } from '@google-cloud/functions-framework';
import { InvalidArgumentError } from '../errors/index.js';
import { whenReady } from './thenable.js';
import type { Authenticator } from './types.js';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `s` has no lone UTF-16 surrogate (`String#isWellFormed`, which our ES2023 lib lacks). */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * A string PostgreSQL can store exactly as given. Two inputs pass JSON parsing but not
 * that test: a NUL character (`\u0000`, which `text` refuses with an error that would
 * surface as a 500) and a lone UTF-16 surrogate (`\ud800`, which the driver silently turns
 * into U+FFFD, so the value read back would differ from the one written).
 */
export function storableText({ min = 1, max, trim = true }: { min?: number; max: number; trim?: boolean }): z.ZodType<string> {
  const base = trim ? z.string().trim() : z.string();
  return base
    .min(min, { error: min === 1 ? 'must not be empty' : `must be at least ${min} characters` })
    .max(max, { error: `must be at most ${max} characters` })
    .refine((s) => !s.includes('\u0000'), { error: 'must not contain NUL characters' })
    .refine(isWellFormedText, { error: 'must be well-formed Unicode' });
}

/**
 * Refuses a request body that is not valid UTF-8. body-parser decodes invalid bytes to
 * U+FFFD without complaint, so a body with a broken byte inside a string would otherwise
 * be accepted and stored altered; this checks the raw bytes the framework kept.
 */
export function assertUtf8Body(req: IncomingMessage & { rawBody?: Buffer }): void {
  const raw = req.rawBody;
  if (raw !== undefined && raw.length > 0 && !isUtf8(raw)) {
    throw new InvalidArgumentError('The request body is not valid UTF-8', [{ path: '(body)', message: 'Invalid UTF-8' }]);
  }
}

/**
 * Wraps a route's authenticator so the body's bytes are checked as UTF-8 right after the
 * caller is known: an anonymous caller still learns nothing. The wrapper checks the body
 * of a route that declares a body schema on its own; this covers every route the
 * authenticator guards, so no route of a function can forget the check.
 */
export function withUtf8Body<A>(authenticate: Authenticator<A>): Authenticator<A> {
  return Object.assign(
    function authenticateWithUtf8Body(req: Request): A | Promise<A> {
      return whenReady(authenticate(req), (caller) => {
        assertUtf8Body(req);
        return caller;
      });
    },
    // The same caller, so the same documented security scheme.
    { securityScheme: authenticate.securityScheme },
  );
}
