/**
 * `shared/auth`: API keys (format, hash, bearer parsing, constant-time comparison), tenant
 * authentication with its caches and lookup gates, and the admin authenticator. Against
 * the run's real PostgreSQL, through the runtime's own pool. `LastUsedBuffer` and
 * `LookupGate` have their own files.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';

// Short cache lifetimes, so expiry can be watched; read when the caches are first built.
process.env.AUTH_CACHE_TTL_MS = '1000';

const {
  API_KEY_PATTERN,
  adminAuthenticator,
  authCacheStats,
  authLookupStats,
  authenticateTenant,
  bearerToken,
  forgetApiKey,
  generateApiKey,
  hashApiKey,
  lastUsed,
  secretsEqual,
} = await import('../../shared/auth/index.js');
const { PermissionDeniedError, UnauthenticatedError } = await import('../../shared/errors/index.js');
const { closeFunctionRuntime, closeTestDb, createTenant, testDb } = await import('../helpers/tenants.js');

const CACHE_TTL_MS = 1000;

/** A request carrying only what authentication reads: its headers. */
function requestWith(authorization?: string | string[]): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization } } as unknown as IncomingMessage;
}

const withKey = (key: string): IncomingMessage => requestWith(`Bearer ${key}`);

/** What a refused call throws, or undefined when it was accepted. */
async function refusal(req: IncomingMessage): Promise<unknown> {
  // A cached key is answered (or refused) without a promise: both ways are covered.
  try {
    await authenticateTenant(req);
    return undefined;
  } catch (error) {
    return error;
  }
}

afterAll(async () => {
  await closeFunctionRuntime();
  await closeTestDb();
});

