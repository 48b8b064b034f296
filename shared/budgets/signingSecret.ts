import { randomBytes } from 'node:crypto';
import { getDb } from '../db/index.js';
import { getKek, openSecret, sealSecret } from '../crypto/index.js';

/** Bound to the org's row: sealed bytes copied to another org fail to open. */
const aad = (orgId: string): string => `webhook-secret|${orgId}`;

/** `whsec_` + 32 random bytes, base64url. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** Seals and stores a new secret for the org, replacing any; `replace` false keeps an existing one (returns undefined then). */
async function store(orgId: string, replace: boolean): Promise<{ secret: string; created_at: string } | undefined> {
  const secret = newSecret();
  const sealed = await sealSecret(secret, aad(orgId), await getKek());
  const db = await getDb();
  const { rows } = await db.query<{ created_at: Date }>(
    `INSERT INTO webhook_secrets (org_id, ciphertext, iv, auth_tag, wrapped_dek, kek_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (org_id) DO ${replace ? `UPDATE SET ciphertext = EXCLUDED.ciphertext, iv = EXCLUDED.iv, auth_tag = EXCLUDED.auth_tag,
       wrapped_dek = EXCLUDED.wrapped_dek, kek_id = EXCLUDED.kek_id, created_at = now()` : 'NOTHING'}
     RETURNING created_at`,
    [orgId, sealed.ciphertext, sealed.iv, sealed.authTag, sealed.wrappedDek, sealed.kekId],
  );
  const row = rows[0];
  return row === undefined ? undefined : { secret, created_at: row.created_at.toISOString() };
}

/** A new signing secret for the org (`POST /v1/alerts/signing-secret`): shown once, replacing the old one at once. */
export async function rotateSigningSecret(orgId: string): Promise<{ secret: string; created_at: string }> {
  return (await store(orgId, true)) as { secret: string; created_at: string };
}

/**
 * The org's signing secret, to sign a delivery. An org that never asked for one gets one
 * created now (its deliveries are signed from the first; it learns the secret by rotating).
 */
export async function signingSecretOf(orgId: string): Promise<string> {
  const db = await getDb();
  for (;;) {
    const { rows } = await db.query<{ ciphertext: Buffer; iv: Buffer; auth_tag: Buffer; wrapped_dek: Buffer; kek_id: string }>(
      `SELECT ciphertext, iv, auth_tag, wrapped_dek, kek_id FROM webhook_secrets WHERE org_id = $1`,
      [orgId],
    );
    const row = rows[0];
    if (row !== undefined) {
      return openSecret({ ciphertext: row.ciphertext, iv: row.iv, authTag: row.auth_tag, wrappedDek: row.wrapped_dek, kekId: row.kek_id }, aad(orgId), await getKek());
    }
    const created = await store(orgId, false);
    if (created !== undefined) return created.secret;
    // Another delivery created it between the read and the insert: read theirs.
  }
}
