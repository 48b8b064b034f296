import type { IncomingMessage } from 'node:http';
import { BoundedCache, type CacheStats } from '../cache/index.js';
import { runtimeConfig } from '../config/index.js';
import { getDb } from '../db/index.js';
import { PermissionDeniedError, UnauthenticatedError } from '../errors/index.js';
import { addLogContext } from '../log/index.js';
import { onShutdown } from '../lifecycle/index.js';
import { API_KEY_PATTERN, bearerToken, hashApiKey, secretsEqual } from './apiKeys.js';
import { LastUsedBuffer } from './LastUsedBuffer.js';

/** The authenticated tenant behind an API key. */
export interface Tenant {
  orgId: string;
  orgSlug: string;
  plan: string;
  keyId: string;
}

interface KeyRecord {
  tenant: Tenant | undefined;
  revoked: boolean;
  orgActive: boolean;
}


/**
 * Key hash → key record. Bounded and short-lived: a revocation made on another instance
 * takes effect here within the TTL (≤ 60 s, API.md); on the revoking instance at once
 * ({@link forgetApiKey}). Unknown keys are cached too (briefly), so a flood of bad keys
 * cannot turn into a flood of queries.
 */
let authCacheInstance: BoundedCache<KeyRecord> | undefined;
function authCache(): BoundedCache<KeyRecord> {
  authCacheInstance ??= new BoundedCache<KeyRecord>({ maxEntries: 10_000, ttlMs: Math.max(1, runtimeConfig().AUTH_CACHE_TTL_MS) });
  return authCacheInstance;
}
const NEGATIVE_TTL_MS = 5_000;

/** `last_used_at` writes, batched. Flushed when due and at shutdown. */
export const lastUsed = new LastUsedBuffer();
onShutdown('api-key-last-used', () => lastUsed.flush(getDb));

/** Flushes `last_used_at` if a flush is due; wired as the HTTP `finalize` hook. */
export async function flushLastUsedIfDue(): Promise<void> {
  if (lastUsed.isDue()) await lastUsed.flush(getDb);
}

async function loadKey(hash: Buffer): Promise<KeyRecord> {
  const db = await getDb();
  const { rows } = await db.query<{ key_id: string; org_id: string; org_slug: string; plan: string; status: string; revoked_at: Date | null }>(
    `SELECT k.id AS key_id, k.org_id, o.org_slug, o.plan, o.status, k.revoked_at
       FROM api_keys k JOIN orgs o ON o.id = k.org_id
      WHERE k.key_hash = $1`,
    [hash],
    { tier: 'auth' },
  );
  const row = rows[0];
  if (row === undefined) return { tenant: undefined, revoked: false, orgActive: false };
  return {
    tenant: { orgId: row.org_id, orgSlug: row.org_slug, plan: row.plan, keyId: row.key_id },
    revoked: row.revoked_at !== null,
    orgActive: row.status === 'active',
  };
}

/**
 * Authenticates a tenant call (`Authorization: Bearer cak_…`) under the auth tier.
 * Missing, malformed, unknown and revoked keys are all `401` with the same message: the
 * answer does not tell which.
 */
export async function authenticateTenant(req: IncomingMessage): Promise<Tenant> {
  const key = bearerToken(req.headers.authorization);
  if (key === undefined || !API_KEY_PATTERN.test(key)) throw new UnauthenticatedError();
  const hashHex = hashApiKey(key).toString('hex');
  let record = authCache().get(hashHex);
  if (record === undefined) {
    record = await loadKey(Buffer.from(hashHex, 'hex'));
    authCache().set(hashHex, record, record.tenant === undefined ? Math.min(NEGATIVE_TTL_MS, runtimeConfig().AUTH_CACHE_TTL_MS || 1) : undefined);
  }
  if (record.tenant === undefined || record.revoked || !record.orgActive) throw new UnauthenticatedError();
  lastUsed.record(record.tenant.keyId);
  addLogContext({ org: record.tenant.orgSlug });
  return record.tenant;
}

/** Drops a key from this instance's auth cache (revocation takes effect at once here). */
export function forgetApiKey(hash: Buffer): void {
  authCache().delete(hash.toString('hex'));
}

/** Auth cache counters (health, tests). */
export function authCacheStats(): CacheStats {
  return authCache().stats();
}

/**
 * Builds the admin authenticator for a configured token. A tenant key on an admin
 * endpoint is `403`; anything else that is not the token is `401`.
 */
export function adminAuthenticator(adminToken: string): (req: IncomingMessage) => Promise<void> {
  return async function authenticateAdmin(req: IncomingMessage): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new UnauthenticatedError('An admin token is required');
    if (secretsEqual(token, adminToken)) return;
    if (API_KEY_PATTERN.test(token)) throw new PermissionDeniedError('Tenant API keys cannot call admin endpoints');
    throw new UnauthenticatedError('An admin token is required');
  };
}
