import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `cak_` + 32 random bytes in base64url (43 chars): opaque, shown once. */
export const API_KEY_PATTERN = /^cak_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 12;

export interface NewApiKey {
  /** The key itself — returned to the caller once, never stored. */
  key: string;
  /** SHA-256 of the key, the only thing stored. */
  hash: Buffer;
  /** The first characters, safe to show in listings (`cak_AbCdEfGh`). */
  prefix: string;
}

/**
 * Creates a key. SHA-256 (not a slow password hash) is right here: the key has 256 bits
 * of entropy, so there is nothing to brute-force, and auth must stay cheap.
 */
export function generateApiKey(): NewApiKey {
  const key = `cak_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, PREFIX_LENGTH) };
}

export function hashApiKey(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/** {@link hashApiKey} in hex, as the auth caches key it (one call: it runs on every request). */
export function hashApiKeyHex(key: string): string {
  return hash('sha256', key, 'hex');
}

/** The bearer token of an `Authorization` header, if well-formed. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(value);
  return match?.[1];
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
