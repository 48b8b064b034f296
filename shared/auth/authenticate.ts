import type { IncomingMessage } from 'node:http';
import { BoundedCache, type CacheStats } from '../cache/index.js';
import { runtimeConfig } from '../config/index.js';
import { getDb } from '../db/index.js';
import { PermissionDeniedError, UnauthenticatedError } from '../errors/index.js';
import { addLogContext } from '../log/index.js';
import { onShutdown } from '../lifecycle/index.js';
import { API_KEY_PATTERN, bearerToken, hashApiKeyHex, secretsEqual } from './apiKeys.js';
import { LastUsedBuffer } from './LastUsedBuffer.js';
import { LookupGate, type LookupGateStats } from './LookupGate.js';

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
 * Key hash → record of a key that exists (active or revoked). Bounded and short-lived: a
 * revocation made on another instance takes effect here within the TTL (≤ 60 s, API.md);
 * on the revoking instance at once ({@link forgetApiKey}). Unknown keys never enter it, so
 * a flood of them cannot evict the keys of real tenants.
 */
let authCacheInstance: BoundedCache<KeyRecord> | undefined;
function authCache(): BoundedCache<KeyRecord> {
  authCacheInstance ??= new BoundedCache<KeyRecord>({ name: 'auth.keys', maxEntries: 10_000, ttlMs: Math.max(1, runtimeConfig().AUTH_CACHE_TTL_MS) });
  return authCacheInstance;
}

/** Hashes of keys the database does not know, for a few seconds: a repeated bad key costs no query. */
let unknownKeysInstance: BoundedCache<true> | undefined;
function unknownKeys(): BoundedCache<true> {
  unknownKeysInstance ??= new BoundedCache<true>({ name: 'auth.unknown_keys', maxEntries: 10_000, ttlMs: Math.max(1, Math.min(NEGATIVE_TTL_MS, runtimeConfig().AUTH_CACHE_TTL_MS)) });
  return unknownKeysInstance;
}
const NEGATIVE_TTL_MS = 5_000;

/**
 * Hashes of keys that were valid on this instance within the last hour. When such a key's
 * cache entry expires, its lookup goes through a gate of its own: a flood of unknown keys
 * fills the other gate, never this one, so tenants already served keep being served.
 */
let knownKeysInstance: BoundedCache<true> | undefined;
function knownKeys(): BoundedCache<true> {
  knownKeysInstance ??= new BoundedCache<true>({ name: 'auth.known_keys', maxEntries: 10_000, ttlMs: KNOWN_KEY_TTL_MS });
  return knownKeysInstance;
}
const KNOWN_KEY_TTL_MS = 3_600_000;

/** The caps on lookups that missed both caches (see {@link LookupGate}): one for known keys, one for the rest. */
let lookupGates: { known: LookupGate<KeyRecord>; other: LookupGate<KeyRecord> } | undefined;
function lookupGate(known: boolean): LookupGate<KeyRecord> {
  if (lookupGates === undefined) {
    const config = runtimeConfig();
    const max = config.AUTH_MAX_CONCURRENT_LOOKUPS ?? (config.DB_POOL_MAX <= 2 ? 1 : config.DB_POOL_MAX - 1);
    lookupGates = { known: new LookupGate<KeyRecord>(max), other: new LookupGate<KeyRecord>(max) };
  }
  return known ? lookupGates.known : lookupGates.other;
}

/** `last_used_at` writes, batched. Flushed when due and at shutdown. */
export const lastUsed = new LastUsedBuffer();
onShutdown('api-key-last-used', () => lastUsed.flush(getDb));