describe('API keys', () => {
  it('generates cak_ + 43 base64url characters, different every time, with its SHA-256 and a 12-character prefix', () => {
    const a = generateApiKey();
    const b = generateApiKey();

    expect(a.key).toMatch(API_KEY_PATTERN);
    expect(a.key).toHaveLength(47);
    expect(a.key).not.toBe(b.key);
    expect(a.hash.equals(createHash('sha256').update(a.key).digest())).toBe(true);
    expect(a.hash.equals(hashApiKey(a.key))).toBe(true);
    expect(a.prefix).toBe(a.key.slice(0, 12));
  });

  it.each<[string, string | string[] | undefined, string | undefined]>([
    ['a bearer token', 'Bearer cak_abc', 'cak_abc'],
    ['any case of the scheme and extra spaces', 'bEaReR    cak_abc  ', 'cak_abc'],
    ['the first of repeated headers', ['Bearer first', 'Bearer second'], 'first'],
    ['no header', undefined, undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz', undefined],
    ['the scheme alone', 'Bearer ', undefined],
    ['two tokens', 'Bearer one two', undefined],
    ['no space after the scheme', 'Bearercak_abc', undefined],
  ])('reads %s from Authorization', (_name, header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ['equal secrets', 'admin-token', 'admin-token', true],
    ['a different secret of the same length', 'admin-token', 'admin-tokeN', false],
    ['a prefix', 'admin-token', 'admin', false],
    ['the empty string', 'admin-token', '', false],
  ])('compares %s', (_name, a, b, equal) => {
    expect(secretsEqual(a, b)).toBe(equal);
  });
});

describe('authenticateTenant', () => {
  it('answers the tenant behind a valid key and notes the use for the last-used batch', async () => {
    const tenant = await createTenant({ slugPrefix: 'auth', plan: 'free' });
    const before = lastUsed.size;

    const authenticated = await authenticateTenant(withKey(tenant.apiKey));

    expect(authenticated).toEqual({ orgId: tenant.orgId, orgSlug: tenant.orgSlug, plan: 'free', keyId: tenant.keyId });
    expect(lastUsed.size).toBe(before + 1);
  });

  it.each<[string, () => Promise<IncomingMessage>]>([
    ['no Authorization header', async () => requestWith()],
    ['a token that is not an API key', async () => withKey('not-a-key')],
    ['a key of the right shape the database does not know', async () => withKey(generateApiKey().key)],
    [
      'a revoked key',
      async () => {
        const tenant = await createTenant({ slugPrefix: 'auth' });
        await testDb().query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [tenant.keyId]);
        return withKey(tenant.apiKey);
      },
    ],
    [
      'the key of a suspended org',
      async () => {
        const tenant = await createTenant({ slugPrefix: 'auth' });
        await testDb().query(`UPDATE orgs SET status = 'suspended' WHERE id = $1`, [tenant.orgId]);
        return withKey(tenant.apiKey);
      },
    ],
    [
      'the key of an org still onboarding',
      async () => {
        const tenant = await createTenant({ slugPrefix: 'auth' });
        await testDb().query(`UPDATE orgs SET status = 'onboarding' WHERE id = $1`, [tenant.orgId]);
        return withKey(tenant.apiKey);
      },
    ],
  ])('refuses %s with the same 401, which does not tell which', async (_name, arrange) => {
    const req = await arrange();

    const error = await refusal(req);

    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', message: 'A valid API key is required' });
  });

  it('serves a known key from the cache: the second call costs no lookup', async () => {
    const tenant = await createTenant({ slugPrefix: 'auth' });
    await authenticateTenant(withKey(tenant.apiKey));
    const lookups = authLookupStats();
    const hits = authCacheStats().hits;

    await authenticateTenant(withKey(tenant.apiKey));

    expect(authLookupStats().otherLookups.started).toBe(lookups.otherLookups.started);
    expect(authLookupStats().knownKeyLookups.started).toBe(lookups.knownKeyLookups.started);
    expect(authCacheStats().hits).toBe(hits + 1);
  });

  it('remembers an unknown key for a moment: asking again costs no lookup, and after it the key is looked up again', async () => {
    const key = generateApiKey();
    await refusal(withKey(key.key));
    const started = authLookupStats().otherLookups.started;

    await refusal(withKey(key.key));
    expect(authLookupStats().otherLookups.started).toBe(started);

    // The key comes to exist (created elsewhere); once the negative entry expires, it works.
    const tenant = await createTenant({ slugPrefix: 'auth' });
    await testDb().query('UPDATE api_keys SET key_hash = $1 WHERE id = $2', [key.hash, tenant.keyId]);
    await sleep(CACHE_TTL_MS + 50);

    expect(await authenticateTenant(withKey(key.key))).toMatchObject({ keyId: tenant.keyId });
    expect(authLookupStats().otherLookups.started).toBe(started + 1);
  });

  it('looks a key that was valid here up through the known-key gate once its cache entry expired', async () => {
    const tenant = await createTenant({ slugPrefix: 'auth' });
    await authenticateTenant(withKey(tenant.apiKey));
    const before = authLookupStats();
    await sleep(CACHE_TTL_MS + 50);

    await authenticateTenant(withKey(tenant.apiKey));

    expect(authLookupStats().knownKeyLookups.started).toBe(before.knownKeyLookups.started + 1);
    expect(authLookupStats().otherLookups.started).toBe(before.otherLookups.started);
  });

  it('honours a revocation made on another instance once the cache entry expires', async () => {
    const tenant = await createTenant({ slugPrefix: 'auth' });
    await authenticateTenant(withKey(tenant.apiKey));
    await testDb().query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [tenant.keyId]);

    await sleep(CACHE_TTL_MS + 50);

    expect(await refusal(withKey(tenant.apiKey))).toBeInstanceOf(UnauthenticatedError);
  });

  it('honours a revocation made on this instance at once (forgetApiKey)', async () => {
    const tenant = await createTenant({ slugPrefix: 'auth' });
    await authenticateTenant(withKey(tenant.apiKey));
    await testDb().query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [tenant.keyId]);
    const cachedAnswer = await refusal(withKey(tenant.apiKey));

    forgetApiKey(hashApiKey(tenant.apiKey));

    expect(cachedAnswer).toBeUndefined(); // still cached: another instance would see this until the TTL
    expect(await refusal(withKey(tenant.apiKey))).toBeInstanceOf(UnauthenticatedError);
  });

  it('looks a key up once when many first calls for it arrive at the same time', async () => {
    const tenant = await createTenant({ slugPrefix: 'auth' });
    const before = authLookupStats().otherLookups;

    const answers = await Promise.all(Array.from({ length: 20 }, async () => authenticateTenant(withKey(tenant.apiKey))));

    expect(new Set(answers.map((a) => a.keyId))).toEqual(new Set([tenant.keyId]));
    const after = authLookupStats().otherLookups;
    expect(after.started).toBe(before.started + 1);
    expect(after.joined).toBe(before.joined + 19);
  });
});

describe('adminAuthenticator', () => {
  const authenticateAdmin = adminAuthenticator('s3cret-admin-token');

  it('accepts the configured token', async () => {
    await expect(authenticateAdmin(requestWith('Bearer s3cret-admin-token'))).resolves.toBeUndefined();
  });

  it('refuses a tenant API key with 403: it is a credential, but not for this endpoint', async () => {
    const error = await authenticateAdmin(withKey(generateApiKey().key)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error).toMatchObject({ status: 403 });
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'Bearer s3cret-admin-tokeN'],
    ['a prefix of the token', 'Bearer s3cret'],
    ['the token under another scheme', 'Basic s3cret-admin-token'],
  ])('refuses %s with 401', async (_name, header) => {
    const error = await authenticateAdmin(requestWith(header)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ status: 401, message: 'An admin token is required' });
  });
});
