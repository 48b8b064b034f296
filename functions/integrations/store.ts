import type { SealedSecret } from '../../shared/crypto/index.js';
import { getDb } from '../../shared/db/index.js';

export type IntegrationStatus = 'stored' | 'valid' | 'invalid';

/** An integration as the API shows it: status and fingerprint, never the credential. */
export interface IntegrationView {
  provider: string;
  status: IntegrationStatus;
  fingerprint: string;
  updated_at: string;
  last_validated_at: string | null;
}

interface IntegrationRow {
  provider: string;
  status: IntegrationStatus;
  fingerprint: string;
  updated_at: Date;
  last_validated_at: Date | null;
}

/** Only these columns are ever read for the API: the sealed columns never leave the database here. */
const VIEW_COLUMNS = 'provider, status, fingerprint, updated_at, last_validated_at';

function toView(row: IntegrationRow): IntegrationView {
  return {
    provider: row.provider,
    status: row.status,
    fingerprint: row.fingerprint,
    updated_at: row.updated_at.toISOString(),
    last_validated_at: row.last_validated_at === null ? null : row.last_validated_at.toISOString(),
  };
}

/** Credentials shorter than this show no fingerprint: 4 of few characters would give too much away. */
const MIN_CHARS_FOR_FINGERPRINT = 16;

/**
 * The last 4 characters, so people can tell which credential is stored — only for
 * credentials long enough that 4 characters reveal little (≥ 16); otherwise empty.
 */
export function fingerprintOf(credential: string): string {
  const chars = [...credential];
  return chars.length >= MIN_CHARS_FOR_FINGERPRINT ? chars.slice(-4).join('') : '';
}

/** Creates or replaces the org's credential for a provider. */
export async function upsertIntegration(
  orgId: string,
  provider: string,
  record: { status: IntegrationStatus; fingerprint: string; sealed: SealedSecret; validated: boolean },
): Promise<IntegrationView> {
  const { sealed } = record;
  const db = await getDb();
  const { rows } = await db.query<IntegrationRow>(
    `INSERT INTO integrations (org_id, provider, status, fingerprint, ciphertext, iv, auth_tag, wrapped_dek, kek_id, updated_at, last_validated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now(), CASE WHEN $10::boolean THEN now() END)
     ON CONFLICT (org_id, provider) DO UPDATE
        SET status = EXCLUDED.status, fingerprint = EXCLUDED.fingerprint, ciphertext = EXCLUDED.ciphertext,
            iv = EXCLUDED.iv, auth_tag = EXCLUDED.auth_tag, wrapped_dek = EXCLUDED.wrapped_dek,
            kek_id = EXCLUDED.kek_id, updated_at = EXCLUDED.updated_at, last_validated_at = EXCLUDED.last_validated_at
     RETURNING ${VIEW_COLUMNS}`,
    [orgId, provider, record.status, record.fingerprint, sealed.ciphertext, sealed.iv, sealed.authTag, sealed.wrappedDek, sealed.kekId, record.validated],
  );
  return toView(rows[0] as IntegrationRow);
}

/** Integrations of an org, by provider. An org has a handful; 500 is a safety cap. */
export async function listIntegrations(orgId: string): Promise<IntegrationView[]> {
  const db = await getDb();
  const { rows } = await db.query<IntegrationRow>(
    `SELECT ${VIEW_COLUMNS} FROM integrations WHERE org_id = $1 ORDER BY provider LIMIT 500`,
    [orgId],
  );
  return rows.map(toView);
}

/** Deletes the org's credential for a provider; false when there is none. */
export async function deleteIntegration(orgId: string, provider: string): Promise<boolean> {
  const db = await getDb();
  const { rowCount } = await db.query(`DELETE FROM integrations WHERE org_id = $1 AND provider = $2`, [orgId, provider]);
  return (rowCount ?? 0) > 0;
}