/** Flushes `last_used_at` if a flush is due (else undefined: no promise); wired as the HTTP `finalize` hook. */
export function flushLastUsedIfDue(): Promise<void> | undefined {
  return lastUsed.isDue() ? lastUsed.flush(getDb) : undefined;
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
 * answer does not tell which. A cached key is answered at once, without a promise (the
 * hot path: see `Authenticator`). A key in neither cache is looked up only while fewer
 * than `AUTH_MAX_CONCURRENT_LOOKUPS` lookups run (keys valid here recently have their own
 * allowance); otherwise the call is `503` with `Retry-After`.
 */
export function authenticateTenant(req: IncomingMessage): Tenant | Promise<Tenant> {
  const key = bearerToken(req.headers.authorization);
  if (key === undefined || !API_KEY_PATTERN.test(key)) throw new UnauthenticatedError();
  const hashHex = hashApiKeyHex(key);
  const cached = authCache().get(hashHex);
  if (cached !== undefined) return admit(cached);
  if (unknownKeys().get(hashHex) !== undefined) throw new UnauthenticatedError();
  return lookupGate(knownKeys().get(hashHex) !== undefined)
    .run(hashHex, async () => {
      const loaded = await loadKey(Buffer.from(hashHex, 'hex'));
      if (loaded.tenant === undefined) unknownKeys().set(hashHex, true);
      else authCache().set(hashHex, loaded);
      if (loaded.tenant !== undefined && !loaded.revoked && loaded.orgActive) knownKeys().set(hashHex, true);
      return loaded;
    })
    .then(admit);
}

/** The tenant of a key record that may call, or `401`. */
function admit(record: KeyRecord): Tenant {
  if (record.tenant === undefined || record.revoked || !record.orgActive) throw new UnauthenticatedError();
  lastUsed.record(record.tenant.keyId);
  addLogContext({ org: record.tenant.orgSlug });
  return record.tenant;
}

/** Drops a key from this instance's auth cache (revocation takes effect at once here). */
export function forgetApiKey(hash: Buffer): void {
  authCache().delete(hash.toString('hex'));
}

/** Auth cache counters (health, tests): known keys only. */
export function authCacheStats(): CacheStats {
  return authCache().stats();
}

/** Counters of the unknown-key cache and of the lookups that missed both caches (health, tests). */
export function authLookupStats(): { unknownKeys: CacheStats; knownKeyLookups: LookupGateStats; otherLookups: LookupGateStats } {
  return { unknownKeys: unknownKeys().stats(), knownKeyLookups: lookupGate(true).stats(), otherLookups: lookupGate(false).stats() };
}

/**
 * How a tenant call authenticates, as the API document names it (`shared/http`'s
 * `SecurityScheme`): carried by {@link authenticateTenant}, so every route it guards is
 * documented with it.
 */
authenticateTenant.securityScheme = {
  name: 'tenantKey',
  description:
    'An API key of the org: `Authorization: Bearer cak_…`. Shown once at creation, stored only as a hash; a revoked key fails within the auth-cache TTL (≤ 60 s). Missing, unknown and revoked keys are all 401 with the same message.',
  bearerFormat: 'cak_ + base64url of ≥ 32 random bytes',
};

/** How an admin call authenticates, as the API document names it (see {@link authenticateTenant}'s). */
const ADMIN_SECURITY_SCHEME = {
  name: 'adminToken',
  description:
    'The admin token from configuration (Secret Manager in Google Cloud; `.local/stack.json` locally): `Authorization: Bearer <ADMIN_TOKEN>`. A tenant API key here is 403.',
};

/**
 * Builds the admin authenticator for a configured token. A tenant key on an admin
 * endpoint is `403`; anything else that is not the token is `401`.
 */
export function adminAuthenticator(adminToken: string): ((req: IncomingMessage) => Promise<void>) & { securityScheme: typeof ADMIN_SECURITY_SCHEME } {
  return Object.assign(
    async function authenticateAdmin(req: IncomingMessage): Promise<void> {
      const token = bearerToken(req.headers.authorization);
      if (token === undefined) throw new UnauthenticatedError('An admin token is required');
      if (secretsEqual(token, adminToken)) return;
      if (API_KEY_PATTERN.test(token)) throw new PermissionDeniedError('Tenant API keys cannot call admin endpoints');
      throw new UnauthenticatedError('An admin token is required');
    },
    { securityScheme: ADMIN_SECURITY_SCHEME },
  );
}
