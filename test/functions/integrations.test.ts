import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, LocalFileKek, openSecret } from '../../shared/crypto/index.js';
import { setLogLevel, setLogSink } from '../../shared/log/index.js';
import { call, closeFunctionRuntime, closeTestDb, createTenant, serveFunction, testDb, type ServedFunction, type TestTenant } from '../helpers/tenants.js';

// --- Environment, before the function module loads -------------------------------------
const keyDir = mkdtempSync(path.join(tmpdir(), 'cloudact-kek-'));
const kekFile = path.join(keyDir, 'kek.b64');
writeFileSync(kekFile, LocalFileKek.generateKeyFileContent(), { mode: 0o600 });
process.env.FUNCTION_NAME = 'integrations';
process.env.KEK_FILE = kekFile;
delete process.env.KMS_KEY_NAME;
// The hang → 504 case runs in integrations.timeout.test.ts, with a 3 s function timeout.

// Every log line of this whole file, at every level, to search for credentials at the end.
const logLines: string[] = [];
setLogLevel('DEBUG');
setLogSink((line) => logLines.push(line));

/**
 * The fake provider: answers `GET /v1/models` by the bearer token's shape. A token
 * containing `valid` gets 200, `revoked` 401, `forbidden` 403, `flaky` 500.
 */
const seenAuthorizations: string[] = [];
const provider: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const auth = req.headers.authorization ?? '';
  seenAuthorizations.push(auth);
  if (req.url !== '/v1/models') return void res.writeHead(404).end();
  const status = auth.includes('revoked') ? 401 : auth.includes('forbidden') ? 403 : auth.includes('flaky') ? 500 : auth.includes('valid') ? 200 : 400;
  res.writeHead(status, { 'content-type': 'application/json' }).end('{"data":[]}');
});
await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
process.env.PROVIDER_BASE_URL_OPENAI = providerUrl;
process.env.PROVIDER_BASE_URL_FAKE_AI = `${providerUrl}/`;

await import('../../functions/integrations/index.js');
const { loadSealedCredential, credentialAad } = await import('../../shared/crypto/index.js');

/**
 * Credentials made to slip past the logger's shape-based redaction (no `sk-`, no `Bearer`
 * in them), so the log test proves they are never logged, not that they were masked.
 */
const secret = (kind: string): string => `CRED_${kind}_${randomBytes(18).toString('hex')}`;
const usedCredentials: string[] = [];
const credential = (kind: string): string => {
  const value = secret(kind);
  usedCredentials.push(value);
  return value;
};

let fn: ServedFunction;
let org: TestTenant;

beforeAll(async () => {
  fn = await serveFunction('integrations');
  org = await createTenant({ slugPrefix: 'integ' });
});

afterAll(async () => {
  provider.closeAllConnections();
  await new Promise<void>((resolve) => provider.close(() => resolve()));
  await fn.close();
  await closeTestDb();
  await closeFunctionRuntime();
  // The key file is secret material: it does not outlive the run.
  rmSync(keyDir, { recursive: true, force: true });
});

const api = (method: string, p: string, body?: unknown): ReturnType<typeof call> => call(fn.url, org.apiKey, method, p, body);

interface View {
  provider: string;
  status: string;
  fingerprint: string;
  updated_at: string;
  last_validated_at: string | null;
}

