/**
 * `shared/crypto/sealedCredential`: where an integration's sealed credential lives and the
 * AAD that binds it to its row — the one definition the sealing function and the pipeline
 * worker share. Against the run's real PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileKek, credentialAad, loadSealedCredential, openSecret, sealSecret, type SealedSecret } from '../../shared/crypto/index.js';
import { closeFunctionRuntime, closeTestDb, createTenant, testDb, type TestTenant } from '../helpers/tenants.js';

const kek = new LocalFileKek(randomBytes(32));
let org: TestTenant;
let other: TestTenant;

/** Stores a sealed record the way the integrations function does, column for column. */
async function store(orgId: string, provider: string, sealed: SealedSecret): Promise<void> {
  await testDb().query(
    `INSERT INTO integrations (org_id, provider, status, fingerprint, ciphertext, iv, auth_tag, wrapped_dek, kek_id)
     VALUES ($1, $2, 'stored', '', $3, $4, $5, $6, $7)`,
    [orgId, provider, sealed.ciphertext, sealed.iv, sealed.authTag, sealed.wrappedDek, sealed.kekId],
  );
}

beforeAll(async () => {
  org = await createTenant({ slugPrefix: 'sealed' });
  other = await createTenant({ slugPrefix: 'sealed' });
});

afterAll(async () => {
  await closeTestDb();
  await closeFunctionRuntime();
});

describe('credentialAad', () => {
  it('binds a credential to its row: org id and provider, joined by |', () => {
    expect(credentialAad('9b2c0c3e-0000-4000-8000-000000000001', 'openai')).toBe('9b2c0c3e-0000-4000-8000-000000000001|openai');
  });
});

describe('loadSealedCredential', () => {
  it('loads exactly the columns that were stored, which open to the credential under the row’s AAD', async () => {
    const sealed = await sealSecret('CRED_load_me', credentialAad(org.orgId, 'openai'), kek);
    await store(org.orgId, 'openai', sealed);

    const loaded = await loadSealedCredential(org.orgId, 'openai');

    expect(loaded).toEqual(sealed);
    expect(await openSecret(loaded!, credentialAad(org.orgId, 'openai'), kek)).toBe('CRED_load_me');
  });

  it('answers undefined for a provider the org has no credential for', async () => {
    expect(await loadSealedCredential(org.orgId, 'anthropic')).toBeUndefined();
  });

  it("never answers with another org's credential for the same provider", async () => {
    await store(other.orgId, 'mistral', await sealSecret('CRED_other', credentialAad(other.orgId, 'mistral'), kek));

    expect(await loadSealedCredential(org.orgId, 'mistral')).toBeUndefined();
    expect((await loadSealedCredential(other.orgId, 'mistral'))?.kekId).toBe(kek.id);
  });

  it('gives back a record copied to another row that then refuses to open there', async () => {
    const sealed = await sealSecret('CRED_copied', credentialAad(org.orgId, 'copied-from'), kek);
    await store(org.orgId, 'copied-to', sealed);

    const loaded = await loadSealedCredential(org.orgId, 'copied-to');

    await expect(openSecret(loaded!, credentialAad(org.orgId, 'copied-to'), kek)).rejects.toMatchObject({ code: 'DECRYPT_FAILED' });
  });
});
