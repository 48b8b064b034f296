import { isUtf8 } from 'node:buffer';
import type { Request } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { AppError, invalidArgumentFromZod, InvalidArgumentError } from '../errors/index.js';
import { headerValue } from './requestParts.js';
import type { AnyRoute } from './types.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** A route's parsed input, as its handler gets it. */
export interface ParsedInput {
  params: unknown;
  query: unknown;
  body: unknown;
}

/**
 * Parses path parameters, query and body with the route's zod schemas. The body must be
 * within the route's limit, `application/json` and valid UTF-8; anything else is refused
 * with a `4xx` naming what is wrong, before the handler runs.
 */
export function parseInput(req: Request, route: AnyRoute, method: string, pathParams: Record<string, string>, defaultLimit: number): ParsedInput {
  const params = parseWith(route.params as z.ZodType | undefined, pathParams, 'path parameters');
  const query = parseWith(route.query as z.ZodType | undefined, { ...(req.query as Record<string, unknown>) }, 'query parameters');
  if (route.body === undefined) return { params, query, body: undefined };
  if (!BODY_METHODS.has(method)) return { params, query, body: parseWith(route.body as z.ZodType, undefined, 'body') };
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
  return { params, query, body: parseWith(route.body as z.ZodType, value, 'body') };
}

function parseWith(schema: z.ZodType | undefined, value: unknown, what: string): unknown {
  if (schema === undefined) return value ?? {};
  const result = schema.safeParse(value);
  if (!result.success) throw invalidArgumentFromZod(result.error, what);
  return result.data;
}