describe('integrations API', () => {
  it('stores a credential without validating it: status stored, fingerprint = last 4 characters, never the credential', async () => {
    const cred = credential('stored');

    const res = await api('PUT', '/v1/integrations/openai', { credential: cred });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      provider: 'openai',
      status: 'stored',
      fingerprint: cred.slice(-4),
      updated_at: expect.any(String) as unknown,
      last_validated_at: null,
    });
    expect(res.text).not.toContain(cred);
  });

  it('shows no fingerprint for a short credential, where 4 characters would reveal too much', async () => {
    const res = await api('PUT', '/v1/integrations/shorty', { credential: 'abcd1234' });

    expect((res.body as View).fingerprint).toBe('');
  });

  it('lists integrations without credentials', async () => {
    const cred = credential('listed');
    await api('PUT', '/v1/integrations/anthropic', { credential: cred });

    const res = await api('GET', '/v1/integrations');

    expect(res.status).toBe(200);
    const items = (res.body as { items: View[] }).items;
    expect(items.map((i) => i.provider)).toEqual(expect.arrayContaining(['anthropic', 'openai']));
    for (const item of items) expect(Object.keys(item).sort()).toEqual(['fingerprint', 'last_validated_at', 'provider', 'status', 'updated_at']);
    for (const c of usedCredentials) expect(res.text).not.toContain(c);
  });

  it('deletes with 204, then 404', async () => {
    await api('PUT', '/v1/integrations/todelete', { credential: credential('delete') });

    expect((await api('DELETE', '/v1/integrations/todelete')).status).toBe(204);
    expect((await api('DELETE', '/v1/integrations/todelete')).status).toBe(404);
  });

  it.each([
    ['a 200 from the provider', 'valid', 'valid'],
    ['a 401 from the provider', 'revoked', 'invalid'],
    ['a 403 from the provider', 'forbidden', 'invalid'],
  ])('validates against the provider: %s sets status %s', async (_name, kind, status) => {
    const cred = credential(kind);

    const res = await api('PUT', '/v1/integrations/openai', { credential: cred, validate: true });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ provider: 'openai', status, last_validated_at: expect.any(String) as unknown });
    expect(seenAuthorizations.at(-1)).toBe(`Bearer ${cred}`);
  });

  it('uses the configured base URL of any provider (PROVIDER_BASE_URL_<NAME>, dashes as underscores)', async () => {
    const res = await api('PUT', '/v1/integrations/fake-ai', { credential: credential('valid'), validate: true });

    expect(res.body).toMatchObject({ provider: 'fake-ai', status: 'valid' });
  });

  it('answers 503 and stores nothing when the provider fails in a way that says nothing about the credential', async () => {
    await api('DELETE', '/v1/integrations/fake-ai');

    const res = await api('PUT', '/v1/integrations/fake-ai', { credential: credential('flaky'), validate: true });

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect((await testDb().query(`SELECT 1 FROM integrations WHERE org_id = $1 AND provider = 'fake-ai'`, [org.orgId])).rowCount).toBe(0);
  });

  it('refuses validation of a provider with no known endpoint with 400', async () => {
    const res = await api('PUT', '/v1/integrations/unknownco', { credential: credential('valid'), validate: true });

    expect(res.status).toBe(400);
    expect((res.body as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe('validate');
  });

  it.each([
    ['an empty credential', { credential: '' }],
    ['a credential over 4096 characters', { credential: 'x'.repeat(4097) }],
    ['a credential that is not a string', { credential: 12345 }],
    ['validate that is not a boolean', { credential: 'abc', validate: 'yes' }],
    ['an extra field', { credential: 'abc', note: 'x' }],
    ['a NUL character', { credential: 'ab\u0000c' }],
  ])('refuses %s with 400', async (_name, body) => {
    expect((await api('PUT', '/v1/integrations/openai', body)).status).toBe(400);
  });
});

