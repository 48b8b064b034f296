import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { envTextOr, parseEnv, type Env } from '../config/index.js';
import { InvalidArgumentError } from '../errors/index.js';

/**
 * Opaque keyset cursors for list endpoints.
 *
 * A cursor is `v1.<payload>.<mac>`: the payload is the base64url JSON of the last row's
 * sort key, the mac an HMAC-SHA256 (truncated to 128 bits) over the version, a scope and
 * the payload. The scope binds a cursor to the tenant, the endpoint and its filters, so a
 * cursor taken from another org or another query is refused like a tampered one.
 *
 * Forging a cursor could only move a caller to another position in its *own* rows (every
 * list query is scoped by org), so the HMAC is about strictness — a tampered cursor is a
 * clear `400`, never a confusing page — not about secrecy.
 */
const VERSION = 'v1';
const MAC_BYTES = 16;
/** base64url of 16 bytes, unpadded. */
const MAC_CHARS = 22;
/** Cursors longer than this are refused before any work; real ones are far shorter. */
export const MAX_CURSOR_CHARS = 2048;
const CURSOR_SHAPE = new RegExp(`^${VERSION}\\.([A-Za-z0-9_-]{1,${MAX_CURSOR_CHARS}})\\.([A-Za-z0-9_-]{${MAC_CHARS}})$`);

/**
 * Used when `CURSOR_SECRET` is unset (local stack, tests). A deployed function should get
 * its own secret from configuration; see the module comment for why a leaked or default
 * secret is not a data-exposure risk.
 */
const DEV_CURSOR_SECRET = 'cloudact-dev-cursor-secret-not-for-production';

const cursorConfigEnv = {
  /** The HMAC key of list cursors. @default DEV_CURSOR_SECRET */
  CURSOR_SECRET: envTextOr(DEV_CURSOR_SECRET),
};

let secret: Buffer | undefined;

function cursorSecret(env: Env = process.env): Buffer {
  secret ??= Buffer.from(parseEnv(cursorConfigEnv, env).CURSOR_SECRET, 'utf8');
  return secret;
}

/** Forgets the secret read from the environment (tests that change `CURSOR_SECRET`). */
export function resetCursorSecret(): void {
  secret = undefined;
}

function mac(scope: string, payload: string): Buffer {
  return createHmac('sha256', cursorSecret()).update(`${VERSION}\n${scope}\n${payload}`).digest().subarray(0, MAC_BYTES);
}

/**
 * Encodes the sort key of the last row of a page.
 *
 * @param scope - what the cursor is valid for, e.g. `pricing|<org id>|provider=openai`
 * @param key - the sort key values, in sort order
 */
export function encodeCursor(scope: string, key: readonly string[]): string {
  const payload = Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
  return `${VERSION}.${payload}.${mac(scope, payload).toString('base64url')}`;
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same scope. Anything else — wrong
 * version, bad characters, a changed byte, another scope, a key of the wrong arity — is a
 * `400 INVALID_ARGUMENT` naming `cursor`.
 *
 * @param arity - how many key values the scope's cursors carry
 */
export function decodeCursor(scope: string, cursor: string, arity: number): string[] {
  const match = CURSOR_SHAPE.exec(cursor);
  const payload = match?.[1];
  const given = match?.[2];
  if (payload === undefined || given === undefined) throw invalidCursor();
  const expected = mac(scope, payload);
  const actual = Buffer.from(given, 'base64url');
  // Canonical form only: the last base64url character carries spare bits, so without this
  // check a few different strings would decode to the same MAC and pass as "unchanged".
  if (actual.length !== expected.length || actual.toString('base64url') !== given || !timingSafeEqual(actual, expected)) {
    throw invalidCursor();
  }
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(key) || key.length !== arity || !key.every((v): v is string => typeof v === 'string')) throw invalidCursor();
  return key;
}

function invalidCursor(): InvalidArgumentError {
  return new InvalidArgumentError('Invalid query parameters: cursor', [
    { path: 'cursor', message: 'is not a cursor returned by this list (tampered, expired format, or from another query)' },
  ]);
}

/** Largest page a list endpoint serves (PRODUCT.md: list endpoints cap `limit` at 500). */
export const MAX_PAGE_SIZE = 500;
/** Page size when `limit` is absent. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * `limit` as a query parameter: decimal digits only (no sign, exponent, spaces or
 * fractions), 1…500, default 100. Above 500 is a `400`, never silently clamped.
 */
export const limitParam = z
  .string()
  .regex(/^[0-9]{1,6}$/, { error: `must be an integer from 1 to ${MAX_PAGE_SIZE}` })
  .transform(Number)
  .pipe(
    z
      .number()
      .int()
      .min(1, { error: `must be an integer from 1 to ${MAX_PAGE_SIZE}` })
      .max(MAX_PAGE_SIZE, { error: `must be at most ${MAX_PAGE_SIZE}` }),
  )
  .default(DEFAULT_PAGE_SIZE)
  .describe(`Page size: an integer from 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}); above ${MAX_PAGE_SIZE} is a 400, never clamped.`);

/** `cursor` as a query parameter: its shape only; {@link decodeCursor} checks the rest. */
export const cursorParam = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(MAX_CURSOR_CHARS + 64, { error: 'is too long' })
  .optional()
  .describe('The `next_cursor` of the previous page, as given; valid only for the same org and filters.');
