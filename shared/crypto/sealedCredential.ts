import { getDb } from '../db/index.js';
import type { SealedSecret } from './envelope.js';

/**
 * The AAD of a stored integration credential: its row (`org_id|provider`). Sealed bytes
 * moved to another row fail to open. Sealing (the integrations function) and opening (the
 * pipeline worker) must use this one function, so they can never disagree.
 */
export function credentialAad(orgId: string, provider: string): string {
  return `${orgId}|${provider}`;
}

/**
 * The sealed credential of an org's provider, as stored in `integrations`, or undefined
 * when the org has none. For the code that must use it: open it with `openSecret`,
 * {@link credentialAad} and the instance's key-encryption key (`getKek`).
 */
export async function loadSealedCredential(orgId: string, provider: string): Promise<SealedSecret | undefined> {
  const db = await getDb();
  const { rows } = await db.query<{ ciphertext: Buffer; iv: Buffer; auth_tag: Buffer; wrapped_dek: Buffer; kek_id: string }>(
    `SELECT ciphertext, iv, auth_tag, wrapped_dek, kek_id FROM integrations WHERE org_id = $1 AND provider = $2`,
    [orgId, provider],
  );
  const row = rows[0];
  return row === undefined
    ? undefined
    : { ciphertext: row.ciphertext, iv: row.iv, authTag: row.auth_tag, wrappedDek: row.wrapped_dek, kekId: row.kek_id };
}