describe('integrations at rest', () => {
  it('keeps no trace of the credential in any stored column (text, hex or base64)', async () => {
    const cred = credential('atrest');
    await api('PUT', '/v1/integrations/atrest', { credential: cred });

    const { rows } = await testDb().query<{ row: string; hex: string }>(
      `SELECT row_to_json(i)::text AS row,
              encode(ciphertext, 'hex') || encode(wrapped_dek, 'hex') || encode(iv, 'hex') || encode(auth_tag, 'hex') AS hex
         FROM integrations i WHERE org_id = $1`,
      [org.orgId],
    );

    expect(rows.length).toBeGreaterThan(0);
    const everything = rows.map((r) => `${r.row}\n${r.hex}`).join('\n');
    for (const c of usedCredentials) {
      expect(everything).not.toContain(c);
      expect(everything).not.toContain(Buffer.from(c).toString('hex'));
      expect(everything).not.toContain(Buffer.from(c).toString('base64'));
    }
  });

  it('round-trips: the stored record opens with the configured key to the exact credential', async () => {
    const cred = credential('roundtrip');
    await api('PUT', '/v1/integrations/roundtrip', { credential: cred });

    const sealed = await loadSealedCredential(org.orgId, 'roundtrip');
    const kek = await LocalFileKek.fromFile(kekFile);

    expect(sealed?.kekId).toBe(kek.id);
    expect(await openSecret(sealed!, credentialAad(org.orgId, 'roundtrip'), kek)).toBe(cred);
  });

  it('uses a fresh data key and IV per record, so equal credentials never look alike', async () => {
    const cred = credential('twice');
    await api('PUT', '/v1/integrations/twice-a', { credential: cred });
    await api('PUT', '/v1/integrations/twice-b', { credential: cred });

    const a = await loadSealedCredential(org.orgId, 'twice-a');
    const b = await loadSealedCredential(org.orgId, 'twice-b');

    expect(a?.ciphertext.equals(b!.ciphertext)).toBe(false);
    expect(a?.iv.equals(b!.iv)).toBe(false);
    expect(a?.wrappedDek.equals(b!.wrappedDek)).toBe(false);
  });

  it('fails closed when a sealed record is moved to another row (AAD = org_id|provider)', async () => {
    await api('PUT', '/v1/integrations/moved', { credential: credential('moved') });
    const sealed = (await loadSealedCredential(org.orgId, 'moved'))!;
    const kek = await LocalFileKek.fromFile(kekFile);

    const otherRow = openSecret(sealed, credentialAad(org.orgId, 'openai'), kek);
    const otherOrg = openSecret(sealed, credentialAad('00000000-0000-4000-8000-000000000000', 'moved'), kek);

    await expect(otherRow).rejects.toMatchObject({ name: 'DecryptionError', code: 'DECRYPT_FAILED' });
    await expect(otherOrg).rejects.toBeInstanceOf(DecryptionError);
  });

  it('fails closed with a clear typed error under a wrong key-encryption key', async () => {
    const cred = credential('wrongkek');
    await api('PUT', '/v1/integrations/wrongkek', { credential: cred });
    const sealed = (await loadSealedCredential(org.orgId, 'wrongkek'))!;
    const wrong = new LocalFileKek(randomBytes(32));

    // Recorded key id differs: refused before any decryption is tried.
    const byId = await openSecret(sealed, credentialAad(org.orgId, 'wrongkek'), wrong).catch((e: unknown) => e);
    // Same id claimed, different key bytes: GCM refuses to unwrap the data key.
    const byBytes = await openSecret({ ...sealed, kekId: wrong.id }, credentialAad(org.orgId, 'wrongkek'), wrong).catch((e: unknown) => e);

    expect(byId).toBeInstanceOf(DecryptionError);
    expect(byId).toMatchObject({ code: 'KEK_MISMATCH' });
    expect((byId as Error).message).toMatch(/wrapped by key-encryption key local:[0-9a-f]+, but local:[0-9a-f]+ is configured/);
    expect(byBytes).toBeInstanceOf(DecryptionError);
    expect(byBytes).toMatchObject({ code: 'UNWRAP_FAILED' });
    for (const error of [byId, byBytes]) expect(JSON.stringify(error) + String(error)).not.toContain(cred);
  });

  it('fails closed when a stored byte is flipped', async () => {
    await api('PUT', '/v1/integrations/flipped', { credential: credential('flipped') });
    const sealed = (await loadSealedCredential(org.orgId, 'flipped'))!;
    const ciphertext = Buffer.from(sealed.ciphertext);
    ciphertext[0] = (ciphertext[0] ?? 0) ^ 1;

    const opened = openSecret({ ...sealed, ciphertext }, credentialAad(org.orgId, 'flipped'), await LocalFileKek.fromFile(kekFile));

    await expect(opened).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });
});

describe('integrations logs', () => {
  it('never wrote any credential of this file to any log line', () => {
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.some((l) => l.includes('Stored an integration credential'))).toBe(true);
    const all = logLines.join('\n');
    for (const c of usedCredentials) {
      expect(all).not.toContain(c);
      expect(all).not.toContain(c.slice(0, 16));
    }
  });
});
