import { ERROR_STATUS, errorEnvelopeSchema, type ErrorCode } from '../errors/index.js';
import type { AnyRoute } from '../http/index.js';
import { jsonSchemaOf } from './jsonSchema.js';
import type { JsonSchema, OpenApiHeader, OpenApiResponse } from './types.js';

/** When each error is answered, in the document's words (API.md's table). */
const WHEN: Record<ErrorCode, string> = {
  INVALID_ARGUMENT: 'Bad JSON, or a body, query, path segment or header that fails its schema; `details` name each field',
  UNAUTHENTICATED: 'Missing, malformed, unknown or revoked credentials (the answer does not say which)',
  PERMISSION_DENIED: 'The credentials are valid but not for this call (a tenant key on an admin route)',
  NOT_FOUND: 'No such resource for this org (another org’s resource is 404 too, never 403)',
  METHOD_NOT_ALLOWED: 'The path exists with other methods, listed in `Allow`',
  ALREADY_EXISTS: 'It exists already, or conflicts with what exists',
  PAYLOAD_TOO_LARGE: 'The body exceeds the route’s limit (1 MiB; 8 MiB for bulk imports)',
  UNSUPPORTED_MEDIA_TYPE: 'The body is not UTF-8 JSON, or its content encoding is not gzip, deflate or br',
  QUOTA_EXCEEDED: 'The plan’s limit is used up; retry after `Retry-After` seconds',
  INTERNAL: 'An unexpected failure; the message carries no internals',
  UNAVAILABLE: 'A backend (database connection, lookup slot, Pub/Sub) was not available within the budget, or the instance is shutting down; retry after `Retry-After` seconds',
  DEADLINE_EXCEEDED: 'The call’s timeout tier ran out',
};

/** Headers an error answer carries besides `X-Request-Id`. */
const HEADERS: Partial<Record<ErrorCode, Record<string, string>>> = {
  QUOTA_EXCEEDED: { 'Retry-After': 'RetryAfter' },
  UNAVAILABLE: { 'Retry-After': 'RetryAfter' },
};

/**
 * The headers every answer and some errors carry, defined once under `components.headers`.
 * (`405`'s `Allow` is not among them: a 405 answers a method the path has no operation
 * for, so no operation of the document can list it.)
 */
export const SHARED_HEADERS: Record<string, OpenApiHeader> = {
  RequestId: {
    description: 'The request’s id: the caller’s own `X-Request-Id` when it sent a sane one, else a new one. Also `request_id` in an error body.',
    required: true,
    schema: { type: 'string', minLength: 1 },
  },
  RetryAfter: { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
};

/** The envelope's schema, `#/components/schemas/ErrorEnvelope`. */
export function errorEnvelopeJsonSchema(): JsonSchema {
  return jsonSchemaOf(errorEnvelopeSchema, 'output');
}

/** Every error as a reusable response (`#/components/responses/<CODE>`), each with its own `code`. */
export function errorResponses(): Record<string, OpenApiResponse> {
  const responses: Record<string, OpenApiResponse> = {};
  for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
    const headers: NonNullable<OpenApiResponse['headers']> = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
    for (const [name, ref] of Object.entries(HEADERS[code] ?? {})) headers[name] = { $ref: `#/components/headers/${ref}` };
    const schema = { allOf: [{ $ref: '#/components/schemas/ErrorEnvelope' }, { properties: { error: { properties: { code: { const: code } } } } }] };
    responses[code] = { description: `${code}: ${WHEN[code]}.`, headers, content: { 'application/json': { schema } } };
  }
  return responses;
}

/**
 * The errors a route can answer with, by status: what it declares itself, and what every
 * route of its shape can give — 400 (a bad path segment or query parameter), 413 and 415
 * (the body gate runs before routing, whatever the method), 401 when it authenticates,
 * and the server's 500, 503 and 504.
 */
export function errorCodesOf(route: AnyRoute): ErrorCode[] {
  const codes = new Set<ErrorCode>(['INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED']);
  if (route.auth !== undefined) codes.add('UNAUTHENTICATED');
  for (const code of route.errors ?? []) codes.add(code);
  return [...codes].sort((a, b) => ERROR_STATUS[a] - ERROR_STATUS[b]);
}
